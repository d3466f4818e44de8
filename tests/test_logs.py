"""The limit on repeated log lines (gateway/daemon/logs.py)."""

import logging
import time

from gateway.daemon.logs import RepeatLimit


def record(template, *args, level=logging.INFO, name="aprs.igate"):
    return logging.LogRecord(name, level, __file__, 1, template, args, None)


def test_lines_of_one_kind_are_held_back_past_the_limit_and_counted_after_the_window():
    limit = RepeatLimit(limit=3, window=0.2)
    passed = [limit.filter(r) for r in (record("%s logged in", f"N{n}") for n in range(10))]
    assert passed == [True] * 4 + [False] * 6  # three, then the one that says the rest are held back
    other = record("%s disconnected", "N1")
    assert limit.filter(other) and other.msg == "%s disconnected"  # another kind has its own count
    assert limit.filter(record("boom", level=logging.CRITICAL))
    time.sleep(0.25)
    after = record("%s logged in", "N11")
    assert limit.filter(after)
    assert after.getMessage() == "N11 logged in (6 lines like this held back in the last 0.2 s)"


def test_no_limit_when_it_is_zero():
    limit = RepeatLimit(limit=0)
    assert all(limit.filter(record("%s", n)) for n in range(100))

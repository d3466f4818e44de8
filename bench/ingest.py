"""Ingest: bytes -> lines -> decoded event -> feed JSON + filter facts, one core.

Baseline: aprslib.parse alone over the same lines, in the same run.
"""

import time

import aprslib

from gateway.feed.items import feed_item
from protocols.aprs.decode import decode_line
from protocols.aprs.filters import packet_facts
from protocols.aprs.lines import LineSplitter


def _rate(work, lines, min_seconds):
    done, started = 0, time.perf_counter()
    while True:
        work(lines)
        done += len(lines)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed


def _aprslib_only(lines):
    for line in lines:
        try:
            aprslib.parse(line)
        except Exception:
            pass


def _ingest(lines):
    splitter = LineSplitter()
    stream = b"".join(line + b"\r\n" for line in lines)
    for start in range(0, len(stream), 65536):
        for raw in splitter.feed(stream[start : start + 65536]):
            event = decode_line(raw, 0.0)
            feed_item(event)
            packet_facts(event["packet"], raw)


def run(lines, seconds):
    baseline = _rate(_aprslib_only, lines, seconds)
    ours = _rate(_ingest, lines, seconds)
    return {"scenario": "ingest", "baseline_per_s": baseline, "packets_per_s": ours, "ratio": ours / baseline}

"""The measuring half of bench/archive.py, run against the database it prepared."""

import json
import statistics
import sys
import time

from django.conf import settings
from django.db import connection
from django.test import Client

from bench.__main__ import all_corpus_lines
from gateway.archive import store_batch
from gateway.models import Packet, Station
from protocols.aprs.decode import decode_line

TARGET_PER_S = {"postgresql": 5000, "sqlite": 3000}  # issue 22


def spread(lines, count):
    """``count`` events from the corpus, callsigns varied so stations multiply."""
    now = time.time() - count / 1000
    events = []
    for n in range(count):
        raw = lines[n % len(lines)]
        lap = n // len(lines)
        if lap:
            head, sep, rest = raw.partition(b">")
            raw = head[:6] + b"-%d" % (lap % 16) + sep + rest if b"-" not in head else raw
        events.append((raw, now + n / 1000))
    return events


def main(count, report_path):
    report = {"vendor": connection.vendor, "target_per_s": TARGET_PER_S.get(connection.vendor)}
    if count:
        report.update(fill(count))
    report["packets_held"], report["stations_held"] = Packet.objects.count(), Station.objects.count()
    print(f"  archive holds {report['packets_held']:,} packets, {report['stations_held']:,} stations")
    report["api"] = time_api()
    with open(report_path, "w") as out:
        json.dump(report, out, indent=2)


def fill(count):
    lines = all_corpus_lines()
    decoded = {}
    stored, started = 0, time.perf_counter()
    pending = []
    for raw, when in spread(lines, count):
        event = decoded.get(raw)
        if event is None:
            event = decoded[raw] = decode_line(raw, 0.0)
        pending.append({**event, "received": when})
        if len(pending) == settings.ARCHIVE_BATCH:  # as the daemon's worker writes
            stored += store_batch(pending)
            pending = []
    if pending:
        stored += store_batch(pending)
    elapsed = time.perf_counter() - started
    target = TARGET_PER_S.get(connection.vendor)
    print(
        f"archive ({connection.vendor}): {stored:,} packets in {elapsed:.1f} s = {stored / elapsed:,.0f} packets/s "
        f"(batches of {settings.ARCHIVE_BATCH}, decoding cached){f'; target {target:,}' if target else ''}"
    )
    return {"stored": stored, "seconds": elapsed, "stored_per_s": stored / elapsed}


def time_api():
    """Each query 20 times: {name: {"median_ms", "max_ms", "status"}}."""
    client = Client(HTTP_HOST="localhost")
    timed = {}
    for name, path in [
        ("stations in a bbox (Poland, 10x6 deg)", "/api/stations/?bbox=14,49,24,55"),
        ("stations in a bbox (world)", "/api/stations/?bbox=-180,-90,180,90"),
        ("packets of one callsign (target: median <= 50 ms)", "/api/packets/?callsign=SP9UVG-13&since=0"),
        ("a station with its track", "/api/stations/SP9UVG-13/?since=0"),
    ]:
        timings = []
        for _ in range(20):
            began = time.perf_counter()
            response = client.get(path)
            timings.append(time.perf_counter() - began)
        assert response.status_code in (200, 404), response.content[:200]
        print(
            f"  {name}: median {1000 * statistics.median(timings):.1f} ms, "
            f"max {1000 * max(timings):.1f} ms ({response.status_code}, {len(response.content):,} bytes)"
        )
        timed[name] = {
            "median_ms": 1000 * statistics.median(timings),
            "max_ms": 1000 * max(timings),
            "status": response.status_code,
        }
    return timed


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])

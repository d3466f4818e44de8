"""The archive fed by the real daemon: in-process worker, runworker, overflow."""

import asyncio
import json
import sqlite3
import subprocess
import sys
import time

from tests.conftest import REPO
from tests.test_archive import BROKEN, CAR


async def wait_for_api(gateway, path, ready, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        status, body = await gateway.request(path)
        if status == 200 and ready(json.loads(body)):
            return json.loads(body)
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.2)


async def test_daemon_archives_what_it_receives(daemon, upstream, corpus):
    daemon.manage("migrate", "--noinput")
    gateway = await daemon("--aprs-server", upstream.address, env={"ARCHIVE_ENABLED": "true"}).started()
    session = await upstream.next_session()
    session.logresp()
    lines = corpus["benjojo_aprstestdata.txt"] + [BROKEN]  # every line of that capture decodes now
    session.send_lines(lines + CAR)
    body = await wait_for_api(gateway, "/api/stations/N0DEMO-9/", lambda b: b["station"]["packet_count"] == 5)
    assert len(body["track"]) == 5
    bad = await wait_for_api(gateway, "/api/bad-packets/?limit=1000", lambda b: b["packets"])
    assert all(p["error"] for p in bad["packets"])
    metrics_text = (await gateway.get("/metrics")).decode()
    assert f"aprs_gateway_archive_packets_stored_total {len(lines) + len(CAR)}.0" in metrics_text


async def test_runworker_archives_for_nodes_without_the_worker_role(daemon, upstream, redis_url):
    daemon.manage("migrate", "--noinput")
    env = {"ARCHIVE_ENABLED": "true", "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/2"}
    gateway = await daemon("--aprs-server", upstream.address, "--role", "web", "--role", "ingest", env=env).started()
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "runworker", "aprs-archive"],
        cwd=REPO,
        env=daemon.environment(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        session = await upstream.next_session()
        session.logresp()
        session.send_lines(CAR)
        body = await wait_for_api(gateway, "/api/packets/?callsign=N0DEMO-9", lambda b: len(b["packets"]) == 5)
        assert [p["text"] for p in body["packets"]] == [line.decode() for line in reversed(CAR)]
    finally:
        worker.terminate()
        worker.wait(10)


async def test_archive_overflow_is_counted_not_silent(daemon, upstream):
    daemon.manage("migrate", "--noinput")
    gateway = await daemon(
        "--aprs-server",
        upstream.address,
        "--role",
        "web",
        "--role",
        "ingest",
        env={"ARCHIVE_ENABLED": "true", "ARCHIVE_CAPACITY": "10", "ARCHIVE_FLUSH_INTERVAL": "0.05"},
    ).started()
    session = await upstream.next_session()
    session.logresp()
    for n in range(25):  # no worker: 10 messages fit; spaced out, each packet is a message of its own
        session.send_lines([f"N0DEMO>APRS:>n{n}".encode()])
        # over ARCHIVE_FLUSH_INTERVAL; the first packet warms the decoder up (aprslib compiles
        # its expressions), which may take long enough for the next ones to wait together
        await asyncio.sleep(0.5 if n == 0 else 0.1)
    await gateway.until_log("archive channel full (is a worker running?)")
    deadline = time.monotonic() + 10
    while "aprs_gateway_archive_packets_dropped_total 15.0" not in (await gateway.get("/metrics")).decode():
        assert time.monotonic() < deadline


async def test_a_locked_database_delays_the_archive_and_loses_nothing(daemon, upstream):
    env = {"ARCHIVE_ENABLED": "true", "ARCHIVE_FLUSH_INTERVAL": "0.2", "SQLITE_TIMEOUT": "0.5"}
    gateway = await daemon("--aprs-server", upstream.address, env=env).started()
    session = await upstream.next_session()
    session.logresp()
    lock = sqlite3.connect(daemon.workdir / "db.sqlite3", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # another program holds the write lock for 3 s
    try:
        session.send_lines([f"N0LOCK>APRS:>held {n}".encode() for n in range(50)])
        await gateway.until_log("archive: the database refused a batch (OperationalError: database is locked)")
        await asyncio.sleep(2)
        session.send_lines([f"N0LOCK>APRS:>after {n}".encode() for n in range(50)])
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    await gateway.until_log("archive: the database takes packets again", timeout=15)
    body = await wait_for_api(gateway, "/api/packets/?callsign=N0LOCK&limit=200", lambda b: len(b["packets"]) == 100)
    texts = [p["text"] for p in reversed(body["packets"])]
    assert texts == [f"N0LOCK>APRS:>{word} {n}" for word in ("held", "after") for n in range(50)]  # all, in order

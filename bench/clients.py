"""Client processes: count packets and their line-in -> receive latency.

Websocket clients of ``ws/aprs/`` and, for ``aprs://host:port`` URLs, TCP
clients of the iGate server port (raw lines carry no receive stamp: only
packets are counted there).

Each process runs many clients on one event loop. Every client connects and
subscribes, then counts; the parent opens the measuring window (a shared
pair of times) once all clients are in, so handshakes never fall inside it.
A process reports, for the window: packets, ``dropped`` announced by the
server, latencies (sampled), clients that failed, and the CPU it used itself,
so a run can tell when the clients, not the server, were the limit. Frames
are not parsed as JSON: counting and reading the ``received`` stamps with
regular expressions keeps the clients cheap.
"""

import asyncio
import json
import math
import re
import time

import psutil
import websockets

CONNECT_CONCURRENCY = 50  # handshakes in flight per process
LATE_AFTER_WINDOW = 10.0  # seconds after the window a client may take to finish
RECEIVED = re.compile(rb'\{"received":([0-9.]+)')
DROPPED = re.compile(rb'"dropped":([0-9]+)')


EVERYTHING = "p/" + "/".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
"""A server-port filter that passes every packet: every callsign starts with one of these."""


async def _tcp_client(url, number, shared, stats, handshakes):
    host, port = url[len("aprs://") :].split(":")
    async with handshakes:
        reader, writer = await asyncio.open_connection(host, int(port))
        await reader.readline()  # the greeting
        writer.write(f"user BENCH{number} pass -1 vers bench 1 filter {EVERYTHING}\r\n".encode())
        logresp = await asyncio.wait_for(reader.readline(), 60)
        assert b"logresp" in logresp, logresp
    with shared.get_lock():
        shared[2] += 1

    async def receive():
        data = await reader.read(1 << 16)
        if not data:
            raise ConnectionError("closed by the server")
        return data

    def count(data, now):
        stats["packets"] += data.count(b"\n") - data.count(b"\n#")

    try:
        await _in_window(shared, receive, count)
    finally:
        writer.close()


async def _in_window(shared, receive, take):
    """Receive until the measuring window ends; ``take(data, now)`` what arrives inside it."""
    while True:
        start, end = shared[0], shared[1]
        remaining = end - time.time()
        if remaining <= 0:
            return
        try:
            data = await asyncio.wait_for(receive(), min(remaining, 1.0))
        except asyncio.TimeoutError:  # idle: look at the window again
            continue
        now = time.time()
        if start <= now <= end:
            take(data, now)


async def _client(url, packet_filter, shared, stats, handshakes):
    origin = "http://" + url.split("//", 1)[1].split("/", 1)[0]
    async with handshakes:
        socket = await websockets.connect(url, origin=origin, max_size=None, open_timeout=120)
    async with socket:
        await socket.send(json.dumps({"type": "subscribe", "filter": packet_filter}))
        while json.loads(await asyncio.wait_for(socket.recv(), 60))["type"] != "subscribed":
            pass
        with shared.get_lock():
            shared[2] += 1  # one more client in

        def take(frame, now):
            if not frame.startswith(b'{"type":"packets"'):
                return
            stamps = RECEIVED.findall(frame)
            stats["packets"] += len(stamps)
            stats["dropped"] += sum(int(n) for n in DROPPED.findall(frame[:64]))
            stats["latencies"].extend(now - float(stamp) for stamp in stamps[::8])

        await _in_window(shared, lambda: socket.recv(decode=False), take)


async def _main(urls, filters, shared):
    stats = {"packets": 0, "dropped": 0, "latencies": [], "failed": 0, "errors": [], "cpu_percent": 0.0}
    handshakes = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(url, number, packet_filter):
        try:
            if url.startswith("aprs://"):
                await _tcp_client(url, number, shared, stats, handshakes)
            else:
                await _client(url, packet_filter, shared, stats, handshakes)
        except Exception as exc:
            stats["failed"] += 1
            if len(stats["errors"]) < 3:
                stats["errors"].append(f"{type(exc).__name__}: {exc}")

    async def cpu_during_window():
        me = psutil.Process()
        while math.isinf(shared[0]) or time.time() < shared[0]:
            await asyncio.sleep(0.05)
        before = sum(me.cpu_times()[:2])
        await asyncio.sleep(max(0.0, shared[1] - time.time()))
        stats["cpu_percent"] = 100 * (sum(me.cpu_times()[:2]) - before) / (shared[1] - shared[0])

    clients = [
        asyncio.ensure_future(one(urls[n % len(urls)], n, packet_filter)) for n, packet_filter in enumerate(filters)
    ]
    await cpu_during_window()
    # A client still in its handshake when the window has closed (a server that
    # took more clients than it could answer) failed: report without it.
    _, late = await asyncio.wait(clients, timeout=max(0.0, shared[1] - time.time()) + LATE_AFTER_WINDOW)
    for client in late:
        client.cancel()
    stats["failed"] += len(late)
    if late and len(stats["errors"]) < 3:
        stats["errors"].append(f"{len(late)} clients still not done {LATE_AFTER_WINDOW:g} s after the window")
    return stats


def run_clients(urls, filters, shared, results):
    """Entry point of one client process: one client per filter, spread over ``urls``.
    ``shared``: multiprocessing Array('d', [start, end, connected])."""
    stats = asyncio.run(_main(urls, filters, shared))
    stats["latencies"] = stats["latencies"][:: max(1, len(stats["latencies"]) // 20000)]
    results.put(stats)

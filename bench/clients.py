"""Websocket client processes: count packets and their line-in -> receive latency.

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
RECEIVED = re.compile(rb'\{"received":([0-9.]+)')
DROPPED = re.compile(rb'"dropped":([0-9]+)')


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
        while True:
            start, end = shared[0], shared[1]
            remaining = end - time.time()
            if remaining <= 0:
                return
            try:
                frame = await asyncio.wait_for(socket.recv(decode=False), min(remaining, 1.0))
            except asyncio.TimeoutError:  # idle: look at the window again
                continue
            now = time.time()
            if not start <= now <= end or not frame.startswith(b'{"type":"packets"'):
                continue
            stamps = RECEIVED.findall(frame)
            stats["packets"] += len(stamps)
            stats["dropped"] += sum(int(n) for n in DROPPED.findall(frame[:64]))
            stats["latencies"].extend(now - float(stamp) for stamp in stamps[::8])


async def _main(urls, filters, shared):
    stats = {"packets": 0, "dropped": 0, "latencies": [], "failed": 0, "errors": [], "cpu_percent": 0.0}
    handshakes = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(url, packet_filter):
        try:
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

    clients = [one(urls[n % len(urls)], packet_filter) for n, packet_filter in enumerate(filters)]
    await asyncio.gather(cpu_during_window(), *clients)
    return stats


def run_clients(urls, filters, shared, results):
    """Entry point of one client process: one client per filter, spread over ``urls``.
    ``shared``: multiprocessing Array('d', [start, end, connected])."""
    stats = asyncio.run(_main(urls, filters, shared))
    stats["latencies"] = stats["latencies"][::max(1, len(stats["latencies"]) // 20000)]
    results.put(stats)

"""Websocket client processes: count packets and their line-in -> receive latency.

Each process runs many clients on one event loop and reports, for the
measuring window: packets, ``dropped`` announced by the server, latencies
(sampled), clients that failed, and the CPU the process itself used, so a
run can tell when the clients, not the server, were the limit.
"""

import asyncio
import json
import time

import psutil
import websockets

CONNECT_CONCURRENCY = 50  # handshakes in flight per process


async def _client(url, packet_filter, window, stats, connected):
    origin = "http://" + url.split("//", 1)[1].split("/", 1)[0]
    async with connected:
        socket = await websockets.connect(url, origin=origin, max_size=None, open_timeout=60)
    async with socket:
        await socket.send(json.dumps({"type": "subscribe", "filter": packet_filter}))
        start, end = window
        while (remaining := end - time.time()) > 0:
            try:
                frame = json.loads(await asyncio.wait_for(socket.recv(), remaining))
            except asyncio.TimeoutError:  # an idle client: the window is over
                return
            now = time.time()
            if frame.get("type") != "packets" or now < start or now > end:
                continue
            stats["dropped"] += frame.get("dropped", 0)
            for item in frame["packets"]:
                stats["packets"] += 1
                stats["latencies"].append(now - item["received"])


async def _main(urls, filters, window):
    stats = {"packets": 0, "dropped": 0, "latencies": [], "failed": 0, "errors": []}
    connected = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(url, packet_filter):
        try:
            await asyncio.wait_for(_client(url, packet_filter, window, stats, connected),
                                   window[1] - time.time() + 30)
        except Exception as exc:
            stats["failed"] += 1
            if len(stats["errors"]) < 3:
                stats["errors"].append(f"{type(exc).__name__}: {exc}")

    async def cpu_during_window():
        me = psutil.Process()
        await asyncio.sleep(max(0.0, window[0] - time.time()))
        before = sum(me.cpu_times()[:2])
        await asyncio.sleep(max(0.0, window[1] - time.time()))
        stats["cpu_percent"] = 100 * (sum(me.cpu_times()[:2]) - before) / (window[1] - window[0])

    await asyncio.gather(cpu_during_window(),
                         *(one(urls[n % len(urls)], packet_filter) for n, packet_filter in enumerate(filters)))
    return stats


def run_clients(urls, filters, window, results):
    """Entry point of one client process: one client per filter, spread over ``urls``."""
    stats = asyncio.run(_main(urls, filters, window))
    stats["latencies"] = stats["latencies"][::max(1, len(stats["latencies"]) // 20000)]
    results.put(stats)

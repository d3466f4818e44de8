"""Websocket client processes: count packets and their line-in -> receive latency."""

import asyncio
import json
import time

import websockets


async def _client(url, origin, window, stats):
    async with websockets.connect(url, origin=origin, max_size=None, open_timeout=60) as socket:
        await socket.send(json.dumps({"type": "subscribe", "filter": ""}))
        start, end = window
        while True:
            frame = json.loads(await socket.recv())
            now = time.time()
            if now > end:
                return
            if frame.get("type") != "packets" or now < start:
                continue
            stats["dropped"] += frame.get("dropped", 0)
            for item in frame["packets"]:
                stats["packets"] += 1
                stats["latencies"].append(now - item["received"])


async def _main(url, count, window):
    stats = {"packets": 0, "dropped": 0, "latencies": [], "failed": 0}
    origin = "http://" + url.split("//", 1)[1].split("/", 1)[0]

    async def one():
        try:
            await asyncio.wait_for(_client(url, origin, window, stats), window[1] - time.time() + 30)
        except Exception:
            stats["failed"] += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return stats


def run_clients(url, count, window, results):
    """Entry point of one client process; puts its stats on ``results``."""
    stats = asyncio.run(_main(url, count, window))
    stats["latencies"] = stats["latencies"][::max(1, len(stats["latencies"]) // 20000)]
    results.put(stats)

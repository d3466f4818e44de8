"""Chat: messages/s one room sustains with N members, on the real daemon.

Every member is a guest with a nick; ``senders`` of them send in a closed
loop (the next message once the previous one is acknowledged, i.e. stored),
and every member counts what the room delivers. The rate limit is lifted for
the run. Reported: messages/s stored, copies/s delivered, send -> receive
latency.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import websockets

from bench.fanout import REPO, free_port, start


async def _member(url, origin, nick, stats, window, sender):
    async with websockets.connect(url, origin=origin, max_size=None, open_timeout=60) as socket:
        await socket.recv()  # joined
        await socket.send(json.dumps({"type": "nick", "nick": nick}))
        stats["joined"] += 1
        await window["set"].wait()  # everyone is in: joins and their presence frames are over
        start_at, end_at = window["start"], window["end"]
        sent = 0

        async def send_next():
            nonlocal sent
            if time.time() < end_at:
                sent += 1
                await socket.send(json.dumps({"type": "message", "text": f"{time.time()}", "id": f"{nick}-{sent}"}))

        await asyncio.sleep(max(0.0, start_at - time.time()))
        if sender:
            await send_next()
        stop_at = end_at + 2.0  # let the last messages arrive
        while time.time() < stop_at:
            try:
                frame = json.loads(await asyncio.wait_for(socket.recv(), stop_at - time.time()))
            except asyncio.TimeoutError:
                break
            if frame["type"] == "message":
                stamp = float(frame["message"]["text"])
                if start_at <= stamp < end_at:
                    stats["copies"] += 1
                    stats["latencies"].append(time.time() - stamp)
            elif frame["type"] == "ack" and sender:
                stats["stored"] += 1
                await send_next()


async def _room(url, members, senders, seconds):
    origin = "http://" + url.split("//", 1)[1].split("/", 1)[0]
    stats = {"copies": 0, "stored": 0, "latencies": [], "joined": 0}
    window = {"set": asyncio.Event()}

    async def open_window():
        deadline = time.time() + 60
        while stats["joined"] < members and time.time() < deadline:
            await asyncio.sleep(0.05)
        window["start"] = time.time() + 2.0  # presence frames of the last joins settle
        window["end"] = window["start"] + seconds
        window["set"].set()

    await asyncio.gather(
        open_window(), *(_member(url, origin, f"m{n:04d}", stats, window, n < senders) for n in range(members))
    )
    return stats


def run(members=100, senders=5, seconds=8.0):
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DEBUG": "true",
            "LOG_LEVEL": "WARNING",
            "CHAT_ALLOW_GUESTS": "true",
            "CHAT_RATE_BURST": "1000000",
            "CHAT_RATE_PERIOD": "1",
            "DATABASE_URL": f"sqlite:///{tmp}/chat.sqlite3",
            "MAX_CONNECTIONS_PER_ADDRESS": "100000",  # every member comes from 127.0.0.1
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        port = free_port()
        daemon = start([sys.executable, "-m", "gateway.daemon.cli", "run", "--port", str(port), "--no-aprs"], port, env)
        try:
            stats = asyncio.run(_room(f"ws://127.0.0.1:{port}/chat/", members, senders, seconds))
        finally:
            daemon.terminate()
            daemon.wait(15)
    latencies = sorted(stats["latencies"])
    return {
        "scenario": "chat room",
        "members": members,
        "senders": senders,
        "stored_per_s": stats["stored"] / seconds,
        "copies_per_s": stats["copies"] / seconds,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
    }

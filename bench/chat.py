"""Chat: the messages/s one room holds with N members, on the real daemon.

Every member is a guest with a nick. ``senders`` of them send at a fixed
offered rate between them (open loop: a message is stored when its ``ack``
comes, the daemon acknowledging only what it stored), and every member counts
the copies the room delivers and how long each took from send to arrival.
The offered rate climbs a ladder until a step fails; a step holds when >= 97 %
of the messages offered were stored, >= 97 % of their copies arrived, and p99
send -> member <= 250 ms. The rate limit is lifted for the run. The daemon
runs as deployed (DEBUG off, SQLite), on the in-memory layer or channels-redis.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import psutil
import websockets

from bench.fanout import MAX_P99_MS, MIN_DELIVERED, REPO, free_port, start

RATES = (25, 50, 100, 200, 400)
DRAIN = 2.0  # seconds after a step's window for its last copies to arrive


class Step:
    """One offered rate: what was sent, stored and delivered in its window."""

    def __init__(self, rate, start_at, seconds):
        self.rate = rate
        self.start_at, self.end_at = start_at, start_at + seconds
        self.sent = self.stored = self.copies = 0
        self.latencies = []

    def holds(self, stamp):
        return self.start_at <= stamp < self.end_at


class Room:
    def __init__(self):
        self.joined = 0
        self.step = None
        self.begun = asyncio.Event()  # every member is in
        self.done = asyncio.Event()


async def _member(url, origin, nick, room, senders, sender_every):
    async with websockets.connect(url, origin=origin, max_size=None, open_timeout=60) as socket:
        await socket.recv()  # joined
        await socket.send(json.dumps({"type": "nick", "nick": nick}))
        room.joined += 1
        await room.begun.wait()

        async def send():
            sent_in = None  # the last step this sender took part in
            while not room.done.is_set():
                step = room.step
                if step is None or step is sent_in:
                    await asyncio.sleep(0.05)
                    continue
                sent_in = step
                every = sender_every(step.rate)
                at = step.start_at + every * (int(nick[1:]) % senders) / senders  # spread over the interval
                while at < step.end_at:
                    await asyncio.sleep(max(0.0, at - time.time()))
                    now = time.time()
                    if not step.holds(now):
                        break  # slept past the window's end
                    stamp = repr(now)
                    step.sent += 1
                    await socket.send(json.dumps({"type": "message", "text": stamp, "id": f"{nick}-{stamp}"}))
                    at += every

        async def receive():
            while not room.done.is_set():
                try:
                    frame = json.loads(await asyncio.wait_for(socket.recv(), 0.5))
                except asyncio.TimeoutError:
                    continue
                step = room.step
                if step is None:
                    continue
                if frame["type"] == "message":
                    stamp = float(frame["message"]["text"])
                    if step.holds(stamp):
                        step.copies += 1
                        step.latencies.append(time.time() - stamp)
                elif frame["type"] == "ack" and step.holds(float(frame["id"].split("-", 1)[1])):
                    step.stored += 1

        await asyncio.gather(receive(), *([send()] if sender_every else []))


async def _ladder(url, members, senders, seconds, rates, daemon, log):
    origin = "http://" + url.split("//", 1)[1].split("/", 1)[0]
    room = Room()
    me = psutil.Process()

    async def climb():
        deadline = time.time() + 60
        while room.joined < members and time.time() < deadline:
            await asyncio.sleep(0.05)
        room.begun.set()
        await asyncio.sleep(2.0)  # presence frames of the last joins settle
        rows = []
        for rate in rates:
            step = room.step = Step(rate, time.time() + 0.5, seconds)
            await asyncio.sleep(0.5)
            before = cpu_seconds(daemon), cpu_seconds(me)
            await asyncio.sleep(seconds)
            cpu = cpu_seconds(daemon) - before[0], cpu_seconds(me) - before[1]
            await asyncio.sleep(DRAIN)
            rows.append(_row(step, members, seconds, *cpu))
            log(rows[-1])
            if not rows[-1]["held"]:
                break
        room.done.set()
        return rows

    results = await asyncio.gather(
        climb(),
        *(
            _member(url, origin, f"m{n:04d}", room, senders, (lambda rate: senders / rate) if n < senders else None)
            for n in range(members)
        ),
    )
    return results[0]


def cpu_seconds(process):
    times = process.cpu_times()
    return times.user + times.system


def _row(step, members, seconds, daemon_cpu, client_cpu):
    latencies = sorted(step.latencies)
    p99 = 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None
    return {
        "offered_per_s": step.rate,
        "stored_per_s": step.stored / seconds,
        "copies_per_s": step.copies / seconds,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": p99,
        "server_cpu_percent": 100 * daemon_cpu / seconds,
        "client_cpu_percent": 100 * client_cpu / seconds,
        "server_us_per_copy": 1e6 * daemon_cpu / max(1, step.copies),
        "held": step.sent > 0
        and step.stored >= MIN_DELIVERED * step.sent
        and step.copies >= MIN_DELIVERED * step.stored * members
        and p99 is not None
        and p99 <= MAX_P99_MS,
    }


def run(members=100, senders=10, seconds=8.0, rates=RATES, redis_url=None, log=print):
    """Climb the ladder (on channels-redis with ``redis_url``); the rows, and the highest
    offered rate held (0: none)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-not-secret",
            "LOG_LEVEL": "WARNING",
            "CHAT_ALLOW_GUESTS": "true",
            "CHAT_RATE_BURST": "1000000",
            "CHAT_RATE_PERIOD": "1",
            "DATABASE_URL": f"sqlite:///{tmp}/chat.sqlite3",
            "MAX_CONNECTIONS_PER_ADDRESS": "100000",  # every member comes from 127.0.0.1
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **({"REDIS_URL": redis_url} if redis_url else {}),
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
            url = f"ws://127.0.0.1:{port}/chat/"
            rows = asyncio.run(_ladder(url, members, senders, seconds, rates, psutil.Process(daemon.pid), log))
        finally:
            daemon.terminate()
            daemon.wait(15)
    held = max((row["offered_per_s"] for row in rows if row["held"]), default=0)
    return {"members": members, "senders": senders, "held_per_s": held, "ladder": rows}

"""The daemon's channel worker finishes what it was handed on stop, and the stop ends.

A two-node cluster's ingest node hung on SIGTERM in 1 stop of 2 until it was
killed: redis-py swallowed the cancellation of a blocking pop (redis/redis-py#2028)
and ``PatientWorker.finish`` waited for the receive for ever. The layer below
swallows the first cancellation of each receive the same way, every time.
"""

import asyncio
import time

from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer

from gateway.daemon.worker import PatientWorker
from gateway.layers import cancel_surely


class SwallowingLayer(InMemoryChannelLayer):
    """A receive that takes the first cancellation for nothing and waits on, as a
    redis-py blocking pop can."""

    async def receive(self, channel):
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            return await super().receive(channel)


def recording_application(seen):
    """A worker application that notes each message and ends on ``worker.stop``."""

    async def application(scope, receive, send):
        while True:
            message = await receive()
            seen.append((scope["channel"], message["type"], message.get("n")))
            if message["type"] == "worker.stop":
                return

    return application


async def started_worker(layer, seen):
    worker = PatientWorker(application=recording_application(seen), channels=["outbox", "archive"], channel_layer=layer)
    running = asyncio.ensure_future(worker.arun())
    deadline = time.monotonic() + 5
    while sum(kind == "worker.start" for _, kind, _ in seen) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return worker, running


async def test_finish_ends_though_a_receive_swallows_its_cancellation():
    seen = []
    worker, running = await started_worker(SwallowingLayer(), seen)
    started = time.monotonic()
    await asyncio.wait_for(worker.finish(timeout=3.0), 10)
    assert time.monotonic() - started < 3.5
    assert sorted(channel for channel, kind, _ in seen if kind == "worker.stop") == ["archive", "outbox"]
    running.cancel()


async def test_finish_hands_on_what_waits_on_the_channel_before_stopping(redis_url):
    layer = RedisChannelLayer(hosts=[redis_url], prefix=f"test-worker-{time.monotonic_ns()}")
    seen = []
    worker, running = await started_worker(layer, seen)
    assert not await cancel_surely(worker.listeners, time.monotonic() + 5)  # nobody takes from the channels now
    for n in range(50):
        await layer.send("archive", {"type": "archive.packet", "n": n})
    await asyncio.wait_for(worker.finish(timeout=10.0), 15)
    archive = [(kind, n) for channel, kind, n in seen if channel == "archive" and kind != "worker.start"]
    assert archive == [("archive.packet", n) for n in range(50)] + [("worker.stop", None)]
    running.cancel()

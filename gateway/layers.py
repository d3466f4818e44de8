"""Channel layer fix-ups, what a layer raises when it cannot deliver, and how to wait
for it to come back."""

import asyncio
import logging
import pickle
import time
import weakref

from channels import layers
from channels.exceptions import ChannelFull
from channels_redis import core
from redis.exceptions import RedisError

from protocols.backoff import Backoff

LAYER_ERRORS = (ChannelFull, OSError, asyncio.TimeoutError, RedisError)
"""A full channel, or Redis out of reach: an outage to count and survive, not a bug."""
RETRY_MAX = 10.0
CLEAN_EVERY = 1.0
"""Seconds between the in-memory layer's sweeps for expired messages and memberships."""
REDIS_AT_ONCE = 50
"""Sends and group changes one event loop may have in flight to Redis (RedisChannelLayer)."""

logger = logging.getLogger("gateway.layers")


async def receive_patiently(receive, who):
    """``await receive()``, through a layer outage: a failed receive is tried again
    (``Backoff`` from 1 s to ``RETRY_MAX``), with one warning when the outage starts and one
    line when it ends, instead of a crash and a traceback per attempt."""
    backoff = Backoff(1.0, RETRY_MAX)
    while True:
        try:
            message = await receive()
        except LAYER_ERRORS as exc:
            if not backoff.failures:
                logger.warning("%s: channel layer unavailable (%s); waiting for it", who, exc)
            await asyncio.sleep(backoff.next())
            continue
        if backoff.failures:
            logger.info("%s: channel layer back", who)
        return message


CANCEL_AGAIN = 0.1
"""Seconds between cancellations of a receive that has not ended (``cancel_surely``)."""


async def cancel_surely(tasks, deadline):
    """Cancel ``tasks`` and wait for them until ``deadline`` (``time.monotonic()``),
    cancelling again every ``CANCEL_AGAIN`` s: redis-py can swallow a cancellation
    that lands at the wrong moment of a blocking pop (redis/redis-py#2028), and
    a receive that swallowed one waits for the next message, for ever on an idle
    channel (1 stop in 2 of a two-node cluster hung so). Returns what still runs."""
    pending = {task for task in tasks if not task.done()}
    while pending and time.monotonic() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(CANCEL_AGAIN, max(0.0, deadline - time.monotonic())))
    return pending


async def receive_within(layer, channel, seconds, deadline):
    """The next message on ``channel`` if one comes within ``seconds``, else None (also
    when the layer is out of reach); the receive is cancelled surely by ``deadline``."""
    receiving = asyncio.ensure_future(layer.receive(channel))
    done, _ = await asyncio.wait([receiving], timeout=seconds)
    if not done and await cancel_surely([receiving], deadline):
        return None
    if receiving.cancelled():
        return None
    try:
        return receiving.result()
    except LAYER_ERRORS:  # the layer is gone: nothing more to take
        return None


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """The in-memory layer, honouring ``channel_capacity``, copying messages cheaply.

    channels 4.3's in-memory layer stores the ``channel_capacity`` dict without
    compiling it, so any send or receive raises ValueError once it is set
    (channels_redis compiles it). Compile it the way BaseChannelLayer means to.

    It gives the receiver its own copy of a message with ``deepcopy``, which was
    the in-memory daemon's largest cost at thousands of packets a second (25 µs
    per packet for the feed's and the archive's messages); a pickle round trip
    gives the same copy of the plain data a message may hold in a quarter of
    the time (docs/fanout.md).

    It also looks through every channel and group for expired messages and
    memberships on each receive and group send: with 100 chat members each
    receiving, a fifth of a busy room's time (docs/fanout.md). Once a second
    is often enough for expiries counted in minutes.
    """

    def __init__(self, channel_capacity=None, **kwargs):
        super().__init__(**kwargs)
        self.channel_capacity = self.compile_capacities(channel_capacity or {})
        self.cleaned_at = float("-inf")

    def _clean_expired(self):
        now = time.monotonic()
        if now - self.cleaned_at >= CLEAN_EVERY:
            self.cleaned_at = now
            super()._clean_expired()

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        queue = self.channels.setdefault(channel, asyncio.Queue(maxsize=self.get_capacity(channel)))
        copy = pickle.loads(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
        try:
            queue.put_nowait((time.time() + self.expiry, copy))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None


class RedisChannelLayer(core.RedisChannelLayer):
    """channels-redis, with a cap on the commands in flight instead of errors past it.

    Each send or group change takes a connection from redis-py's pool, which
    holds 100 and raises ``MaxConnectionsError`` for the next: 100 chat members
    choosing their nicks on one node at once (each announced to the room) got
    1011 internal errors. At most ``REDIS_AT_ONCE`` go at once; the others
    wait their turn, leaving the rest of the pool to the blocking receives.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.turns = weakref.WeakKeyDictionary()  # event loop -> its semaphore

    def turn(self):
        loop = asyncio.get_running_loop()
        if loop not in self.turns:
            self.turns[loop] = asyncio.Semaphore(REDIS_AT_ONCE)
        return self.turns[loop]

    async def send(self, channel, message):
        async with self.turn():
            return await super().send(channel, message)

    async def group_send(self, group, message):
        async with self.turn():
            return await super().group_send(group, message)

    async def group_add(self, group, channel):
        async with self.turn():
            return await super().group_add(group, channel)

    async def group_discard(self, group, channel):
        async with self.turn():
            return await super().group_discard(group, channel)

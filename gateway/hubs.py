"""What the feed hub and the chat rooms' hub share (gateway/feed/hub.py, gateway/room_hub.py).

Each is, in its process, the one member of some channel-layer groups, and puts
what arrives on its local clients' sockets. ``LayerHub`` receives its channel
for ever: a layer outage, or a bug in a handler, costs a wait (``Backoff``,
1 s to ``RETRY_MAX``, back to 1 s after a round that lasted ``STABLE_ROUND``)
and a new round that joins the groups again first (Redis may have restarted
empty). It yields every ``YIELD_EVERY`` messages (a non-empty in-memory channel
never suspends ``receive()``), adds itself to its groups again every
``GROUP_REFRESH`` s (inside the layers' group expiry), beats while it
receives (gateway/members.py: peers drop a silent node's hubs), and leaves its
groups when the node stops.

A subclass says its ``name``, its ``groups()`` and how it ``handle``s a message.
"""

import asyncio
import logging
import time

from gateway import members
from gateway.layers import LAYER_ERRORS
from protocols.backoff import Backoff

logger = logging.getLogger("gateway.hub")

GROUP_REFRESH = 3600.0
RETRY_MAX = 4.0
"""Longest wait between attempts to get back to a lost channel layer (Redis)."""
STABLE_ROUND = 60.0
YIELD_EVERY = 100


class LayerHub:
    name = "hub"

    def __init__(self, channel_layer, channel):
        self.layer = channel_layer
        self.channel = channel
        self.receiving = asyncio.Event()  # set while the hub is in its groups and receives
        self.task = self.beating = None

    def start(self):
        self.task = asyncio.ensure_future(self._run())  # kept: the loop holds tasks weakly
        self.beating = asyncio.ensure_future(members.keep_beating(self, self.name, ready=self.receiving))

    def groups(self):
        """The groups this hub is in now (gateway/members.py notes them in Redis)."""
        raise NotImplementedError

    async def handle(self, message):
        """One message from the hub's channel."""
        raise NotImplementedError

    async def join(self):
        """Into each of its groups (again)."""
        for group in self.groups():
            await self.layer.group_add(group, self.channel)

    async def leave(self):
        """The node stops: out of its groups at once, rather than when found silent."""
        try:
            await members.leave(self.layer, self.channel, self.groups())
        except LAYER_ERRORS as exc:
            logger.warning("%s could not leave its groups (%s); peers will drop it", self.name, exc)

    async def _run(self):
        backoff = Backoff(1.0, RETRY_MAX)
        while True:
            started = time.monotonic()
            try:
                await self.join()
                self.receiving.set()
                logger.info("%s listening on %s", self.name, self.channel)
                await self._receive()
            except LAYER_ERRORS as exc:
                failure, outage = exc, True
            except Exception as exc:  # noqa: BLE001  (a bug, not an outage: say where, keep the hub going)
                failure, outage = exc, False
            self.receiving.clear()
            if time.monotonic() - started >= STABLE_ROUND:
                backoff.reset()
            delay = backoff.next()
            if outage:
                logger.error("%s lost the channel layer (%s); retrying in %.1f s", self.name, failure, delay)
            else:
                logger.error("%s failed; restarting it in %.1f s", self.name, delay, exc_info=failure)
            await asyncio.sleep(delay)

    async def _receive(self):
        loop = asyncio.get_running_loop()
        refresh_at = loop.time() + GROUP_REFRESH
        received = 0
        while True:
            await self.handle(await self.layer.receive(self.channel))
            received += 1
            if received % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the reactor read and write between bursts
            if loop.time() >= refresh_at:
                await self.join()
                refresh_at = loop.time() + GROUP_REFRESH

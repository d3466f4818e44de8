"""Stations' last positions, shared through Redis so every node's m/ and f/ filters answer alike.

Each hub learns positions from the feed it receives (gateway/feed/hub.py), but a
node that has just started has heard nothing yet. So the node that ingests a
packet (consumers/aprs/base.py) also records its position in a Redis hash, in
the background, once a second at most; a hub loads that hash when it starts.
Positions older than ``MAX_AGE`` are pruned by the writers. Without Redis there
is one node, and its hub is all there is to know.
"""

import asyncio
import logging
import time
import weakref

from django.conf import settings

from gateway import redis_client
from gateway.layers import LAYER_ERRORS
from protocols.occasional import Occasionally

logger = logging.getLogger("gateway.positions")

KEY = "aprs-gateway:positions"  # callsign -> "lat,lon"
HEARD_KEY = "aprs-gateway:positions:heard"  # callsign scored by when its position was recorded
MAX_AGE = 48 * 3600.0
"""Seconds a position is remembered (aprsc's history database keeps them as long)."""
WRITE_INTERVAL = 1.0
PRUNE_INTERVAL = 600.0
ERROR_LOG_INTERVAL = 60.0


async def load():
    """Every remembered position, {callsign: (lat, lon)}; {} without Redis or when it cannot answer."""
    if settings.REDIS is None:
        return {}
    client = redis_client.for_a_moment()
    try:
        stored = await client.hgetall(KEY)
    except LAYER_ERRORS as exc:
        logger.warning("could not load the stations' positions from Redis (%s); learning them from the feed", exc)
        return {}
    finally:
        await client.aclose()
    positions = {}
    for call, where in stored.items():
        try:
            lat, lon = map(float, where.split(b","))
        except ValueError:
            continue
        positions[call.decode("ascii", "replace")] = (lat, lon)
    return positions


class PositionRecorder:
    """Collects the positions this node ingests and writes them to Redis every second."""

    def __init__(self):
        self.pending = {}
        self.task = None
        self.error_log = Occasionally(ERROR_LOG_INTERVAL)

    def note(self, facts):
        """A packet this node ingested (its filter facts): remember its position, if any."""
        if "lat" in facts:
            self.pending[facts["object"] or facts["from"]] = f"{facts['lat']:.5f},{facts['lon']:.5f}"
            if self.task is None or self.task.done():
                if self.task is not None and not self.task.cancelled() and self.task.exception():
                    logger.error("position recorder failed; starting it again", exc_info=self.task.exception())
                self.task = asyncio.ensure_future(self._run())

    async def _run(self):
        client = redis_client.for_a_moment()
        next_prune = 0.0
        try:
            while True:
                await asyncio.sleep(WRITE_INTERVAL)
                if not self.pending:
                    continue
                batch, self.pending = self.pending, {}
                now = time.time()
                try:
                    async with client.pipeline(transaction=False) as pipe:
                        pipe.hset(KEY, mapping=batch)
                        pipe.zadd(HEARD_KEY, dict.fromkeys(batch, now))
                        await pipe.execute()
                    if now >= next_prune:
                        next_prune = now + PRUNE_INTERVAL
                        await self._prune(client, now - MAX_AGE)
                except LAYER_ERRORS as exc:  # the feed goes on; only new nodes know less
                    if self.error_log.due():
                        logger.warning("could not record %d positions in Redis (%s)", len(batch), exc)
        finally:
            await client.aclose()

    @staticmethod
    async def _prune(client, before):
        old = await client.zrangebyscore(HEARD_KEY, 0, before)
        if old:
            async with client.pipeline(transaction=False) as pipe:
                pipe.hdel(KEY, *old)
                pipe.zrem(HEARD_KEY, *old)
                await pipe.execute()


_recorders = weakref.WeakKeyDictionary()  # event loop -> PositionRecorder


def get_recorder():
    """This event loop's recorder, or None without Redis."""
    if settings.REDIS is None:
        return None
    loop = asyncio.get_running_loop()
    recorder = _recorders.get(loop)
    if recorder is None:
        recorder = _recorders[loop] = PositionRecorder()
    return recorder

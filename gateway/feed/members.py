"""Which feed hubs are alive, so a node that died does not stay in the feed group.

channels-redis keeps a group member for a day (``group_expiry``), and every
batch sent to the group is serialised and queued for each member, up to its
channel's capacity: a hub killed without leaving (``kill -9``, a crash, its
machine gone) costs every node's ingest a copy per batch and fills Redis with
what nobody reads. 36 such hubs in a bench's Redis held ingest on
channels-redis to 2,400 packets/s at 79 % of a core (docs/fanout.md). So every
hub says it is alive in a Redis hash every ``FEED_HUB_HEARTBEAT`` seconds,
takes out of the group the hubs silent for ``DEAD_AFTER`` heartbeats, and
leaves the group when its node stops. Without Redis there is one process, and
nothing to do.
"""

import logging
import time

from django.conf import settings

from gateway import redis_client
from gateway.names import FEED_GROUP

logger = logging.getLogger("gateway.hub")

KEY = "aprs-gateway:hubs"  # hub channel -> Unix time it last said it was alive
DEAD_AFTER = 4.5
"""Heartbeats a hub may miss (a node busy or its Redis link slow) before it counts as dead."""


async def beat(layer, channel):
    """Say this hub is alive; take the hubs silent for ``DEAD_AFTER`` heartbeats out of the
    feed group. Returns the channels taken out."""
    if settings.REDIS is None:
        return []
    silence = DEAD_AFTER * settings.FEED_HUB_HEARTBEAT
    client = redis_client.for_a_moment()
    try:
        now = time.time()
        await client.hset(KEY, channel, now)
        dead = [name.decode() for name, at in (await client.hgetall(KEY)).items() if now - float(at) > silence]
        for name in dead:
            await layer.group_discard(FEED_GROUP, name)
            await client.hdel(KEY, name)
            logger.warning("feed hub %s silent for over %.0f s (its node died?): out of the group", name, silence)
        return dead
    finally:
        await client.aclose()


async def leave(layer, channel):
    """This hub's node stops: out of the group, so nobody sends it batches any more."""
    await layer.group_discard(FEED_GROUP, channel)
    if settings.REDIS is not None:
        client = redis_client.for_a_moment()
        try:
            await client.hdel(KEY, channel)
        finally:
            await client.aclose()

"""Which hubs are alive, so a node that died does not stay in the groups its hubs joined.

channels-redis keeps a group member for a day (``group_expiry``), and every
message sent to a group is serialised and queued for each member, up to its
channel's capacity: a hub killed without leaving (``kill -9``, a crash, its
machine gone) costs every sender a copy per message and fills Redis with what
nobody reads. 36 dead feed hubs in a bench's Redis held ingest on
channels-redis to 2,400 packets/s at 79 % of a core (docs/fanout.md). So every
hub (the feed's, gateway/feed/hub.py; the chat rooms', gateway/room_hub.py)
notes in a Redis hash that it is alive and which groups it is in, every
``FEED_HUB_HEARTBEAT`` seconds and whenever it joins a group; takes the hubs
silent for ``DEAD_AFTER`` heartbeats out of their groups; and leaves its
groups when its node stops. Without Redis there is one process, and nothing
to do.
"""

import asyncio
import json
import logging
import time

from django.conf import settings

from gateway import redis_client
from gateway.layers import LAYER_ERRORS
from gateway.names import FEED_GROUP
from protocols.occasional import Occasionally

logger = logging.getLogger("gateway.hub")

KEY = "aprs-gateway:hubs"  # hub channel -> {"at": Unix time it last said it was alive, "groups": [...]}
DEAD_AFTER = 4.5
"""Heartbeats a hub may miss (a node busy or its Redis link slow) before it counts as dead."""


async def note(channel, groups):
    """Say this hub is alive and in ``groups``."""
    if settings.REDIS is None:
        return
    client = redis_client.for_a_moment()
    try:
        await _note(client, channel, groups)
    finally:
        await client.aclose()


async def _note(client, channel, groups):
    await client.hset(KEY, channel, json.dumps({"at": time.time(), "groups": sorted(groups)}))


async def beat(layer, channel, groups):
    """Say this hub is alive; take the hubs silent for ``DEAD_AFTER`` heartbeats out of
    their groups. Returns the channels taken out."""
    if settings.REDIS is None:
        return []
    silence = DEAD_AFTER * settings.FEED_HUB_HEARTBEAT
    client = redis_client.for_a_moment()
    try:
        await _note(client, channel, groups)
        now = time.time()
        dead = []
        for key, value in (await client.hgetall(KEY)).items():
            name, record = key.decode(), json.loads(value)
            if isinstance(record, float):  # written by a node of 2026-11-28: a feed hub
                record = {"at": record, "groups": [FEED_GROUP]}
            if now - record["at"] > silence:
                for group in record["groups"]:
                    await layer.group_discard(group, name)
                await client.hdel(KEY, key)
                dead.append(name)
                logger.warning("hub %s silent for over %.0f s (its node died?): out of its groups", name, silence)
        return dead
    finally:
        await client.aclose()


async def keep_beating(hub, who, ready=None):
    """A hub's heartbeat, for ever: ``beat`` every ``FEED_HUB_HEARTBEAT`` seconds with
    ``hub.layer``, ``hub.channel`` and ``hub.groups()`` as they are then (after ``ready``,
    an event, is set); while Redis is away, a warning a minute."""
    errors = Occasionally(60.0)
    while True:
        if ready is not None:
            await ready.wait()
        try:
            await beat(hub.layer, hub.channel, hub.groups())
        except LAYER_ERRORS as exc:
            if errors.due():
                logger.warning("%s could not tell Redis it is alive (%s)", who, exc)
        await asyncio.sleep(settings.FEED_HUB_HEARTBEAT)


async def leave(layer, channel, groups):
    """This hub's node stops: out of its groups, so nobody sends it anything any more."""
    for group in groups:
        await layer.group_discard(group, channel)
    if settings.REDIS is not None:
        client = redis_client.for_a_moment()
        try:
            await client.hdel(KEY, channel)
        finally:
            await client.aclose()

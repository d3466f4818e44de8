"""A redis-py asyncio client for what the daemon asks of Redis besides the channel layer
(the leader lease, stations' positions, feed hubs' heartbeats), reaching it the same way
the layer does: by URL, or through Sentinel to whichever server is the master now."""

import redis.asyncio as redis
from django.conf import settings
from redis.asyncio.sentinel import Sentinel


def connect(description, **options):
    """A client for ``settings.REDIS`` (see config/settings.py); ``options`` override its timeouts."""
    description = {**description, **options}
    if "sentinels" in description:
        sentinels = description.pop("sentinels")
        master = description.pop("master_name")
        return Sentinel(sentinels).master_for(master, **description)
    return redis.Redis.from_url(description.pop("address"), **description)


def for_a_moment():
    """A client for a few quick commands on ``settings.REDIS`` (feed hubs' positions and
    heartbeats): 5 s to connect and to answer, so a slow Redis costs a warning, not a stuck task."""
    return connect(settings.REDIS, socket_timeout=5, socket_connect_timeout=5)

"""Which node holds the APRS-IS uplink: a Redis lock, renewed while held.

With several daemons on one Redis, exactly one may be connected upstream, or
every packet would reach the clients once per ingest node. The holder renews
a lease of ``LEASE`` seconds every ``LEASE / 3``; a node that cannot renew
(lost the lock, or lost Redis) gives the uplink up at once, and the others
try to take the lock every ``POLL`` seconds, so a dead leader is replaced
within LEASE + POLL seconds. Without Redis there is one node: it leads.
"""

import asyncio
import logging
import os
import socket
import time

from redis.exceptions import LockError, RedisError

from gateway import redis_client
from gateway.daemon.supervisor import Supervised

logger = logging.getLogger("gateway.leader")

LOCK_NAME = "aprs-gateway:uplink-leader"
EPOCH_NAME = "aprs-gateway:uplink-epoch"
NEXT_TOKEN = """
local now = redis.call('TIME')
local token = math.max(tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000),
                       tonumber(redis.call('GET', KEYS[1]) or '0') + 1)
redis.call('SET', KEYS[1], token)
return token
"""
"""Each node that takes the lock gets the next fencing token: above every earlier one,
and above Redis's clock in milliseconds, so a Redis that lost its data (restarted
without persistence) still never hands out a token lower than one already used."""
LEASE = 6.0
POLL = 1.0


def node_name():
    return f"{socket.gethostname()}:{os.getpid()}"


async def holder():
    """The node holding the uplink's lock now (``host:pid``), or None: asked of Redis by any
    node, so one that stands by can tell whether anyone feeds the cluster. Raises RedisError
    or OSError when Redis does not answer."""
    client = redis_client.for_a_moment()
    try:
        name = await client.get(LOCK_NAME)
    finally:
        await client.aclose()
    return name.decode() if name else None


class Leadership:
    """Calls ``gained()`` when this node takes the uplink and ``lost()`` when it must let go."""

    def __init__(self, redis, gained, lost):
        self.redis = redis  # settings.REDIS: a URL or Sentinel, or None
        self.gained = gained
        self.lost = lost
        self.leading = False
        self.task = None
        self.token = None  # our fencing token while leading (0 without Redis)
        self.valid_until = 0.0  # monotonic time our lease surely lasts until

    def start(self):
        if self.redis is None:
            self.token, self.valid_until = 0, float("inf")
            self._become_leader("no Redis: the only node")
            return
        self.task = Supervised("leader election", self._run, on_failure=self._after_failure).start()

    def stop(self):
        if self.task is not None:
            self.task.stop()

    def _after_failure(self):
        self._step_down("the election task failed")

    def _become_leader(self, why):
        self.leading = True
        logger.info("this node (%s) holds the APRS-IS uplink (%s)", node_name(), why)
        self.gained()

    def fence(self):
        """Our fencing token while the lease surely holds, else None: a leader that was
        paused past its lease must publish nothing (another node may lead by now)."""
        if self.leading and time.monotonic() < self.valid_until:
            return self.token
        return None

    def _step_down(self, why):
        self.valid_until = 0.0
        if self.leading:
            self.leading = False
            logger.warning("this node gives up the APRS-IS uplink: %s", why)
            self.lost()

    async def _run(self):
        client = redis_client.connect(self.redis, socket_timeout=LEASE / 3, socket_connect_timeout=LEASE / 3)
        lock = client.lock(LOCK_NAME, timeout=LEASE, blocking=False, thread_local=False)
        waiting_logged = False
        try:
            while True:
                try:
                    asked_at = time.monotonic()
                    if not self.leading:
                        if await lock.acquire(token=node_name()):
                            self.token = await client.eval(NEXT_TOKEN, 1, EPOCH_NAME)
                            self.valid_until = asked_at + LEASE
                            self._become_leader(f"took the Redis lock, fencing token {self.token}")
                        elif not waiting_logged:
                            holder = await client.get(LOCK_NAME)
                            logger.info("standing by: the uplink is held by %s", holder.decode() if holder else "?")
                            waiting_logged = True
                    else:
                        await lock.reacquire()
                        self.valid_until = asked_at + LEASE
                        waiting_logged = False
                except (LockError, RedisError, OSError) as exc:
                    self._step_down(f"{type(exc).__name__}: {exc}")
                    waiting_logged = False
                await asyncio.sleep(LEASE / 3 if self.leading else POLL)
        finally:
            if self.leading:
                try:
                    await lock.release()
                except (LockError, RedisError, OSError):
                    pass
            await client.aclose()

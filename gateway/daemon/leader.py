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

import redis.asyncio as redis
from redis.exceptions import LockError, RedisError

from gateway.daemon.supervisor import Supervised

logger = logging.getLogger("gateway.leader")

LOCK_NAME = "aprs-gateway:uplink-leader"
LEASE = 6.0
POLL = 1.0


def node_name():
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """Calls ``gained()`` when this node takes the uplink and ``lost()`` when it must let go."""

    def __init__(self, redis_url, gained, lost):
        self.redis_url = redis_url
        self.gained = gained
        self.lost = lost
        self.leading = False
        self.task = None

    def start(self):
        if self.redis_url is None:
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

    def _step_down(self, why):
        if self.leading:
            self.leading = False
            logger.warning("this node gives up the APRS-IS uplink: %s", why)
            self.lost()

    async def _run(self):
        client = redis.Redis.from_url(self.redis_url, socket_timeout=LEASE / 3, socket_connect_timeout=LEASE / 3)
        lock = client.lock(LOCK_NAME, timeout=LEASE, blocking=False, thread_local=False)
        waiting_logged = False
        try:
            while True:
                try:
                    if not self.leading:
                        if await lock.acquire(token=node_name()):
                            self._become_leader("took the Redis lock")
                        elif not waiting_logged:
                            holder = await client.get(LOCK_NAME)
                            logger.info("standing by: the uplink is held by %s", holder.decode() if holder else "?")
                            waiting_logged = True
                    else:
                        await lock.reacquire()
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

"""How the client links (APRS-IS uplink, KISS TNC) reconnect: twisted's
``ClientService`` with our retry policy (``Backoff``) and an endpoint that
rotates over servers and resolves DNS again on every attempt."""

import logging
import random

from twisted.internet.endpoints import HostnameEndpoint

logger = logging.getLogger("aprs.reconnect")

STABLE_SESSION = 60.0
"""A session that stayed up this long resets the backoff."""
CONNECT_TIMEOUT = 30


class Backoff:
    """ClientService retry policy: exponential, with jitter, reset by a stable session.

    twisted resets its attempt count on every successful connect, so a server
    that accepts and then drops us at once would be retried every second; this
    policy keeps counting until a session stays up ``STABLE_SESSION`` s.
    """

    def __init__(self, minimum, maximum):
        self.minimum = minimum
        self.maximum = maximum
        self.failures = 0

    def __call__(self, _attempt):
        self.failures += 1
        ceiling = min(self.maximum, self.minimum * 2 ** min(self.failures - 1, 32))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        logger.info("next attempt in %.1f s", delay)
        return delay

    def session_ended(self, lasted):
        """``lasted``: seconds the session was up (logged in, for APRS-IS), or None."""
        if lasted is not None and lasted >= STABLE_SESSION:
            self.failures = 0


class RotatingEndpoint:
    """Connects to each configured server in turn; DNS is resolved per attempt.
    ``current`` is the (host, port) of the attempt under way."""

    def __init__(self, reactor, servers):
        self.reactor = reactor
        self.servers = list(servers)
        self.index = -1
        self.current = None

    def connect(self, factory):
        self.index = (self.index + 1) % len(self.servers)
        self.current = self.servers[self.index]
        host, port = self.current
        logger.info("connecting to %s:%d", host, port)
        deferred = HostnameEndpoint(self.reactor, host, port, timeout=CONNECT_TIMEOUT).connect(factory)
        deferred.addErrback(self._failed, host, port)
        return deferred

    @staticmethod
    def _failed(failure, host, port):
        logger.warning("connection to %s:%d failed: %s", host, port, failure.getErrorMessage())
        return failure

"""How the client links (APRS-IS uplink, KISS TNC) reconnect: twisted's
``ClientService`` with our retry policy (protocols/backoff.py) and an endpoint that
rotates over servers and resolves DNS again on every attempt."""

import logging

from twisted.internet.endpoints import HostnameEndpoint

from protocols.backoff import Backoff

logger = logging.getLogger("aprs.reconnect")

STABLE_SESSION = 60.0
"""A session that stayed up this long resets the backoff."""
CONNECT_TIMEOUT = 30


class ReconnectPolicy(Backoff):
    """ClientService retry policy: ``Backoff``, reset by a stable session.

    twisted resets its attempt count on every successful connect, so a server
    that accepts and then drops us at once would be retried every second; this
    policy keeps counting until a session stays up ``STABLE_SESSION`` s.
    """

    def __call__(self, _attempt):
        delay = self.next()
        logger.info("next attempt in %.1f s", delay)
        return delay

    def session_ended(self, lasted):
        """``lasted``: seconds the session was up (logged in, for APRS-IS), or None."""
        if lasted is not None and lasted >= STABLE_SESSION:
            self.reset()


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

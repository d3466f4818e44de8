"""The APRS-IS client side: one twisted protocol per upstream connection.

It only translates: bytes in -> lines -> calls on the uplink (``uplink.py``),
and lines from the application -> bytes out. Reconnecting is
twisted's ``ClientService``; this module supplies the retry policy
(``Backoff``) and an endpoint that rotates over the configured servers and
resolves DNS again on every attempt (``RotatingEndpoint``).
"""

import logging
import random
import time
from dataclasses import dataclass

from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import LoopingCall
from twisted.protocols.policies import TimeoutMixin

from . import login
from .lines import LineSplitter

logger = logging.getLogger("aprs.uplink")

SOFTWARE_NAME = "aprs-gateway"
STABLE_SESSION = 60.0
"""A session that stayed logged in this long resets the backoff."""


@dataclass(frozen=True)
class UplinkConfig:
    servers: tuple  # of (host, port)
    callsign: str
    passcode: str
    filter: str = ""
    stale_timeout: float = 120.0
    keepalive_interval: float = 240.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    software_version: str = "0"

    def login_line(self):
        return login.format_login(
            self.callsign, self.passcode, SOFTWARE_NAME, self.software_version, self.filter
        )


def parse_server(text, default_port=14580):
    """``host[:port]`` (``[v6]:port`` too) -> (host, port); ValueError if bad."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"{text!r}: no host")
    try:
        port = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"{text!r}: port must be a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{text!r}: port out of range")
    return host, port


class Backoff:
    """ClientService retry policy: exponential, with jitter, reset by a stable session.

    twisted resets its attempt count on every successful connect, so a server
    that accepts and then drops us at once would be retried every second; this
    policy keeps counting until a session stays logged in ``STABLE_SESSION`` s.
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

    def session_ended(self, logged_in_for):
        if logged_in_for is not None and logged_in_for >= STABLE_SESSION:
            self.failures = 0


class RotatingEndpoint:
    """Connects to each configured server in turn; DNS is resolved per attempt."""

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
        endpoint = HostnameEndpoint(self.reactor, host, port, timeout=30)
        deferred = endpoint.connect(factory)
        deferred.addErrback(self._failed, host, port)
        return deferred

    @staticmethod
    def _failed(failure, host, port):
        logger.warning("connection to %s:%d failed: %s", host, port, failure.getErrorMessage())
        return failure


class APRSISClientProtocol(TimeoutMixin, Protocol):
    """One connection to an APRS-IS server, as seen by the protocol server."""

    def __init__(self, link, config, address):
        self.link = link
        self.config = config
        self.address = address  # (host, port) as configured
        self.splitter = LineSplitter()
        self.logresp = None
        self.logged_in_at = None
        self.close_reason = None
        self.keepalive = LoopingCall(self._send_keepalive)

    # --- twisted events -------------------------------------------------
    def connectionMade(self):
        self.transport.setTcpNoDelay(True)
        self.transport.setTcpKeepAlive(True)
        logger.info("connected to %s:%d", *self.address)
        self.setTimeout(self.config.stale_timeout)
        self.keepalive.start(self.config.keepalive_interval, now=False)
        self.transport.write(self.config.login_line())
        self.link.connection_opened(self)

    def dataReceived(self, data):
        self.resetTimeout()
        self.link.bytes_received(self, len(data))
        oversized = self.splitter.oversized
        for line in self.splitter.feed(data):
            if line.startswith(b"#"):
                self.link.comment_received(self)
                self._comment_received(line)
            elif line:
                self.link.line_received(self, line)
        if self.splitter.oversized != oversized:
            self.link.lines_oversized(self, self.splitter.oversized - oversized)

    def timeoutConnection(self):
        self.close_reason = f"stale: no line for {self.config.stale_timeout:g} s"
        logger.warning("link to %s:%d is %s", *self.address, self.close_reason)
        self.transport.abortConnection()

    def connectionLost(self, reason):
        self.setTimeout(None)
        if self.keepalive.running:
            self.keepalive.stop()
        if self.close_reason is None:
            self.close_reason = reason.getErrorMessage()
        if self.splitter.pending:
            self.close_reason += f" ({self.splitter.pending} bytes of an unfinished line lost)"
        logger.warning("disconnected from %s:%d: %s", *self.address, self.close_reason)
        self.link.connection_closed(self, self.close_reason)

    # --- lines ----------------------------------------------------------
    def _comment_received(self, line):
        if self.logresp is not None:
            return
        logresp = login.parse_logresp(line)
        if logresp is None:
            return
        self.logresp = logresp
        self.logged_in_at = time.monotonic()
        logger.info(
            "logged in to %s:%d as %s, %s, server %s",
            *self.address,
            logresp.callsign,
            "verified" if logresp.verified else "unverified",
            logresp.server_id or "?",
        )
        self.link.logged_in(self)

    def _send_keepalive(self):
        self.send_line(f"# {SOFTWARE_NAME} keepalive".encode("ascii"))

    def send_line(self, line):
        self.transport.write(line + b"\r\n")

    def close(self, reason):
        self.close_reason = reason
        self.transport.loseConnection()

    # --- what the protocol server asks of a connection -----------------------
    @property
    def name(self):
        return "APRS-IS %s:%d" % self.address

    @property
    def scope(self):
        return {
            "source": "aprs-is",
            "server": list(self.address),
            "server_id": self.logresp.server_id if self.logresp else None,
            "login": self.config.callsign,
            "verified": self.verified,
            "filter": self.config.filter,
        }

    @property
    def may_send(self):
        return self.verified

    @property
    def refusal(self):
        return f"login {self.config.callsign} is not verified"

    @property
    def verified(self):
        return bool(self.logresp and self.logresp.verified)

    def logged_in_for(self):
        if self.logged_in_at is None:
            return None
        return time.monotonic() - self.logged_in_at


class APRSISClientFactory(Factory):
    def __init__(self, link, config, endpoint):
        self.link = link
        self.config = config
        self.endpoint = endpoint

    def buildProtocol(self, addr):
        protocol = APRSISClientProtocol(self.link, self.config, self.endpoint.current)
        protocol.factory = self
        return protocol

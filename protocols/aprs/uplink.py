"""The uplink: our client connection to APRS-IS, a link of the ``aprs`` protocol server.

``Uplink`` keeps one connection up (twisted's ClientService, rotating over
the configured servers with our backoff: ``reconnect.py``), keeps what the
status page shows, and hands every packet line to the protocol server, which
runs one application instance per connection (scope ``source: "aprs-is"``).
``APRSISClientProtocol`` only translates: bytes in -> lines -> calls on the
uplink; lines from the application -> bytes out. A connection silent for
``stale_timeout`` (120 s) is dead: it is dropped and the next server tried.
"""

import dataclasses
import logging
import time
from dataclasses import dataclass

from twisted.application.internet import ClientService
from twisted.internet.task import LoopingCall
from twisted.protocols.policies import TimeoutMixin

from protocols.occasional import Occasionally

from . import login
from .decode import failure_reason
from .lines import MAX_CONTENT, LineSplitter
from .link import Link, LinkProtocol
from .reconnect import ReconnectPolicy, RotatingEndpoint
from .spec import SOFTWARE_NAME

logger = logging.getLogger("aprs.uplink")

OVERSIZED_LOG_INTERVAL = 60.0
STALE_AFTER = 45.0  # seconds without a line; aprsc sends a comment every 20 s


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
    demo: bool = False
    application_filter: str = ""  # what the application adds (aprs.filter): g/ for web users' messages

    @property
    def full_filter(self):
        return " ".join(part for part in (self.filter, self.application_filter) if part)

    def login_line(self):
        return login.format_login(self.callsign, self.passcode, SOFTWARE_NAME, self.software_version, self.full_filter)


class APRSISClientProtocol(TimeoutMixin, LinkProtocol):
    """One connection to an APRS-IS server."""

    def __init__(self, link, address):
        self.link = link
        self.address = address  # (host, port) as configured
        self.splitter = LineSplitter()
        self.logresp = None
        self.logged_in_at = None
        self.keepalive = LoopingCall(self._send_keepalive)

    config = property(lambda self: self.link.config)  # the filter may change while connected

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
        self.link.counters["bytes"] += len(data)
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
        why = self.lost_because(reason)
        if self.splitter.pending:
            why += f" ({self.splitter.pending} bytes of an unfinished line lost)"
        logger.warning("disconnected from %s:%d: %s", *self.address, why)
        self.link.connection_closed(self, why)

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
            "filter": self.config.full_filter,
        }

    @property
    def may_send(self):
        return self.verified

    def application_filter(self, text):
        self.link.change_filter(application_filter=text)

    @property
    def refusal(self):
        return f"login {self.config.callsign} is not verified"

    @property
    def verified(self):
        return bool(self.logresp and self.logresp.verified)

    def logged_in_for(self):
        return None if self.logged_in_at is None else time.monotonic() - self.logged_in_at


class Uplink(Link):
    """Start it with ``start()``; ``stop()`` returns a Deferred that fires once disconnected."""

    def __init__(self, protocol_server, config, counters=None, reactor=None, fence=None):
        super().__init__(protocol_server, config, counters, fence)
        if reactor is None:
            # Imported here: importing twisted's reactor installs one, and the
            # daemon must install daphne's asyncio reactor first.
            from twisted.internet import reactor
        self.endpoint = RotatingEndpoint(reactor, config.servers)
        self.backoff = ReconnectPolicy(config.reconnect_min, config.reconnect_max)
        self.service = ClientService(self.endpoint, self, retryPolicy=self.backoff)
        self.connections = set()
        self.state, self.since = "idle", time.time()
        self.server = self.server_id = None  # the APRS-IS server connected to, and its ID
        self.verified = False
        self.last_line = None  # time.time() of the last line, packet or comment
        self.packets_per_second = 0.0
        self.rate = LoopingCall(self._update_rate)
        self._rate_mark = (time.monotonic(), self.counters["packets"])
        self.oversized_log = Occasionally(OVERSIZED_LOG_INTERVAL)

    def buildProtocol(self, addr):
        return APRSISClientProtocol(self, self.endpoint.current)

    def start(self):
        self._set_state("connecting")
        self.service.startService()
        self.rate.start(1.0, now=False)

    def stop(self):
        if self.rate.running:
            self.rate.stop()
        stopped = self.service.stopService()
        stopped.addCallback(lambda _: self._set_state("stopped"))
        return stopped

    def change_filter(self, new_filter=None, application_filter=None):
        """Use a new server-side filter now (``#filter``) and at every later login: the
        operator's (``new_filter``) or the application's part of it (``application_filter``)."""
        changes = {"filter": new_filter, "application_filter": application_filter}
        self.config = dataclasses.replace(self.config, **{k: v for k, v in changes.items() if v is not None})
        for connection in self.connections:
            connection.send_line(b"#filter " + self.config.full_filter.encode("ascii", "replace"))

    # --- calls from the wire protocol -------------------------------------
    def connection_opened(self, connection):
        self.connections.add(connection)
        self.server = "%s:%d" % connection.address
        self._set_state("connected")

    def logged_in(self, connection):
        self.verified = connection.verified
        self.server_id = connection.logresp.server_id
        self._set_state("verified" if connection.verified else "unverified")
        self.protocol_server.open(connection)

    def comment_received(self, connection):
        self.last_line = time.time()
        self.counters["lines"] += 1

    def line_received(self, connection, line):
        token = self.fenced(connection)
        if token is None:
            return
        self.counters["lines"] += 1
        self.counters["packets"] += 1
        if connection.logresp is None:
            logger.warning("%s sent packets before a logresp; treating the login as unverified", connection.name)
        self.protocol_server.first_time(line)  # so a local iGate's copy of it is not passed on again
        event = self.protocol_server.packet_received(connection, line, fence=token)
        self.last_line = event["received"]
        if event["packet"].get("format") == "unknown":
            self.counters["undecoded"] += 1
            self.counters["undecoded", failure_reason(event["packet"]["error"])] += 1

    def lines_oversized(self, connection, count):
        self.counters["oversized"] += count
        if self.oversized_log.due():
            logger.warning(
                "%s sent a line over %d bytes; dropped (%d so far; logged at most once a minute)",
                connection.name,
                MAX_CONTENT + 2,
                self.counters["oversized"],
            )

    def connection_closed(self, connection, reason):
        self.connections.discard(connection)
        self.backoff.session_ended(connection.logged_in_for())
        self.counters["reconnects"] += 1
        self._set_state("disconnected")
        self.protocol_server.connection_closed(connection, reason)

    # --- status -------------------------------------------------------------
    def _set_state(self, state):
        self.state, self.since = state, time.time()

    def _update_rate(self):
        now = time.monotonic()
        then, count = self._rate_mark
        self.packets_per_second = (self.counters["packets"] - count) / (now - then)
        self._rate_mark = (now, self.counters["packets"])

    def status(self):
        """A JSON-ready snapshot for /api/status; ``stale``: logged in, but silent for
        longer than two server keepalives (the link is about to be given up)."""
        silent = time.time() - (self.last_line or self.since)
        return {
            "state": self.state,
            "server": self.server,
            "server_id": self.server_id,
            "verified": self.verified,
            "demo": self.config.demo,
            "since": self.since,
            "last_line": self.last_line,
            "packets_per_second": self.packets_per_second,
            **{name: self.counters[name] for name in ("lines", "packets", "undecoded", "oversized", "reconnects")},
            "stale": self.state in ("verified", "unverified") and silent > STALE_AFTER,
        }

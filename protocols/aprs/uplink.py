"""The uplink: our connection to APRS-IS, as a link of the ``aprs`` protocol server.

It keeps one client connection up (``client.py``: twisted's ClientService,
rotating servers, backoff), keeps the statistics the status page and metrics
show, and hands every packet line to the protocol server, which runs one
application instance per connection (scope ``source: "aprs-is"``).
"""

import dataclasses
import logging
import time
from dataclasses import dataclass, field

from twisted.application.internet import ClientService
from twisted.internet.task import LoopingCall

from gateway import metrics

from .client import APRSISClientFactory, Backoff, RotatingEndpoint
from .lines import MAX_CONTENT

logger = logging.getLogger("aprs.uplink")

OVERSIZED_LOG_INTERVAL = 60.0
STALE_AFTER = 45.0  # seconds without a line; aprsc sends a comment every 20 s


@dataclass
class LinkStats:
    """What the status page and metrics show about the uplink."""

    state: str = "idle"
    server: str = None
    server_id: str = None
    verified: bool = False
    demo: bool = False
    lines: int = 0
    packets: int = 0
    undecoded: int = 0
    oversized: int = 0
    reconnects: int = 0
    since: float = field(default_factory=time.time)
    packets_per_second: float = 0.0
    last_line: float = None  # time.time() of the last line, packet or comment


class Uplink:
    """Start it with ``start()``; ``stop()`` returns a Deferred that fires once disconnected."""

    def __init__(self, server, config, demo=False, reactor=None):
        if reactor is None:
            # Imported here: importing twisted's reactor installs one, and the
            # daemon must install daphne's asyncio reactor first.
            from twisted.internet import reactor
        self.server = server
        self.config = config
        self.stats = LinkStats(demo=demo)
        self.endpoint = RotatingEndpoint(reactor, config.servers)
        self.backoff = Backoff(config.reconnect_min, config.reconnect_max)
        self.factory = APRSISClientFactory(self, config, self.endpoint)
        self.service = ClientService(self.endpoint, self.factory, retryPolicy=self.backoff)
        self.connections = set()
        self.rate = LoopingCall(self._update_rate)
        self._rate_mark = (time.monotonic(), 0)
        self._oversized_logged_at = -OVERSIZED_LOG_INTERVAL

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

    def change_filter(self, new_filter):
        """Use a new server-side filter now (``#filter``) and at every later login."""
        self.config = dataclasses.replace(self.config, filter=new_filter)
        self.factory.config = self.config
        for connection in self.connections:
            connection.config = self.config
            connection.send_line(b"#filter " + new_filter.encode("ascii"))

    # --- calls from the wire protocol -------------------------------------
    def connection_opened(self, connection):
        self.connections.add(connection)
        self.stats.server = "%s:%d" % connection.address
        self._set_state("connected")

    def logged_in(self, connection):
        self.stats.verified = connection.verified
        self.stats.server_id = connection.logresp.server_id
        self._set_state("verified" if connection.verified else "unverified")
        if connection not in self.server.instances:
            self.server.create_application_instance(connection)

    def bytes_received(self, connection, count):
        metrics.bytes_received.inc(count)

    def comment_received(self, connection):
        self.stats.last_line = time.time()
        metrics.lines_received.inc()

    def line_received(self, connection, line):
        self.stats.lines += 1
        metrics.lines_received.inc()
        metrics.packets_received.inc()
        if connection not in self.server.instances:
            logger.warning("%s sent packets before a logresp; treating the login as unverified", connection.name)
        self.server.dupes.first_time(line)  # so a local iGate's copy of it is not passed on again
        event = self.server.packet_received(connection, line)
        self.stats.last_line = event["received"]
        self.stats.packets += 1
        if event["packet"].get("format") == "unknown":
            self.stats.undecoded += 1
            metrics.parse_failures.labels(metrics.failure_reason(event["packet"]["error"])).inc()

    def lines_oversized(self, connection, count):
        self.stats.oversized += count
        metrics.oversized_lines.inc(count)
        now = time.monotonic()
        if now - self._oversized_logged_at >= OVERSIZED_LOG_INTERVAL:
            self._oversized_logged_at = now
            logger.warning(
                "%s sent a line over %d bytes; dropped (%d so far; logged at most once a minute)",
                connection.name, MAX_CONTENT + 2, self.stats.oversized,
            )

    def connection_closed(self, connection, reason):
        self.connections.discard(connection)
        self.backoff.session_ended(connection.logged_in_for())
        self.stats.reconnects += 1
        metrics.reconnects.inc()
        self._set_state("disconnected")
        self.server.connection_closed(connection, reason)

    # --- status -------------------------------------------------------------
    def _set_state(self, state):
        metrics.set_link_state(state)
        self.stats.state = state
        self.stats.since = time.time()

    def _update_rate(self):
        now = time.monotonic()
        then, count = self._rate_mark
        self.stats.packets_per_second = (self.stats.packets - count) / (now - then)
        self._rate_mark = (now, self.stats.packets)

    def status(self):
        """A JSON-ready snapshot for /api/status; ``stale``: logged in, but silent for
        longer than two server keepalives (the link is about to be given up)."""
        snapshot = dict(vars(self.stats))
        silent = time.time() - (self.stats.last_line or self.stats.since)
        snapshot["stale"] = self.stats.state in ("verified", "unverified") and silent > STALE_AFTER
        return snapshot

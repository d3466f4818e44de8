"""The ``aprs`` protocol server: APRS-IS connections as ASGI application instances.

Modelled on asgiref's ``StatelessServer`` and daphne's ``Server``: the server
owns the application instances, the wire protocol (``client.py``) only
translates. To use it, build it with an ASGI application and an
``UplinkConfig``, call ``start()`` once twisted's asyncio reactor runs, and
return ``stop()`` (a Deferred) from a "before shutdown" trigger.

The instance lifecycle is four methods:

- ``create_application_instance(connection)``: one instance per logged-in
  connection, scope as docs/aprs-asgi.md says, first event ``aprs.connect``;
- ``application_send(connection, message)``: what an instance sends back;
- ``application_checker()``: every second, instances that crashed are logged
  and replaced (their undelivered events move to the new instance);
- ``close_application_instance(connection, reason)``: ``aprs.disconnect``,
  then ``close_timeout`` seconds to finish before the instance is cancelled.
"""

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field

from twisted.application.internet import ClientService
from twisted.internet import defer
from twisted.internet.task import LoopingCall

from gateway import metrics

from .client import APRSISClientFactory, Backoff, RotatingEndpoint
from .decode import decode_line
from .lines import MAX_CONTENT

logger = logging.getLogger("aprs.server")

ASGI_VERSION = {"version": "3.0", "spec_version": "1.0"}
QUEUE_HIGH_WATER = 5000
"""Events waiting for an instance before we stop reading from the socket."""
QUEUE_LOW_WATER = 1000
OVERSIZED_LOG_INTERVAL = 60.0


@dataclass
class Instance:
    scope: dict
    queue: asyncio.Queue
    future: asyncio.Future
    closing_since: float = None


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


class APRSProtocolServer:
    """Runs the uplink and one ASGI application instance per connection."""

    def __init__(self, application, config, close_timeout=10.0, demo=False, reactor=None):
        if reactor is None:
            # Imported here: importing twisted's reactor installs one, and the
            # daemon must install daphne's asyncio reactor first.
            from twisted.internet import reactor
        self.application = application
        self.config = config
        self.close_timeout = close_timeout
        self.instances = {}  # connection -> Instance
        self.paused = set()  # connections whose reading is paused (backpressure)
        self.stats = LinkStats(demo=demo)
        self.endpoint = RotatingEndpoint(reactor, config.servers)
        self.backoff = Backoff(config.reconnect_min, config.reconnect_max)
        self.factory = APRSISClientFactory(self, config, self.endpoint)
        self.service = ClientService(self.endpoint, self.factory, retryPolicy=self.backoff)
        self.checker = LoopingCall(self.application_checker)
        self._rate_mark = (time.monotonic(), 0)
        self._oversized_logged_at = -OVERSIZED_LOG_INTERVAL

    # --- lifecycle --------------------------------------------------------
    def start(self):
        self._set_state("connecting")
        self.service.startService()
        self.checker.start(1.0, now=False)

    @defer.inlineCallbacks
    def stop(self):
        """Disconnect upstream, let instances finish, cancel the stragglers."""
        if self.checker.running:
            self.checker.stop()
        yield self.service.stopService()
        for connection in list(self.instances):
            self.close_application_instance(connection, "server shutting down")
        pending = [i.future for i in self.instances.values() if not i.future.done()]
        if pending:
            done = defer.Deferred.fromFuture(
                asyncio.ensure_future(asyncio.wait(pending, timeout=self.close_timeout))
            )
            yield done
            for future in pending:
                if not future.done():
                    logger.warning("application instance did not finish in %g s; cancelled", self.close_timeout)
                    future.cancel()
        self.instances.clear()
        self._set_state("stopped")

    def change_filter(self, new_filter):
        """Use a new server-side filter now (``#filter``) and at every later login."""
        self.config = dataclasses.replace(self.config, filter=new_filter)
        self.factory.config = self.config
        for connection in self.instances:
            connection.config = self.config
            connection.send_line(b"#filter " + new_filter.encode("ascii"))

    # --- calls from the wire protocol -------------------------------------
    def connection_opened(self, connection):
        self.stats.server = "%s:%d" % connection.address
        self._set_state("connected")

    def logged_in(self, connection):
        self.stats.verified = connection.verified
        self.stats.server_id = connection.logresp.server_id
        self._set_state("verified" if connection.verified else "unverified")
        if connection not in self.instances:
            self.create_application_instance(connection)

    def bytes_received(self, connection, count):
        metrics.bytes_received.inc(count)

    def comment_received(self, connection):
        self.stats.last_line = time.time()
        metrics.lines_received.inc()

    def line_received(self, connection, line):
        self.stats.lines += 1
        metrics.lines_received.inc()
        metrics.packets_received.inc()
        if connection not in self.instances:
            logger.warning("%s:%d sent packets before a logresp; treating the login as unverified", *connection.address)
            self.create_application_instance(connection)
        event = decode_line(line, time.time())
        self.stats.last_line = event["received"]
        self.stats.packets += 1
        if event["packet"].get("format") == "unknown":
            self.stats.undecoded += 1
            metrics.parse_failures.labels(metrics.failure_reason(event["packet"]["error"])).inc()
        event["type"] = "aprs.packet"
        self._put(connection, event)

    def lines_oversized(self, connection, count):
        self.stats.oversized += count
        metrics.oversized_lines.inc(count)
        now = time.monotonic()
        if now - self._oversized_logged_at >= OVERSIZED_LOG_INTERVAL:
            self._oversized_logged_at = now
            logger.warning(
                "%s:%d sent a line over %d bytes; dropped (%d so far; logged at most once a minute)",
                *connection.address, MAX_CONTENT + 2, self.stats.oversized,
            )

    def connection_closed(self, connection, reason):
        self.paused.discard(connection)
        self.backoff.session_ended(connection.logged_in_for())
        self.stats.reconnects += 1
        metrics.reconnects.inc()
        self._set_state("disconnected")
        self.close_application_instance(connection, reason)

    # --- application instances ----------------------------------------------
    def create_application_instance(self, connection, queue=None):
        logresp = connection.logresp
        scope = {
            "type": "aprs",
            "asgi": dict(ASGI_VERSION),
            "source": "aprs-is",
            "server": list(connection.address),
            "server_id": logresp.server_id if logresp else None,
            "login": self.config.callsign,
            "verified": connection.verified,
            "filter": self.config.filter,
        }
        fresh = asyncio.Queue()
        fresh.put_nowait({"type": "aprs.connect"})
        while queue is not None and not queue.empty():
            event = queue.get_nowait()
            if event["type"] != "aprs.connect":
                fresh.put_nowait(event)

        async def receive():
            event = await fresh.get()
            if connection in self.paused and fresh.qsize() <= QUEUE_LOW_WATER:
                self.paused.discard(connection)
                connection.transport.resumeProducing()
            return event

        async def send(message):
            return self.application_send(connection, message)

        future = asyncio.ensure_future(self.application(scope, receive, send))
        self.instances[connection] = Instance(scope=scope, queue=fresh, future=future)

    def application_send(self, connection, message):
        """Carry out what an instance sends: ``aprs.send`` or ``aprs.close``."""
        kind = message.get("type")
        if kind == "aprs.send":
            line = message.get("line", b"")
            if isinstance(line, str):
                line = line.encode("utf-8")
            if not isinstance(line, bytes) or b"\r" in line or b"\n" in line or not line:
                raise ValueError("aprs.send: 'line' must be non-empty bytes or str without CR/LF")
            if len(line) > MAX_CONTENT:
                raise ValueError(f"aprs.send: line longer than {MAX_CONTENT} bytes")
            instance = self.instances.get(connection)
            if instance is None or instance.closing_since is not None:
                logger.error("aprs.send refused: the connection is closed")
            elif not connection.verified:
                logger.error("aprs.send refused: login %s is not verified", self.config.callsign)
            else:
                connection.send_line(line)
        elif kind == "aprs.close":
            if connection in self.instances:
                connection.close("closed by the application")
        else:
            raise ValueError(f"unknown message type {kind!r} for the aprs protocol")

    def application_checker(self):
        now = time.monotonic()
        for connection, instance in list(self.instances.items()):
            if instance.future.done():
                crashed = self._reap(instance)
                if instance.closing_since is None:
                    # The connection is still up: the feed must go on.
                    logger.error("application instance %s; starting a new one",
                                 "crashed" if crashed else "exited while connected")
                    self.create_application_instance(connection, queue=instance.queue)
                else:
                    del self.instances[connection]
            elif instance.closing_since is not None and now - instance.closing_since > self.close_timeout:
                logger.warning("application instance took over %g s to close; cancelled", self.close_timeout)
                instance.future.cancel()
                del self.instances[connection]
        self._update_rate(now)

    def close_application_instance(self, connection, reason):
        instance = self.instances.get(connection)
        if instance is None or instance.closing_since is not None:
            return
        instance.closing_since = time.monotonic()
        instance.queue.put_nowait({"type": "aprs.disconnect", "reason": reason})

    # --- internals ------------------------------------------------------------
    @staticmethod
    def _reap(instance):
        """Log an instance's exception; True if it crashed."""
        if instance.future.cancelled():
            return False
        exception = instance.future.exception()
        if exception is not None:
            logger.error("exception inside aprs application: %r", exception, exc_info=exception)
            return True
        return False

    def _put(self, connection, event):
        instance = self.instances[connection]
        instance.queue.put_nowait(event)
        if instance.queue.qsize() >= QUEUE_HIGH_WATER and connection not in self.paused:
            logger.warning("application is %d events behind; pausing reads from upstream", QUEUE_HIGH_WATER)
            self.paused.add(connection)
            connection.transport.pauseProducing()

    def _set_state(self, state):
        metrics.set_link_state(state)
        self.stats.state = state
        self.stats.since = time.time()

    def _update_rate(self, now):
        then, count = self._rate_mark
        if now - then >= 1.0:
            self.stats.packets_per_second = (self.stats.packets - count) / (now - then)
            self._rate_mark = (now, self.stats.packets)

    def status(self):
        """A JSON-ready snapshot for /api/status; ``stale``: logged in, but silent for
        longer than two server keepalives (the link is about to be given up)."""
        snapshot = dict(vars(self.stats))
        silent = time.time() - (self.stats.last_line or self.stats.since)
        snapshot["stale"] = self.stats.state in ("verified", "unverified") and silent > STALE_AFTER
        return snapshot

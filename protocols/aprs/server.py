"""The ``aprs`` protocol server: APRS connections as ASGI application instances.

Modelled on asgiref's ``StatelessServer`` and daphne's ``Server``: the server
owns the application instances; the links (``uplink.py`` to APRS-IS,
``igate.py`` for iGates that connect to us, ``tnc.py`` to a KISS TNC) own
their sockets and only translate wire <-> calls on this server. To use it,
build it with an ASGI application, ``start()`` it once twisted's asyncio
reactor runs, hand it to the links, and return ``stop()`` (a Deferred) from a
"before shutdown" trigger after stopping them.

A connection, as the links hand it over, has ``scope`` (its source's keys of
docs/aprs-asgi.md), ``may_send`` and ``refusal`` (whether ``aprs.send`` is
allowed, and why not), ``name`` (for logs), ``send_line(bytes)``,
``close(reason)`` and ``transport``.

The instance lifecycle is four methods:

- ``create_application_instance(connection)``: one instance per connection,
  first event ``aprs.connect``;
- ``application_send(connection, message)``: what an instance sends back;
- ``application_checker()``: every second, instances that crashed are logged
  and replaced (their undelivered events move to the new instance);
- ``close_application_instance(connection, reason)``: ``aprs.disconnect``,
  then ``close_timeout`` seconds to finish before the instance is cancelled.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from twisted.internet import defer
from twisted.internet.task import LoopingCall

from .decode import decode_line
from .dupes import DupeFilter
from .lines import MAX_CONTENT

logger = logging.getLogger("aprs.server")

ASGI_VERSION = {"version": "3.0", "spec_version": "1.1"}
QUEUE_HIGH_WATER = 5000
"""Events waiting for an instance before we stop reading from its socket."""
QUEUE_LOW_WATER = 1000


@dataclass
class Instance:
    scope: dict
    queue: asyncio.Queue
    future: asyncio.Future
    closing_since: float = None


class APRSProtocolServer:
    """One ASGI application instance per APRS connection, whatever its source."""

    def __init__(self, application, close_timeout=10.0):
        self.application = application
        self.close_timeout = close_timeout
        self.instances = {}  # connection -> Instance
        self.paused = set()  # connections whose reading is paused (backpressure)
        self.dupes = DupeFilter()  # what every source has delivered in the last 30 s
        self.checker = LoopingCall(self.application_checker)

    # --- lifecycle --------------------------------------------------------
    def start(self):
        self.checker.start(1.0, now=False)

    @defer.inlineCallbacks
    def stop(self):
        """Let instances finish, cancel the stragglers (the links are stopped first)."""
        if self.checker.running:
            self.checker.stop()
        for connection in list(self.instances):
            self.close_application_instance(connection, "server shutting down")
        pending = [i.future for i in self.instances.values() if not i.future.done()]
        if pending:
            yield defer.Deferred.fromFuture(
                asyncio.ensure_future(asyncio.wait(pending, timeout=self.close_timeout))
            )
            for future in pending:
                if not future.done():
                    logger.warning("application instance did not finish in %g s; cancelled", self.close_timeout)
                    future.cancel()
        self.instances.clear()

    # --- calls from the links -----------------------------------------------
    def packet_received(self, connection, line, **extra):
        """A packet line: decoded once, then ``aprs.packet`` to the connection's instance."""
        if connection not in self.instances:
            self.create_application_instance(connection)
        event = decode_line(line, time.time())
        event["type"] = "aprs.packet"
        event.update(extra)
        self.put(connection, event)
        return event

    def put(self, connection, event):
        instance = self.instances[connection]
        instance.queue.put_nowait(event)
        if instance.queue.qsize() >= QUEUE_HIGH_WATER and connection not in self.paused:
            logger.warning("application is %d events behind on %s; pausing reads", QUEUE_HIGH_WATER, connection.name)
            self.paused.add(connection)
            connection.transport.pauseProducing()

    def connection_closed(self, connection, reason):
        self.paused.discard(connection)
        self.close_application_instance(connection, reason)

    # --- application instances ----------------------------------------------
    def create_application_instance(self, connection, queue=None):
        scope = {"type": "aprs", "asgi": dict(ASGI_VERSION), **connection.scope}
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
                logger.error("aprs.send refused: the connection to %s is closed", connection.name)
            elif not connection.may_send:
                logger.error("aprs.send refused: %s (%s)", connection.refusal, connection.name)
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
                    logger.error("application instance for %s %s; starting a new one", connection.name,
                                 "crashed" if crashed else "exited while connected")
                    self.create_application_instance(connection, queue=instance.queue)
                else:
                    del self.instances[connection]
            elif instance.closing_since is not None and now - instance.closing_since > self.close_timeout:
                logger.warning("application instance took over %g s to close; cancelled", self.close_timeout)
                instance.future.cancel()
                del self.instances[connection]

    def close_application_instance(self, connection, reason):
        instance = self.instances.get(connection)
        if instance is None or instance.closing_since is not None:
            return
        instance.closing_since = time.monotonic()
        instance.queue.put_nowait({"type": "aprs.disconnect", "reason": reason})

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

"""The ``aprs`` protocol server: APRS connections as ASGI application instances.

Modelled on asgiref's ``StatelessServer`` and daphne's ``Server``: the server
owns the application instances; the links (``uplink.py`` to APRS-IS,
``igate.py`` for iGates that connect to us, ``tnc.py`` to a KISS TNC) own
their sockets and only translate wire <-> calls on this server. To use it,
build it with an ASGI application, ``start()`` it once twisted's asyncio
reactor runs, hand it to the links, and return ``stop()`` (a Deferred) from a
"before shutdown" trigger after stopping them.

A link calls ``open(connection)`` once a connection may start its
application (after the login, for APRS-IS), ``packet_received`` for each
packet line, ``event`` for any other event, ``first_time(line)`` to ask the
shared duplicate filter, and ``connection_closed``. What a connection must
offer is ``Connection`` below.

The instance lifecycle is four methods:

- ``create_application_instance(connection)``: one instance per connection,
  first event ``aprs.connect``;
- ``application_send(connection, message)``: what an instance sends back
  (what a task of an ended instance sends is ignored: its replacement's
  acknowledgements are its own);
- ``application_checker()``: every second, instances that crashed are logged
  and replaced (their undelivered events, and the packets they took in batches
  without acknowledging them, move to the new instance: ``inbox.py``);
- ``close_application_instance(connection, reason)``: ``aprs.disconnect``,
  then ``close_timeout`` seconds to finish before the instance is cancelled.
"""

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from twisted.internet import defer
from twisted.internet.task import LoopingCall

from .decode import decode_line
from .dupes import DupeFilter
from .inbox import Inbox
from .lines import MAX_CONTENT
from .spec import ASGI_VERSION

logger = logging.getLogger("aprs.server")

QUEUE_HIGH_WATER = 5000
"""Events waiting for an instance (and packets it has not acknowledged) before we stop
reading from its socket."""
QUEUE_LOW_WATER = 1000


class Connection(Protocol):
    """One connection of a link, as the protocol server sees it (``link.LinkProtocol``)."""

    name: str  # for logs
    scope: dict  # the source's keys of docs/aprs-asgi.md
    may_send: bool  # whether ``aprs.send`` is carried out ...
    refusal: str  # ... and why not

    def send_line(self, line: bytes) -> None: ...

    def close(self, reason: str) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def ready(self) -> None: ...


@dataclass
class Instance:
    inbox: Inbox
    future: asyncio.Future
    closing_since: float = None


class APRSProtocolServer:
    """One ASGI application instance per APRS connection, whatever its source."""

    def __init__(self, application, close_timeout=10.0):
        self.application = application
        self.close_timeout = close_timeout
        self._instances = {}  # connection -> Instance
        self._paused = set()  # connections whose reading is paused (backpressure)
        self._dupes = DupeFilter()  # what every source has delivered in the last 30 s
        self.refused_long = 0  # aprs.send lines over 510 bytes, refused
        self._seq = itertools.count(1)  # every packet's number, unique among this server's connections
        self.checker = LoopingCall(self.application_checker)

    # --- lifecycle --------------------------------------------------------
    def start(self):
        self.checker.start(1.0, now=False)

    @defer.inlineCallbacks
    def stop(self):
        """Let instances finish, cancel the stragglers (the links are stopped first)."""
        if self.checker.running:
            self.checker.stop()
        for connection in list(self._instances):
            self.close_application_instance(connection, "server shutting down")
        pending = [i.future for i in self._instances.values() if not i.future.done()]
        if pending:
            yield defer.Deferred.fromFuture(asyncio.ensure_future(asyncio.wait(pending, timeout=self.close_timeout)))
            for future in pending:
                if not future.done():
                    logger.warning("application instance did not finish in %g s; cancelled", self.close_timeout)
                    future.cancel()
        self._instances.clear()

    # --- calls from the links -----------------------------------------------
    def open(self, connection):
        """Start the connection's application instance, unless it has one."""
        if connection not in self._instances:
            self.create_application_instance(connection)

    def packet_received(self, connection, line, **extra):
        """A packet line: decoded once, then ``aprs.packet`` to the connection's instance
        (started now if the link did not open it). Returns the event."""
        self.open(connection)
        event = decode_line(line, time.time())
        event["type"] = "aprs.packet"
        event["seq"] = next(self._seq)
        event.update(extra)
        self.event(connection, event)
        return event

    def event(self, connection, event):
        """Queue an event for the connection's instance; pause reading while it is far behind."""
        instance = self._instances[connection]
        instance.inbox.put(event)
        if len(instance.inbox) >= QUEUE_HIGH_WATER and connection not in self._paused:
            logger.warning("application is %d events behind on %s; pausing reads", QUEUE_HIGH_WATER, connection.name)
            self._paused.add(connection)
            connection.pause_reading()

    def first_time(self, line):
        """Whether no source delivered this packet in the last 30 s (it is remembered now)."""
        return self._dupes.first_time(line)

    def connection_closed(self, connection, reason):
        self._paused.discard(connection)
        self.close_application_instance(connection, reason)

    # --- application instances ----------------------------------------------
    def create_application_instance(self, connection, predecessor=None):
        scope = {"type": "aprs", "asgi": dict(ASGI_VERSION), **connection.scope}
        inbox = Inbox([{"type": "aprs.connect"}, *(predecessor.handed_over() if predecessor else ())])

        async def receive():
            event = await inbox.get()
            self._resume_when_caught_up(connection, inbox)
            return event

        async def send(message):
            if self._instances.get(connection) is not instance:  # a task the instance left behind
                logger.warning(
                    "%s from an ended application instance: ignored (%s)", message.get("type"), connection.name
                )
                return None
            return self.application_send(connection, message)

        instance = Instance(inbox=inbox, future=asyncio.ensure_future(self.application(scope, receive, send)))
        self._instances[connection] = instance

    def _resume_when_caught_up(self, connection, inbox):
        if connection in self._paused and len(inbox) <= QUEUE_LOW_WATER:
            self._paused.discard(connection)
            connection.resume_reading()

    def application_send(self, connection, message):
        """Carry out what an instance sends: ``aprs.send``, ``aprs.batches``, ``aprs.ack``,
        ``aprs.ready``, ``aprs.filter`` or ``aprs.close``."""
        kind = message.get("type")
        if kind == "aprs.send":
            line = message.get("line", b"")
            if isinstance(line, str):
                line = line.encode("utf-8")
            if not isinstance(line, bytes) or b"\r" in line or b"\n" in line or not line:
                raise ValueError("aprs.send: 'line' must be non-empty bytes or str without CR/LF")
            instance = self._instances.get(connection)
            if len(line) > MAX_CONTENT:  # e.g. a path grown by q-constructs: APRS-IS would cut it
                self.refused_long += 1
                logger.warning("aprs.send refused: %d bytes, over %d (%s)", len(line), MAX_CONTENT, connection.name)
            elif instance is None or instance.closing_since is not None:
                logger.error("aprs.send refused: the connection to %s is closed", connection.name)
            elif not connection.may_send:
                logger.error("aprs.send refused: %s (%s)", connection.refusal, connection.name)
            else:
                connection.send_line(line)
        elif kind == "aprs.batches":
            most = message.get("most")
            if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= QUEUE_LOW_WATER:
                raise ValueError(f"aprs.batches: 'most' must be an int from 1 to {QUEUE_LOW_WATER}")
            self._instances[connection].inbox.most = most
        elif kind == "aprs.ack":
            seq = message.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool):
                raise ValueError("aprs.ack: 'seq' must be the int of a packet received")
            inbox = self._instances[connection].inbox
            inbox.acknowledge(seq)
            self._resume_when_caught_up(connection, inbox)
        elif kind == "aprs.ready":
            connection.ready()
        elif kind == "aprs.filter":
            text = message.get("filter")
            if not isinstance(text, str) or "\r" in text or "\n" in text or len(text) > 400:
                raise ValueError("aprs.filter: 'filter' must be a str of at most 400 characters, one line")
            connection.application_filter(text)
        elif kind == "aprs.close":
            if connection in self._instances:
                connection.close("closed by the application")
        else:
            raise ValueError(f"unknown message type {kind!r} for the aprs protocol")

    def application_checker(self):
        now = time.monotonic()
        for connection, instance in list(self._instances.items()):
            if instance.future.done():
                crashed = self._reap(instance)
                if instance.closing_since is None:
                    # The connection is still up: the feed must go on.
                    logger.error(
                        "application instance for %s %s; starting a new one",
                        connection.name,
                        "crashed" if crashed else "exited while connected",
                    )
                    self.create_application_instance(connection, predecessor=instance.inbox)
                else:
                    del self._instances[connection]
            elif instance.closing_since is not None and now - instance.closing_since > self.close_timeout:
                logger.warning("application instance took over %g s to close; cancelled", self.close_timeout)
                instance.future.cancel()
                del self._instances[connection]

    def close_application_instance(self, connection, reason):
        instance = self._instances.get(connection)
        if instance is None or instance.closing_since is not None:
            return
        instance.closing_since = time.monotonic()
        instance.inbox.put({"type": "aprs.disconnect", "reason": reason})

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

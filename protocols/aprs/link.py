"""What the three links of the ``aprs`` protocol server have in common.

A link (``uplink.py`` to APRS-IS, ``igate.py`` for iGates that connect to us,
``tnc.py`` to a KISS TNC) is one shape: a ``Link`` — a twisted factory that
owns its sockets, built with the protocol server and its config, with
``start()``, ``stop()`` (a Deferred), ``status()`` for /api/status and
``counters`` for metrics — and a ``LinkProtocol`` per connection that only
translates wire <-> calls on the link, and is the ``server.Connection`` the
protocol server sees.

A link that only the leading node runs (uplink, TNC) is given ``fence``: a
callable returning the leader's fencing token, or None once its lease lapsed;
its packets carry the token (``fence`` in ``aprs.packet``) so receivers can
drop what a paused old leader publishes late (``fenced``).

``counters`` is a ``collections.Counter`` the daemon hands in and keeps
across link restarts: keys are names, or (name, label) pairs; the daemon
exports them to Prometheus when scraped (gateway/daemon/link_metrics.py), so a
packet costs a dict increment here and nothing knows of Prometheus.
"""

import logging
from collections import Counter

from twisted.internet.protocol import Factory, Protocol

logger = logging.getLogger("aprs.link")


class LinkProtocol(Protocol):
    """One connection of a link: the calls the protocol server makes on it."""

    close_reason = None

    def send_line(self, line):
        self.transport.write(line + b"\r\n")

    def close(self, reason):
        if self.close_reason is None:
            self.close_reason = reason
        self.transport.loseConnection()

    def abort(self, reason):
        """Close at once, dropping what is queued either way."""
        if self.close_reason is None:
            self.close_reason = reason
        self.transport.abortConnection()

    def ready(self):
        """The application's ``aprs.ready``: only the server port waits for it (its logresp)."""

    def application_filter(self, text):
        """The application's ``aprs.filter``: only the APRS-IS uplink takes one."""
        raise ValueError(f"aprs.filter: {self.name} has no server-side filter to add to")

    def pause_reading(self):
        self.transport.pauseProducing()

    def resume_reading(self):
        self.transport.resumeProducing()

    def lost_because(self, reason):
        """The close reason to report from ``connectionLost``: ours if we closed, else twisted's."""
        if self.close_reason is None:
            self.close_reason = reason.getErrorMessage()
        return self.close_reason


class Link(Factory):
    """Base of the links; subclasses set ``protocol`` and implement start/stop/status."""

    def __init__(self, protocol_server, config, counters=None, fence=None):
        self.protocol_server = protocol_server
        self.config = config
        self.counters = Counter() if counters is None else counters
        self.fence = fence or (lambda: 0)

    def fenced(self, connection):
        """The link's fencing token for a packet just read, or None: then the lease that
        let this node run the link has lapsed (the process was paused), another node may
        run it by now, and the connection is dropped with what it had buffered."""
        token = self.fence()
        if token is None:
            self.counters["fenced off"] += 1
            if connection.close_reason is None:
                logger.warning("%s: the leader's lease lapsed; discarding its lines and closing it", connection.name)
            connection.abort("the leader's lease lapsed")
        return token

    def start(self):
        raise NotImplementedError

    def stop(self):
        """A Deferred (or None) that fires once every connection is closed."""
        raise NotImplementedError

    def status(self):
        """A JSON-ready snapshot for /api/status."""
        raise NotImplementedError

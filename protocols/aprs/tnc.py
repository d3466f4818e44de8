"""The KISS TNC link: a radio's packets, from a KISS-over-TCP port such as direwolf's.

A link of the ``aprs`` protocol server (scope ``source: "kiss"``). It keeps a
TCP connection to the TNC (twisted's ClientService, the uplink's backoff),
reads KISS frames (``kiss.py``), turns each AX.25 UI frame into its TNC2 line
byte for byte (``ax25.py``) and hands it over as ``aprs.packet``. A packet an
iGate may pass on gets ``qAR,<our call>`` and ``forward: true``; one whose
path forbids it (NOGATE, RFONLY, third-party traffic) is still shown, with
``forward: false``. With ``transmit`` on, ``aprs.send`` lines go out on the
air: TNC2 -> AX.25 -> KISS.
"""

import logging
import time
from dataclasses import dataclass

from twisted.application.internet import ClientService

from . import ax25, kiss, qconstruct
from .lines import MAX_CONTENT
from .link import Link, LinkProtocol
from .reconnect import ReconnectPolicy, RotatingEndpoint

logger = logging.getLogger("aprs.tnc")


@dataclass(frozen=True)
class TNCConfig:
    host: str
    port: int
    callsign: str  # ours: the iGate login that RF packets are gated under
    transmit: bool = False
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0


class KISSClientProtocol(LinkProtocol):
    """One connection to the TNC: KISS frames in -> TNC2 lines -> calls on ``TNCLink``."""

    def __init__(self, link):
        self.link = link
        self.config = link.config
        self.decoder = kiss.KISSDecoder()

    name = property(lambda self: "KISS TNC %s:%d" % (self.config.host, self.config.port))

    def connectionMade(self):
        self.transport.setTcpKeepAlive(True)
        logger.info("connected to %s", self.name)
        self.link.connection_opened(self)

    def dataReceived(self, data):
        bad = self.decoder.bad
        for _port, frame in self.decoder.feed(data):
            try:
                line = ax25.to_tnc2(frame)
            except ValueError as exc:
                self.link.frame_refused(str(exc))
                continue
            self.link.line_received(self, line)
        if self.decoder.bad != bad:
            self.link.frame_refused(self.decoder.last_error, self.decoder.bad - bad)

    def connectionLost(self, reason):
        why = self.lost_because(reason)
        logger.warning("disconnected from %s: %s", self.name, why)
        self.link.connection_closed(self, why)

    # --- what the protocol server asks of a connection -----------------------
    @property
    def scope(self):
        return {
            "source": "kiss",
            "server": [self.config.host, self.config.port],
            "login": self.config.callsign,
            "verified": self.config.transmit,
        }

    @property
    def may_send(self):
        return self.config.transmit

    refusal = "transmitting is off (KISS_TRANSMIT)"

    def send_line(self, line):
        try:
            frame = ax25.from_tnc2(line)
        except ValueError as exc:
            logger.error("not transmitted: %s: %r", exc, line)
            return
        self.transport.write(kiss.data_frame(frame))
        self.link.counters["sent"] += 1
        logger.info("transmitted through the TNC: %r", line)


class TNCLink(Link):
    """Keeps the TNC connected; ``start()``, and ``stop()`` returning a Deferred."""

    def __init__(self, protocol_server, config, counters=None, reactor=None, fence=None):
        super().__init__(protocol_server, config, counters, fence)
        if reactor is None:
            from twisted.internet import reactor
        self.state = "idle"
        endpoint = RotatingEndpoint(reactor, [(config.host, config.port)])
        self.backoff = ReconnectPolicy(config.reconnect_min, config.reconnect_max)
        self.service = ClientService(endpoint, self, retryPolicy=self.backoff)
        self.connected_at = None

    def buildProtocol(self, addr):
        return KISSClientProtocol(self)

    def start(self):
        logger.info(
            "KISS TNC at %s:%d (%s)",
            self.config.host,
            self.config.port,
            "transmit on" if self.config.transmit else "receive only",
        )
        self.state = "connecting"
        self.service.startService()

    def stop(self):
        return self.service.stopService()

    # --- calls from the wire protocol ---------------------------------------
    def connection_opened(self, connection):
        self.state = "connected"
        self.connected_at = time.monotonic()
        self.protocol_server.open(connection)

    def line_received(self, connection, line):
        token = self.fenced(connection)
        if token is None:
            return
        self.counters["frames"] += 1
        try:
            gated, forward = qconstruct.rf_gated(line, self.config.callsign), True
        except qconstruct.Refused:
            gated, forward = line, False  # heard here, shown here, not for APRS-IS
        if forward and len(gated) > MAX_CONTENT:  # fits on RF, not on APRS-IS with our q-construct
            gated, forward = line, False
        if not self.protocol_server.first_time(gated):
            self.counters["refused", "duplicate"] += 1
            return
        self.protocol_server.packet_received(connection, gated, forward=forward, fence=token)

    def frame_refused(self, reason, count=1):
        label = reason.split(":")[0] if reason else "unknown"
        self.counters["refused", label] += count
        logger.warning("unreadable frame from the TNC: %s", reason)

    def connection_closed(self, connection, reason):
        self.state = "disconnected"
        self.backoff.session_ended(time.monotonic() - self.connected_at)
        self.protocol_server.connection_closed(connection, reason)

    def status(self):
        refused = {key[1]: count for key, count in self.counters.items() if key[0] == "refused"}
        return {
            "state": self.state,
            "server": "%s:%d" % (self.config.host, self.config.port),
            "transmit": self.config.transmit,
            "frames": self.counters["frames"],
            "refused": refused,
        }

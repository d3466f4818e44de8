"""The APRS-IS server port: iGates (direwolf, aprx, APRSdroid, Xastir) connect to us.

A link of the ``aprs`` protocol server (scope ``source: "igate"``), speaking
the server side of APRS-IS as aprsc does:

- greets with ``# aprs-gateway VERSION``; the client has ``login_timeout``
  (30 s) to send ``user CALL pass PASSCODE vers NAME VERSION [filter ...]``;
- answers ``# logresp CALL verified|unverified, server ID``; a callsign is at
  most 9 characters; a second verified login with the same callsign replaces
  the first;
- three bad commands (unreadable logins) and the client is disconnected; an
  HTTP request closes at once;
- a ``#`` keepalive every ``keepalive_interval`` (20 s);
- ``#filter ...`` (and ``filter`` in the login) become ``aprs.filter``
  events: the application sends the client what passes. As aprsc, the parts
  that cannot be read are named in a ``# Parse errors on filter spec`` line and
  the others apply; ``#filter ?`` tells the filter, ``#filter default`` clears it;
- a message to ``SERVER`` from the client's own callsign is a command to us
  (``filter ...``, ``filter?``), acked and answered as aprsc does, never gated;
- packets from verified clients get a q-construct (``qconstruct.py``), lose
  their duplicates of the last 30 s, and become ``aprs.packet`` with
  ``forward: true``; unverified clients' packets, refused paths, lines over
  512 bytes and duplicates are dropped and counted.
"""

import logging
import secrets
import time
from dataclasses import dataclass

from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.task import LoopingCall
from twisted.protocols.policies import TimeoutMixin

from protocols.occasional import Occasionally
from protocols.tcp import bound_send_buffer, unsent_bytes, write_now

from . import login, qconstruct, tnc2
from .decode import decode_line
from .filters import FilterError, parse_filter
from .lines import MAX_CONTENT, LineSplitter
from .link import Link, LinkProtocol
from .spec import LINES_EXTENSION, SOFTWARE_NAME, TOCALL

logger = logging.getLogger("aprs.igate")

CAP_LOG_INTERVAL = 60.0
HTTP_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"OPTIONS ", b"CONNECT ")
COMMAND_MAX = 8190
"""Bytes of a login or ``#filter`` line, without CRLF: aprsc reads them up to its 8 kB input
buffer (a ~470-character filter was refused with packets' 510 before); packets keep 510."""
READY_TIMEOUT = 2.0
"""Seconds the logresp waits for the application's aprs.ready at most."""


@dataclass(frozen=True)
class IGatePortConfig:
    port: int
    server_id: str
    software_version: str = "0"
    bind: str = "0.0.0.0"
    login_timeout: float = 30.0
    keepalive_interval: float = 20.0
    max_bad_commands: int = 3
    max_clients: int = 500
    max_per_address: int = 10
    send_buffer: int = 64 * 1024  # the kernel's, per client: see FEED_SOCKET_BUFFER
    own_callsigns: frozenset = frozenset()  # upper case: what no client may send as (server ID, our login)
    disallowed_sources: tuple = qconstruct.DISALLOWED_SOURCES  # aprsc's glob syntax: * and ?
    disallowed_logins: tuple = ()
    disallowed_igates: tuple = ()  # aprsc's DisallowIgateCall


class IGateClientProtocol(TimeoutMixin, LinkProtocol):
    """One iGate connected to our port; translates its lines into calls on ``IGatePort``."""

    def __init__(self, port, address):
        self.port = port
        self.config = port.config
        self.address = (address.host, address.port)
        self.splitter = LineSplitter(COMMAND_MAX)
        self.login = None
        self.filter = ""  # the parts of the client's filter that apply
        self.verified = False
        self.bad_commands = 0
        self.logresp = self.logresp_fallback = None
        self.keepalive = LoopingCall(self._send_keepalive)

    @property
    def name(self):
        who = self.login.callsign if self.login else "not logged in"
        return "iGate %s:%d (%s)" % (*self.address, who)

    # --- twisted events -------------------------------------------------
    def connectionMade(self):
        self.transport.setTcpNoDelay(True)
        self.transport.setTcpKeepAlive(True)
        self.setTimeout(self.config.login_timeout)
        bound_send_buffer(self.transport, self.config.send_buffer)
        self.send_line(f"# {SOFTWARE_NAME} {self.config.software_version}".encode("ascii"))
        self.port.client_opened(self)

    def timeoutConnection(self):
        self.close(f"no login within {self.config.login_timeout:g} s")

    def dataReceived(self, data):
        oversized = self.splitter.oversized
        for line in self.splitter.feed(data):
            if self.transport.disconnecting:
                return
            if not line:
                continue
            if self.login is None:
                self._login(line)
            elif line.startswith(b"#"):
                self._command(line)
            elif len(line) > MAX_CONTENT:  # a packet: 512 bytes with its CRLF (logins and #filter: 8 kB)
                self.port.refused(self, "over 512 bytes")
            else:
                self.port.upload(self, line)
        if self.splitter.oversized != oversized:
            self.port.refused(self, "over 512 bytes", self.splitter.oversized - oversized)

    def connectionLost(self, reason):
        self.setTimeout(None)
        if self.logresp_fallback is not None and self.logresp_fallback.active():
            self.logresp_fallback.cancel()
        if self.keepalive.running:
            self.keepalive.stop()
        why = self.lost_because(reason)
        logger.info("%s disconnected: %s", self.name, why)
        self.port.client_closed(self, why)

    # --- lines ----------------------------------------------------------
    def _login(self, line):
        if line.startswith(b"#"):
            return  # a comment before the login is harmless
        if line.startswith(HTTP_METHODS):
            return self.close("an HTTP request on an APRS-IS port (the web pages are on the HTTP port)")
        try:
            credentials = login.parse_login(line)
            if credentials.callsign == self.config.server_id.upper():  # aprsc refuses it too
                raise login.LoginError(f"{credentials.as_given} is this server's ID")
            if qconstruct.matches(
                credentials.callsign, (*qconstruct.DISALLOWED_LOGINS, *self.config.disallowed_logins)
            ):
                raise login.LoginError(f"{credentials.as_given} may not log in here")
        except login.LoginError as exc:
            return self._bad_command(f"login refused: {exc}")
        self.setTimeout(None)
        self.login = credentials
        self.verified = credentials.verified
        # The logresp waits for the application to say the login's filter is live
        # (aprs.ready), so a packet sent right after it is not missed.
        self.logresp = login.format_logresp(credentials.as_given, self.verified, self.config.server_id)
        self.logresp_fallback = self.port.reactor.callLater(READY_TIMEOUT, self.ready)
        self.keepalive.start(self.config.keepalive_interval, now=False)
        self.port.client_logged_in(self)
        if credentials.filter:
            self.set_filter(credentials.filter)

    def ready(self):
        """The application is ready for this client (its filter applies): the logresp goes out."""
        if self.logresp is not None:
            self.transport.write(self.logresp)
            self.logresp = None
            # One line when a client comes (its application ready) and one when it goes:
            # a thousand logins are two thousand lines, not four (and past the rate limit, fewer).
            logger.info(
                "%s logged in, %s, software %s %s, filter %r",
                self.name,
                "verified" if self.verified else "unverified",
                self.login.software or "?",
                self.login.version or "?",
                self.filter,
            )
        if self.logresp_fallback is not None and self.logresp_fallback.active():
            self.logresp_fallback.cancel()

    def _command(self, line):
        text = line.decode("ascii", "replace")
        at = text.lower().find("filter")  # anywhere in the line, as aprsc looks for it
        if at < 0:
            return  # keepalives and comments (direwolf sends "#" lines)
        request = " ".join(text[at + len("filter") :].split())
        if request == "?":
            self.send_line(f"# filter {self.filter} active".encode("ascii", "replace"))
        elif request.lower() == "default":
            self.set_filter("")
            self.send_line(b"# User filters reset to default")
        else:
            self.set_filter(request)
            self.send_line(f"# filter {self.filter} active".encode("ascii", "replace"))

    def set_filter(self, text):
        """Apply what can be read of a filter, say what cannot (aprsc's words)."""
        try:
            parsed = parse_filter(text, login=self.login.callsign, lenient=True)
        except FilterError as exc:  # the whole text: over MAX_FILTER characters
            parsed, errors = None, [str(exc)]
        else:
            errors = parsed.errors
        for error in errors:
            self.send_line(f"# Parse errors on filter spec: {error}".encode("ascii", "replace"))
        self.filter = parsed.text if parsed is not None else ""
        self.port.filter_changed(self, self.filter)

    def server_message(self, text, msgid):
        """A message to SERVER from the client itself: ack it, do it, answer (aprsc's messaging.c)."""
        if msgid:
            self.send_server_message(f"ack{msgid}", with_id=False)
        command = text.strip()
        if command.lower().startswith("filter?"):
            reply = f"filter {self.filter} active"
        elif command.lower().startswith("filter"):
            self.set_filter(command[len("filter") :])
            reply = f"filter {self.filter} active"
        else:
            reply = "Unknown command"
        self.send_server_message(reply)

    def send_server_message(self, text, with_id=True):
        suffix = "{" + secrets.token_hex(2) if with_id else ""
        self.send_line(
            f"SERVER>{TOCALL},TCPIP*,qAZ,{self.config.server_id}::{self.login.as_given:<9}:{text}{suffix}".encode(
                "ascii", "replace"
            )
        )

    def _bad_command(self, reason):
        self.bad_commands += 1
        logger.warning("%s: %s (%d of %d)", self.name, reason, self.bad_commands, self.config.max_bad_commands)
        self.send_line(f"# {reason}".encode("ascii", "replace"))
        if self.bad_commands >= self.config.max_bad_commands:
            self.close(f"{self.bad_commands} bad commands")

    def _send_keepalive(self):
        stamp = time.strftime("%d %b %Y %H:%M:%S GMT", time.gmtime())
        self.send_line(
            f"# {SOFTWARE_NAME} {self.config.software_version} {stamp} {self.config.server_id}".encode("ascii")
        )

    # --- what the protocol server and the application ask of a connection -------
    @property
    def scope(self):
        return {
            "source": "igate",
            "client": list(self.address),
            "server_id": self.config.server_id,
            "login": self.login.callsign,
            "verified": self.verified,
            "software": f"{self.login.software} {self.login.version}".strip(),
            "filter": self.login.filter,
            "extensions": {
                LINES_EXTENSION: {
                    "write": self.write,
                    "backlog": lambda: unsent_bytes(self.transport),
                    "drop": self.drop,
                }
            },
        }

    @property
    def may_send(self):
        return self.login is not None

    refusal = "not logged in"

    def write(self, data):
        """Lines for the feed (the scope extension): False once the connection is going."""
        return write_now(self.transport, data)

    def close(self, reason):
        if self.close_reason is None:
            self.close_reason = reason
            self.send_line(f"# closing: {reason}".encode("ascii", "replace"))
        self.transport.loseConnection()

    def drop(self, reason):
        """Disconnect at once, without waiting to send what is queued (it does not read)."""
        if self.close_reason is None:
            self.close_reason = reason
            logger.warning("%s dropped: %s", self.name, reason)
        self.transport.abortConnection()


class IGatePort(Link):
    """The listening port and its logged-in clients; counts what it refuses."""

    def __init__(self, protocol_server, config, counters=None, reactor=None):
        super().__init__(protocol_server, config, counters)
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.clients = set()
        self.verified = {}  # callsign -> its connection (one per callsign)
        self.listening = None
        self.cap_log = Occasionally(CAP_LOG_INTERVAL)

    def start(self):
        """Listen; returns the Deferred of ``listen`` (its errback: the port could not be opened)."""
        # listenTCP, under this endpoint, takes an IPv6 interface too.
        endpoint = TCP4ServerEndpoint(self.reactor, self.config.port, interface=self.config.bind)
        deferred = endpoint.listen(self)
        deferred.addCallback(self._listening)
        return deferred

    def _listening(self, port):
        self.listening = port
        logger.info(
            "APRS-IS server port for iGates on %s:%d, server ID %s",
            port.getHost().host,
            port.getHost().port,
            self.config.server_id,
        )
        return port

    def stop(self):
        """Stop listening and disconnect every client."""
        for client in list(self.clients):
            client.close("server shutting down")
        return self.listening.stopListening() if self.listening else None

    def buildProtocol(self, addr):
        """A protocol for the new connection, or None (twisted then closes it) past a cap."""
        from_there = sum(1 for client in self.clients if client.address[0] == addr.host)
        if len(self.clients) >= self.config.max_clients or from_there >= self.config.max_per_address:
            self.counters["connections refused"] += 1
            if self.cap_log.due():
                logger.warning(
                    "connection from %s refused: %d clients, %d from there (caps %d, %d per address)",
                    addr.host,
                    len(self.clients),
                    from_there,
                    self.config.max_clients,
                    self.config.max_per_address,
                )
            return None
        return IGateClientProtocol(self, addr)

    # --- calls from the wire protocol -------------------------------------
    def client_opened(self, client):
        self.clients.add(client)

    def client_logged_in(self, client):
        if client.verified:
            previous = self.verified.get(client.login.callsign)
            if previous is not None:
                previous.close(f"replaced by a new login of {client.login.callsign} from %s:%d" % client.address)
            self.verified[client.login.callsign] = client
        self.protocol_server.open(client)

    def filter_changed(self, client, new_filter):
        self.protocol_server.event(client, {"type": "aprs.filter", "filter": new_filter})

    def upload(self, client, line):
        if tnc2.message_addressee(line) == "SERVER":
            return self.to_server(client, line)
        if not client.verified:
            self.own_position(client, line)
            return self.refused(client, "unverified login")
        if tnc2.header_fields(line).get("from", "").upper() in self.config.own_callsigns:
            return self.refused(client, "source is this gateway's callsign")
        others = {call.upper() for call in self.verified if call != client.login.callsign}
        try:
            line = qconstruct.incoming(
                line,
                client.login.callsign,
                self.config.server_id,
                others,
                self.config.disallowed_sources,
                self.config.disallowed_igates,
            )
        except qconstruct.Refused as exc:
            return self.refused(client, str(exc))
        if len(line) > MAX_CONTENT:  # it fitted as uploaded, not with our q-construct
            return self.refused(client, "over 512 bytes with the q-construct")
        if not self.protocol_server.first_time(line):
            return self.refused(client, "duplicate")
        self.counters["accepted"] += 1
        self.protocol_server.packet_received(client, line, forward=True)

    def own_position(self, client, line):
        """aprsc (incoming.c) keeps a receive-only client's own position for its m/ filter before
        it drops the packet: ``aprs.position`` tells the application where the client is."""
        if tnc2.header_fields(line).get("from", "") != client.login.as_given:  # exactly, as aprsc
            return
        packet = decode_line(line, time.time())["packet"]
        lat, lon = packet.get("latitude"), packet.get("longitude")
        if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
            event = {"type": "aprs.position", "call": client.login.callsign, "latitude": lat, "longitude": lon}
            self.protocol_server.event(client, event)

    def to_server(self, client, line):
        """A message to SERVER is for us, and only from the client's own callsign (aprsc)."""
        if tnc2.header_fields(line).get("from", "").upper() != client.login.callsign:
            return self.refused(client, "message to SERVER from another station")
        parts = tnc2.message_parts(line)
        if parts is None:  # no colon after the addressee's nine characters
            return self.refused(client, "malformed message to SERVER")
        text, msgid, _, _ = parts
        if text.startswith(("ack", "rej")) and not msgid:
            return None  # an ack of one of our answers
        self.counters["server commands"] += 1
        client.server_message(text, msgid)
        return None

    def refused(self, client, reason, count=1):
        self.counters["refused", reason] += count
        logger.debug("%s: packet refused (%s)", client.name, reason)

    def client_closed(self, client, reason):
        self.clients.discard(client)
        if client.login is not None and self.verified.get(client.login.callsign) is client:
            del self.verified[client.login.callsign]
        self.protocol_server.connection_closed(client, reason)

    def status(self):
        refused = {key[1]: count for key, count in self.counters.items() if key[0] == "refused"}
        return {
            "port": self.listening.getHost().port if self.listening else None,
            "clients": len(self.clients),
            "verified": len(self.verified),
            "accepted": self.counters["accepted"],
            "connections_refused": self.counters["connections refused"],
            "refused": refused,
        }

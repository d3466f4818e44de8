"""The daemon: daphne and the ``aprs`` protocol server in one twisted reactor.

``run()`` is what ``aprs-gateway run`` calls once the command line has been
turned into settings. daphne serves HTTP and websockets; the APRS protocol
server (``protocols.aprs.server``) is started when the reactor runs and
stopped before it shuts down, so SIGTERM/SIGINT close the uplink cleanly.
"""

import daphne.server  # noqa: F401  (installs the asyncio reactor; must come first)

import asyncio
import logging
import os
import signal
import time
from functools import partial
from importlib import resources
from importlib.metadata import PackageNotFoundError, version

from channels.layers import get_channel_layer
from channels.worker import Worker
from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from django.utils.module_loading import import_string
from twisted.internet import defer, reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.task import LoopingCall

from consumers.archive import ARCHIVE_CHANNEL
from consumers.feed import BACKLOG_EXTENSION, FRAME_EXTENSION
from consumers.outbox import OUTBOX_CHANNEL
from gateway import metrics, runtime, systemd
from gateway.filters import parse_filter
from gateway.hub import get_hub
from gateway.leader import Leadership
from gateway.wsframe import frame_writer
from protocols.aprs.client import UplinkConfig, parse_server
from protocols.aprs.igate import IGatePort, IGatePortConfig
from protocols.aprs.login import RECEIVE_ONLY_PASSCODE
from protocols.aprs.replay import ReplayServer, read_capture
from protocols.aprs.server import APRSProtocolServer
from protocols.aprs.tnc import TNCConfig, TNCLink
from protocols.aprs.uplink import Uplink
from protocols.tcp import unsent_bytes

logger = logging.getLogger("gateway.daemon")

DEMO_RATE = 2.0
"""Demo feed lines per second."""
CLOSE_TIMEOUT = 10
"""Seconds applications get to finish when their connection closes."""
STATUS_INTERVAL = 5.0
GOING_AWAY = 1001
FINISH_TIMEOUT = 5.0
"""Seconds the last tasks get to end once cancelled, after the reactor stopped."""


def software_version():
    try:
        return version("aprs-gateway")
    except PackageNotFoundError:
        return "0"


class GatewayServer(Server):
    """daphne's server, telling websocket consumers how far behind a client is and
    letting them write prebuilt frames (gateway/wsframe.py), and reporting each
    listening port to the daemon."""

    def __init__(self, *args, on_listening=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_listening = on_listening
        self.ports = []

    def create_application(self, protocol, scope):
        if scope["type"] == "websocket":
            extensions = scope.setdefault("extensions", {})
            extensions[BACKLOG_EXTENSION] = {"bytes": lambda: unsent_bytes(protocol.transport)}
            extensions[FRAME_EXTENSION] = {"write": frame_writer(protocol)}
        return super().create_application(protocol, scope)

    def listen_success(self, port):
        super().listen_success(port)
        self.ports.append(port)
        if self.on_listening and len(self.ports) == len(self.endpoints):
            self.on_listening()

    def websocket_connections(self):
        return [p for p, details in self.connections.items()
                if isinstance(p, WebSocketProtocol) and "disconnected" not in details]


def uplink_config(servers, demo=False):
    return UplinkConfig(
        servers=tuple(servers),
        callsign="N0CALL" if demo else settings.APRS_CALLSIGN,
        passcode=RECEIVE_ONLY_PASSCODE if demo else settings.APRS_PASSCODE,
        filter="" if demo else settings.APRS_FILTER,
        stale_timeout=settings.APRS_STALE_TIMEOUT,
        keepalive_interval=settings.APRS_KEEPALIVE_INTERVAL,
        reconnect_min=settings.APRS_RECONNECT_MIN,
        reconnect_max=settings.APRS_RECONNECT_MAX,
        software_version=software_version(),
    )


def tnc_config():
    host, port = parse_server(settings.KISS_SERVER, default_port=8001)
    return TNCConfig(host=host, port=port, callsign=settings.APRS_CALLSIGN, transmit=settings.KISS_TRANSMIT,
                     reconnect_min=settings.APRS_RECONNECT_MIN, reconnect_max=settings.APRS_RECONNECT_MAX)


def igate_config():
    return IGatePortConfig(port=settings.IGATE_PORT, bind=settings.IGATE_BIND, server_id=settings.IGATE_SERVER_ID,
                           software_version=software_version(), check_filter=parse_filter,
                           login_timeout=settings.IGATE_LOGIN_TIMEOUT,
                           keepalive_interval=settings.IGATE_KEEPALIVE_INTERVAL)


async def start_demo_feed():
    """Play the bundled demo capture on a loopback port; return its address."""
    capture = resources.files("gateway") / "demo" / "demo.txt"
    with resources.as_file(capture) as path:
        lines = read_capture(path)
    replay = ReplayServer(lines, rate=DEMO_RATE, loop=True, server_id="DEMO")
    return await replay.start("127.0.0.1", 0)


class Gateway:
    """One daemon process: daphne, the uplink while this node leads, systemd, signals.

    Lifecycle: ``run()`` listens; on an ingest node the ``aprs`` protocol
    server starts with the iGate server port, and the uplink and the KISS TNC
    link start once this node leads (or it stands by for them); READY=1 goes
    to systemd once listening and leading or standing by. SIGHUP re-reads
    the filter; the first SIGTERM/SIGINT stops gracefully (websockets are
    closed with 1001, the uplink's applications get up to 10 s), a second
    one exits at once.
    """

    def __init__(self, bind, port, application_path, roles):
        self.bind, self.port = bind, port
        self.application = import_string(application_path)
        if "web" not in roles:
            self.application = without_websockets(self.application)
        self.roles = roles
        self.servers = self._configured_servers()
        self.demo_address = None
        self.aprs = None  # the aprs protocol server, on ingest nodes
        self.igate = None
        self.tnc = None
        self.uplink = None
        self.leadership = None
        self.stopping = False
        self.uplink_stopping = None
        self.ready = {"listening": False, "uplink": not self.runs_uplink}
        self.server = GatewayServer(
            application=self.application,
            endpoints=build_endpoint_description_strings(host=bind, port=port),
            signal_handlers=False,
            application_close_timeout=CLOSE_TIMEOUT,
            server_name="aprs-gateway",
            on_listening=partial(self._mark_ready, "listening"),
        )

    @property
    def runs_uplink(self):
        """Whether this node competes to hold the leader's links: the uplink and the TNC."""
        return "ingest" in self.roles and (settings.APRS_ENABLED or bool(settings.KISS_SERVER))

    @property
    def wants_demo(self):
        """The demo feed is for a first start: no APRS-IS servers and no local radio."""
        return not self.servers and not settings.KISS_SERVER and not settings.IGATE_PORT

    def _configured_servers(self):
        try:  # fail before listening, naming the setting
            return [parse_server(text) for text in settings.APRS_SERVERS]
        except ValueError as exc:
            raise ValueError(f"APRS_SERVERS: {exc}") from None

    def run(self):
        reactor.callWhenRunning(self.install_signal_handlers)
        if "ingest" in self.roles:
            reactor.callWhenRunning(self.start_aprs)
        if self.runs_uplink:
            reactor.callWhenRunning(self.start_uplink_election)
        else:
            logger.info("APRS uplink off on this node (%s)",
                        "--no-aprs" if not settings.APRS_ENABLED else f"roles: {','.join(self.roles)}")
        if "worker" in self.roles:
            reactor.callWhenRunning(self.start_workers)
        if "web" in self.roles:
            reactor.callWhenRunning(self.start_hub)
        reactor.addSystemEventTrigger("before", "shutdown", self.finish_uplink)
        LoopingCall(self.report_status).start(STATUS_INTERVAL, now=False)
        interval = systemd.watchdog_interval()
        if interval:
            LoopingCall(systemd.notify, "WATCHDOG=1").start(interval)
        logger.info("serving http://%s:%d/ (websocket feed at ws/aprs/), roles %s",
                    self.bind, self.port, ",".join(self.roles))
        self.server.run()
        finish_pending_tasks(asyncio.get_event_loop())

    def install_signal_handlers(self):
        """On the reactor's own asyncio loop (daphne makes it current as it starts)."""
        loop = asyncio.get_event_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.on_stop_signal, signum)
        loop.add_signal_handler(signal.SIGHUP, self.reload)

    def start_hub(self):
        """In the feed group before the first client comes, so a new map viewer finds
        the stations heard since the start. callWhenRunning runs before the asyncio
        loop does: the hub starts on the loop's first turn."""
        asyncio.get_event_loop().call_soon(get_hub)

    def start_workers(self):
        """The "channel" workers (archive, outbox) in this process, as runworker would run them."""
        channels = [OUTBOX_CHANNEL] + ([ARCHIVE_CHANNEL] if settings.ARCHIVE_ENABLED else [])
        worker = Worker(application=self.application, channels=channels, channel_layer=get_channel_layer())
        asyncio.ensure_future(worker.arun())
        logger.info("worker: consuming %s", ", ".join(channels))

    def _mark_ready(self, what):
        self.ready[what] = True
        if all(self.ready.values()):
            systemd.notify("READY=1", f"STATUS={self.status_line()}")

    # --- the aprs protocol server and its links ---------------------------------
    def start_aprs(self):
        self.aprs = APRSProtocolServer(self.application, close_timeout=CLOSE_TIMEOUT)
        self.aprs.start()
        runtime.aprs_server = self.aprs
        if settings.IGATE_PORT:
            self.igate = IGatePort(self.aprs, igate_config())
            endpoint = serverFromString(reactor, f"tcp:{settings.IGATE_PORT}:interface={settings.IGATE_BIND}")
            self.igate.start(endpoint).addErrback(self._igate_failed)
            runtime.igate_port = self.igate

    @staticmethod
    def _igate_failed(failure):
        logger.error("iGate server port %d not opened: %s", settings.IGATE_PORT, failure.getErrorMessage())

    @defer.inlineCallbacks
    def start_uplink_election(self):
        if settings.APRS_ENABLED and self.wants_demo:
            logger.warning(
                "DEMO FEED: no APRS_SERVERS set, playing a sample capture. To connect to "
                "APRS-IS set APRS_SERVERS (e.g. rotate.aprs2.net:14580), APRS_CALLSIGN, "
                "APRS_PASSCODE and APRS_FILTER (see README)."
            )
            self.demo_address = yield defer.Deferred.fromFuture(asyncio.ensure_future(start_demo_feed()))
        self.leadership = Leadership(settings.REDIS_URL, gained=self.take_uplink, lost=self.drop_uplink)
        self.leadership.start()
        if not self.leadership.leading:
            runtime.uplink_role = "standby"
            self._mark_ready("uplink")

    def take_uplink(self):
        runtime.uplink_role = "leader"
        metrics.uplink_leader.set(1)
        if settings.KISS_SERVER:
            self.tnc = runtime.tnc = TNCLink(self.aprs, tnc_config())
            self.tnc.start()
        if settings.APRS_ENABLED and (self.servers or self.demo_address):
            self.start_uplink()
        else:
            logger.info("no APRS-IS uplink (%s)", "--no-aprs" if not settings.APRS_ENABLED else
                        "APRS_SERVERS is empty and local radio is configured")
        self._mark_ready("uplink")

    def start_uplink(self):
        demo = self.demo_address is not None
        config = uplink_config([self.demo_address] if demo else self.servers, demo=demo)
        logger.info(
            "APRS-IS uplink: %s as %s (%s), filter %r",
            ", ".join("%s:%d" % s for s in config.servers), config.callsign,
            "receive-only" if config.passcode == RECEIVE_ONLY_PASSCODE else "passcode set",
            config.filter,
        )
        self.uplink = runtime.uplink = Uplink(self.aprs, config, demo=demo)
        runtime.uplink_role = "demo" if demo else "leader"
        self.uplink.start()

    def drop_uplink(self):
        """Disconnect upstream and from the TNC now (another node may take over any moment)."""
        links = [link for link in (self.uplink, self.tnc) if link is not None]
        self.uplink = self.tnc = runtime.uplink = runtime.tnc = None
        runtime.uplink_role = "standby"
        metrics.uplink_leader.set(0)
        metrics.set_link_state("off")
        return defer.DeferredList([defer.maybeDeferred(link.stop) for link in links])

    def release_uplink(self):
        if self.leadership is not None:
            self.leadership.stop()
        return self.drop_uplink()

    @defer.inlineCallbacks
    def finish_uplink(self):
        """Before the reactor stops: the links' stop (begun by the signal if there was
        one), then the applications get ``CLOSE_TIMEOUT`` to finish."""
        stopping, self.uplink_stopping = self.uplink_stopping, None
        yield stopping or self.release_uplink()
        if self.igate is not None:
            yield self.igate.stop()
        if self.aprs is not None:
            yield self.aprs.stop()

    # --- signals --------------------------------------------------------------
    def on_stop_signal(self, signum):
        name = signal.Signals(signum).name
        if self.stopping:
            logger.warning("second %s: exiting now", name)
            os._exit(1)
        self.stopping = True
        logger.info("%s: stopping (websocket clients get 1001, applications up to %d s)", name, CLOSE_TIMEOUT)
        systemd.notify("STOPPING=1")
        self.uplink_stopping = self.release_uplink()  # upstream goes now, while websockets close
        for port in self.server.ports:
            port.stopListening()
        for protocol in self.server.websocket_connections():
            # 1001 "going away" is the RFC 6455 code for this, but autobahn's
            # sendClose() only lets applications send 1000 or 3000-4999.
            protocol.sendCloseFrame(code=GOING_AWAY, reasonUtf8=b"server shutting down")
        self._stop_when_closed(time.monotonic() + CLOSE_TIMEOUT)

    def _stop_when_closed(self, deadline):
        if self.server.websocket_connections() and time.monotonic() < deadline:
            reactor.callLater(0.1, self._stop_when_closed, deadline)
        else:
            reactor.stop()

    def reload(self):
        """SIGHUP: take the filter from APRS_FILTER_FILE; clients stay connected."""
        systemd.notify(*systemd.reloading())
        path = settings.APRS_FILTER_FILE
        if not path:
            logger.warning("SIGHUP: nothing to reload (set APRS_FILTER_FILE to change the filter live)")
        else:
            try:
                with open(path, encoding="ascii") as source:
                    new_filter = " ".join(source.read().split())
            except (OSError, UnicodeDecodeError) as exc:
                logger.error("SIGHUP: cannot read APRS_FILTER_FILE: %s; filter unchanged", exc)
            else:
                settings.APRS_FILTER = new_filter
                if self.uplink is not None:
                    self.uplink.change_filter(new_filter)
                logger.info("SIGHUP: APRS filter is now %r", new_filter)
        systemd.notify("READY=1", f"STATUS={self.status_line()}")

    # --- status -----------------------------------------------------------------
    def status_line(self):
        if self.uplink is None:
            line = f"uplink {runtime.uplink_role}"
        else:
            stats = self.uplink.stats
            line = f"uplink {stats.state}, {stats.packets_per_second:.1f} packets/s"
        if self.igate is not None:
            line += f", {len(self.igate.clients)} iGate clients"
        if self.tnc is not None:
            line += f", TNC {self.tnc.state}"
        return line

    def report_status(self):
        systemd.notify(f"STATUS={self.status_line()}")


def without_websockets(application):
    """The application of a node without the web role: websocket handshakes get 403."""

    async def refuse_websockets(scope, receive, send):
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close"})
            return
        await application(scope, receive, send)

    return refuse_websockets


def run(bind, port, application_path):
    Gateway(bind, port, application_path, settings.ROLES).run()


def finish_pending_tasks(loop):
    """Cancel what still runs on the loop (the feed hub, replay sessions) and let it end.

    Left pending, such tasks are destroyed by the garbage collector at
    interpreter exit, which has crashed CPython 3.11 with a segfault here.
    """
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        _, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=FINISH_TIMEOUT))
        if stuck:  # a library task that will not end: do not wait for it, nor let GC meet it
            logger.warning("%d tasks did not finish on cancel; exiting without them", len(stuck))
            logging.shutdown()
            os._exit(0)
    loop.close()

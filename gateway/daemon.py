"""The daemon: daphne and the ``aprs`` protocol server in one twisted reactor.

``run()`` is what ``aprs-gateway run`` calls once the command line has been
turned into settings. daphne serves HTTP and websockets; the APRS protocol
server (``protocols.aprs.server``) is started when the reactor runs and
stopped before it shuts down, so SIGTERM/SIGINT close the uplink cleanly.
"""

import daphne.server  # noqa: F401  (installs the asyncio reactor; must come first)

import asyncio
import logging
from functools import partial
from importlib import resources
from importlib.metadata import PackageNotFoundError, version

from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server
from django.conf import settings
from django.utils.module_loading import import_string
from twisted.internet import defer, reactor

from consumers.feed import BACKLOG_EXTENSION
from gateway import runtime
from protocols.aprs.client import UplinkConfig, parse_server
from protocols.aprs.login import RECEIVE_ONLY_PASSCODE
from protocols.aprs.replay import ReplayServer, read_capture
from protocols.aprs.server import APRSProtocolServer

logger = logging.getLogger("gateway.daemon")

DEMO_RATE = 2.0
"""Demo feed lines per second."""


def software_version():
    try:
        return version("aprs-gateway")
    except PackageNotFoundError:
        return "0"


def send_backlog(protocol):
    """Bytes a websocket connection has queued in twisted but not yet sent."""
    transport = protocol.transport
    if transport is None:
        return 0
    # twisted.internet.abstract.FileDescriptor's write buffer.
    return (
        len(getattr(transport, "dataBuffer", b""))
        - getattr(transport, "offset", 0)
        + getattr(transport, "_tempDataLen", 0)
    )


class GatewayServer(Server):
    """daphne's server, telling websocket consumers how far behind a client is."""

    def create_application(self, protocol, scope):
        if scope["type"] == "websocket":
            scope.setdefault("extensions", {})[BACKLOG_EXTENSION] = {
                "bytes": partial(send_backlog, protocol)
            }
        return super().create_application(protocol, scope)


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


async def start_demo_feed():
    """Play the bundled demo capture on a loopback port; return its address."""
    capture = resources.files("gateway") / "demo" / "demo.txt"
    with resources.as_file(capture) as path:
        lines = read_capture(path)
    replay = ReplayServer(lines, rate=DEMO_RATE, loop=True, server_id="DEMO")
    return await replay.start("127.0.0.1", 0)


@defer.inlineCallbacks
def start_aprs(application, servers):
    """Start the uplink, or the demo feed when no server is configured."""
    demo = not servers
    if demo:
        logger.warning(
            "DEMO FEED: no APRS_SERVERS set, playing a sample capture. To connect to "
            "APRS-IS set APRS_SERVERS (e.g. rotate.aprs2.net:14580), APRS_CALLSIGN, "
            "APRS_PASSCODE and APRS_FILTER (see README)."
        )
        servers = [(yield defer.Deferred.fromFuture(asyncio.ensure_future(start_demo_feed())))]
    config = uplink_config(servers, demo=demo)
    logger.info(
        "APRS-IS uplink: %s as %s (%s), filter %r",
        ", ".join("%s:%d" % s for s in config.servers),
        config.callsign,
        "receive-only" if config.passcode == RECEIVE_ONLY_PASSCODE else "passcode set",
        config.filter,
    )
    server = APRSProtocolServer(application, config, demo=demo)
    runtime.aprs_server = server
    reactor.addSystemEventTrigger("before", "shutdown", server.stop)
    server.start()


def run(bind, port, application_path):
    application = import_string(application_path)
    server = GatewayServer(
        application=application,
        endpoints=build_endpoint_description_strings(host=bind, port=port),
        signal_handlers=True,
        application_close_timeout=10,
        server_name="aprs-gateway",
    )
    if settings.APRS_ENABLED:
        try:
            servers = [parse_server(text) for text in settings.APRS_SERVERS]
        except ValueError as exc:  # fail before listening, naming the setting
            raise ValueError(f"APRS_SERVERS: {exc}") from None
        reactor.callWhenRunning(start_aprs, application, servers)
    else:
        logger.info("APRS uplink disabled (--no-aprs)")
    logger.info("serving http://%s:%d/ (websocket feed at ws/aprs/)", bind, port)
    server.run()
    finish_pending_tasks(asyncio.get_event_loop())


def finish_pending_tasks(loop):
    """Cancel what still runs on the loop (the feed hub, replay sessions) and let it end.

    Left pending, such tasks are destroyed by the garbage collector at
    interpreter exit, which has crashed CPython 3.11 with a segfault here.
    """
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()

"""The ``aprs`` protocol server and its links, as one ingest node runs them.

Every ingest node runs the protocol server and, when ``IGATE_PORT`` is set,
the APRS-IS server port for iGates. The uplink to APRS-IS, the KISS TNC
link and the MQTT bridge run on one node at a time: the leader (``leader.py``, a Redis lease; a
node without Redis always leads). The links count into
``runtime.link_counters``, which outlive them, and are published in
``runtime`` for /api/status, /readyz and /metrics.
"""

import asyncio
import logging
from importlib import resources
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings
from twisted.internet import defer

from gateway import metrics
from gateway.daemon import runtime
from gateway.daemon.leader import Leadership
from protocols.aprs.igate import IGatePort, IGatePortConfig
from protocols.aprs.login import RECEIVE_ONLY_PASSCODE
from protocols.aprs.replay import ReplayServer, read_capture
from protocols.aprs.server import APRSProtocolServer
from protocols.aprs.tnc import TNCConfig, TNCLink
from protocols.aprs.uplink import Uplink, UplinkConfig
from protocols.mqtt.link import LinkConfig, MQTTLink

logger = logging.getLogger("gateway.daemon")

DEMO_RATE = 2.0
"""Demo feed lines per second."""


def software_version():
    try:
        return version("aprs-gateway")
    except PackageNotFoundError:
        return "0"


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
        demo=demo,
    )


def tnc_config():
    host, port = settings.KISS_SERVER
    return TNCConfig(
        host=host,
        port=port,
        callsign=settings.APRS_CALLSIGN,
        transmit=settings.KISS_TRANSMIT,
        reconnect_min=settings.APRS_RECONNECT_MIN,
        reconnect_max=settings.APRS_RECONNECT_MAX,
    )


def mqtt_config():
    return LinkConfig(
        broker=settings.MQTT_BROKER,
        client_id=settings.MQTT_CLIENT_ID,
        status_topic=f"{settings.MQTT_PREFIX}/status",
        qos=settings.MQTT_QOS,
        buffer=settings.MQTT_BUFFER,
        reconnect_min=settings.APRS_RECONNECT_MIN,
        reconnect_max=settings.APRS_RECONNECT_MAX,
    )


def igate_config():
    return IGatePortConfig(
        port=settings.IGATE_PORT,
        bind=settings.IGATE_BIND,
        server_id=settings.IGATE_SERVER_ID,
        software_version=software_version(),
        login_timeout=settings.IGATE_LOGIN_TIMEOUT,
        keepalive_interval=settings.IGATE_KEEPALIVE_INTERVAL,
        max_clients=settings.IGATE_MAX_CLIENTS,
        max_per_address=settings.IGATE_MAX_PER_ADDRESS,
        send_buffer=settings.FEED_SOCKET_BUFFER,
        disallowed_sources=settings.IGATE_DISALLOW_SOURCE,
        disallowed_logins=settings.IGATE_DISALLOW_LOGIN,
        disallowed_igates=settings.IGATE_DISALLOW_IGATE,
        own_callsigns=frozenset({settings.IGATE_SERVER_ID.upper(), settings.APRS_CALLSIGN.upper()}) - {"N0CALL"},
    )


def wants_demo():
    """The demo feed is for a first start: no APRS-IS servers and no local radio."""
    return settings.APRS_ENABLED and not settings.APRS_SERVERS and not settings.KISS_SERVER and not settings.IGATE_PORT


async def start_demo_feed():
    """Play the bundled demo capture on a loopback port; return its address."""
    capture = resources.files("gateway") / "demo" / "demo.txt"
    with resources.as_file(capture) as path:
        lines = read_capture(path)
    replay = ReplayServer(lines, rate=DEMO_RATE, loop=True, server_id="DEMO")
    return await replay.start("127.0.0.1", 0)


class APRSLinks:
    """``start()`` the protocol server and the iGate port; ``elect()`` to compete for the
    uplink and the TNC (``on_ready`` once leading or standing by); ``release()`` lets
    them go at once; ``stop()`` (a Deferred) ends everything, applications last.
    ``on_listening()`` once the iGate port listens; ``on_failure(reason)`` when it cannot:
    the daemon stops."""

    def __init__(self, application, close_timeout, on_ready, on_listening, on_failure):
        self.application = application
        self.close_timeout = close_timeout
        self.protocol_server = APRSProtocolServer(application, close_timeout=close_timeout)
        self.on_ready = on_ready
        self.on_listening = on_listening
        self.on_failure = on_failure
        self.igate = self.tnc = self.uplink = self.mqtt = self.leadership = None
        self.demo_address = None

    def start(self):
        self.protocol_server.start()
        runtime.aprs_server = self.protocol_server
        if settings.IGATE_PORT:
            self.igate = runtime.igate_port = IGatePort(
                self.protocol_server, igate_config(), runtime.link_counters["igate"]
            )
            self.igate.start().addCallbacks(lambda _: self.on_listening(), self._igate_failed)

    def _igate_failed(self, failure):
        self.on_failure(f"cannot listen for iGates on port {settings.IGATE_PORT}: {failure.getErrorMessage()}")

    @defer.inlineCallbacks
    def elect(self):
        if wants_demo():
            logger.warning(
                "DEMO FEED: no APRS_SERVERS set, playing a sample capture. To connect to "
                "APRS-IS set APRS_SERVERS (e.g. rotate.aprs2.net:14580), APRS_CALLSIGN, "
                "APRS_PASSCODE and APRS_FILTER (see README)."
            )
            self.demo_address = yield defer.Deferred.fromFuture(asyncio.ensure_future(start_demo_feed()))
        self.leadership = Leadership(settings.REDIS, gained=self.lead, lost=self.drop)
        self.leadership.start()
        if not self.leadership.leading:
            runtime.uplink_role = "standby"
            self.on_ready()

    def lead(self):
        runtime.uplink_role = "leader"
        metrics.uplink_leader.set(1)
        if settings.KISS_SERVER:
            self.tnc = runtime.tnc = TNCLink(
                self.protocol_server, tnc_config(), runtime.link_counters["tnc"], fence=self.leadership.fence
            )
            self.tnc.start()
        if settings.MQTT_BROKER is not None:
            self.mqtt = runtime.mqtt = MQTTLink(self.application, mqtt_config(), runtime.link_counters["mqtt"])
            self.mqtt.start()
        if settings.APRS_ENABLED and (settings.APRS_SERVERS or self.demo_address):
            self._start_uplink()
        else:
            logger.info(
                "no APRS-IS uplink (%s)",
                "--no-aprs" if not settings.APRS_ENABLED else "APRS_SERVERS is empty and local radio is configured",
            )
        self.on_ready()

    def _start_uplink(self):
        demo = self.demo_address is not None
        config = uplink_config([self.demo_address] if demo else settings.APRS_SERVERS, demo=demo)
        logger.info(
            "APRS-IS uplink: %s as %s (%s), filter %r",
            ", ".join("%s:%d" % s for s in config.servers),
            config.callsign,
            "receive-only" if config.passcode == RECEIVE_ONLY_PASSCODE else "passcode set",
            config.filter,
        )
        self.uplink = runtime.uplink = Uplink(
            self.protocol_server, config, runtime.link_counters["uplink"], fence=self.leadership.fence
        )
        runtime.uplink_role = "demo" if demo else "leader"
        self.uplink.start()

    def drop(self):
        """Disconnect upstream, from the TNC and the MQTT broker now (another node may take
        over any moment)."""
        stopping = [defer.maybeDeferred(link.stop) for link in (self.uplink, self.tnc) if link is not None]
        if self.mqtt is not None:
            stopping.append(defer.Deferred.fromFuture(asyncio.ensure_future(self.mqtt.stop(self.close_timeout))))
        self.uplink = self.tnc = self.mqtt = runtime.uplink = runtime.tnc = runtime.mqtt = None
        runtime.uplink_role = "standby"
        metrics.uplink_leader.set(0)
        return defer.DeferredList(stopping)

    def release(self):
        if self.leadership is not None:
            self.leadership.stop()
        return self.drop()

    @defer.inlineCallbacks
    def stop(self, released=None):
        """The leader's links (``released``: their stop, if already begun), the iGate
        port, then the applications get their close timeout."""
        yield released or self.release()
        if self.igate is not None:
            yield self.igate.stop()
        yield self.protocol_server.stop()

    def change_filter(self, new_filter):
        if self.uplink is not None:
            self.uplink.change_filter(new_filter)

    def status_line(self):
        if self.uplink is None:
            line = f"uplink {runtime.uplink_role}"
        else:
            line = f"uplink {self.uplink.state}, {self.uplink.packets_per_second:.1f} packets/s"
        if self.igate is not None:
            line += f", {len(self.igate.clients)} iGate clients"
        if self.tnc is not None:
            line += f", TNC {self.tnc.state}"
        return line

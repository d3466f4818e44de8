"""The links' counters and state as Prometheus metrics, read from ``runtime`` when
/metrics is scraped: a registry of their own (``LINKS``) that the view adds to
the default one."""

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from gateway.daemon import runtime

LINK_STATES = ("idle", "connecting", "connected", "verified", "unverified", "disconnected", "stopped", "off", "standby")
"""The uplink's states, and what a node without it says (runtime.uplink_role): the same
names as /api/status and /readyz."""

# (link, counter key) -> (metric name, help, label name or None)
LINK_COUNTERS = {
    ("uplink", "lines"): ("aprs_gateway_lines_received", "Lines received from APRS-IS (comments included)", None),
    ("uplink", "packets"): ("aprs_gateway_packets_received", "Packet lines received from APRS-IS", None),
    ("uplink", "bytes"): ("aprs_gateway_bytes_received", "Bytes received from APRS-IS", None),
    ("uplink", "undecoded"): ("aprs_gateway_parse_failures", "Packets aprslib could not decode, by reason", "reason"),
    ("uplink", "oversized"): ("aprs_gateway_oversized_lines", "Lines over 512 bytes, dropped", None),
    ("uplink", "reconnects"): ("aprs_gateway_reconnects", "Upstream connections that ended", None),
    ("igate", "accepted"): (
        "aprs_gateway_igate_packets_accepted",
        "Packets taken from iGates on the server port",
        None,
    ),
    ("igate", "connections refused"): (
        "aprs_gateway_igate_connections_refused",
        "Connections to the server port refused at a cap (IGATE_MAX_CLIENTS, IGATE_MAX_PER_ADDRESS)",
        None,
    ),
    ("igate", "refused"): ("aprs_gateway_igate_packets_refused", "Packets from iGates not taken, by reason", "reason"),
    ("tnc", "frames"): ("aprs_gateway_tnc_frames", "AX.25 frames received from the KISS TNC", None),
    ("tnc", "refused"): (
        "aprs_gateway_tnc_bad_frames",
        "Frames from the TNC not taken (unreadable, duplicate), by reason",
        "reason",
    ),
    ("mqtt", "published"): ("aprs_gateway_mqtt_published", "Messages published to the MQTT broker", None),
    ("mqtt", "dropped"): (
        "aprs_gateway_mqtt_dropped",
        "Publications dropped while the MQTT broker was away (MQTT_BUFFER full)",
        None,
    ),
    ("mqtt", "sessions"): ("aprs_gateway_mqtt_sessions", "Sessions opened with the MQTT broker", None),
    ("tnc", "sent"): ("aprs_gateway_tnc_frames_sent", "Frames sent to the KISS TNC for transmission", None),
}


class LinkCollector:
    """The links' counters and state, read at scrape time."""

    def collect(self):
        for (link, key), (name, documentation, label) in LINK_COUNTERS.items():
            counts = runtime.link_counters[link]
            family = CounterMetricFamily(name, documentation, labels=[label] if label else None)
            if label:
                for counted, value in counts.items():
                    if isinstance(counted, tuple) and counted[0] == key:
                        family.add_metric([counted[1]], value)
            else:
                family.add_metric([], counts[key])
            yield family
        state = runtime.uplink.state if runtime.uplink is not None else runtime.uplink_role
        family = GaugeMetricFamily("aprs_gateway_link_state", "1 for the uplink's current state", labels=["state"])
        for known in LINK_STATES:
            family.add_metric([known], 1 if known == state else 0)
        yield family
        yield GaugeMetricFamily(
            "aprs_gateway_mqtt_connected",
            "1 while this node's MQTT bridge has a session with the broker",
            value=1 if runtime.mqtt is not None and runtime.mqtt.state == "connected" else 0,
        )
        clients = len(runtime.igate_port.clients) if runtime.igate_port is not None else 0
        yield GaugeMetricFamily(
            "aprs_gateway_igate_clients", "TCP clients connected to the APRS-IS server port", value=clients
        )


LINKS = CollectorRegistry()
LINKS.register(LinkCollector())

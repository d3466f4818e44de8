"""Prometheus metrics of one daemon process (prometheus-client's default registry).

What Django and Channels code does is counted here, where it happens. The
links of the ``aprs`` protocol server know nothing of Prometheus: they keep
plain counters (protocols/aprs/link.py), which ``LinkCollector`` reads from
``runtime`` when /metrics is scraped, with the links' live state. So a
packet costs the hot path a dict increment.
"""

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Info
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
        clients = len(runtime.igate_port.clients) if runtime.igate_port is not None else 0
        yield GaugeMetricFamily(
            "aprs_gateway_igate_clients", "TCP clients connected to the APRS-IS server port", value=clients
        )


REGISTRY.register(LinkCollector())

feed_packets_stale = Counter(
    "aprs_gateway_feed_packets_stale", "Feed packets dropped as published by a leader past its lease (fencing)"
)
archive_previous_leader = Counter(
    "aprs_gateway_archive_packets_previous_leader",
    "Packets archived after a newer leader's: received by the previous leader while its lease held",
)
task_restarts = Counter("aprs_gateway_task_restarts", "Long-lived tasks restarted after a failure", ["task"])
igate_forwarded = Counter("aprs_gateway_igate_packets_forwarded", "Locally gated packets sent up to APRS-IS")
uplink_leader = Gauge("aprs_gateway_uplink_leader", "1 if this node holds the APRS-IS uplink")

build = Info("aprs_gateway_build", "The running gateway's version")
stream_clients = Gauge("aprs_gateway_stream_clients", "Open SSE streams, by stream", ["stream"])
websocket_bad_frames = Counter(
    "aprs_gateway_websocket_bad_frames", "Websocket frames refused as malformed or unknown, by endpoint", ["endpoint"]
)
websocket_clients = Gauge(
    "aprs_gateway_websocket_clients",
    "Open websocket connections, by route (SSE: aprs_gateway_stream_clients)",
    ["route"],
)
feed_frames_sent = Counter("aprs_gateway_feed_frames_sent", "Packet frames sent to feed clients")
feed_packets_sent = Counter("aprs_gateway_feed_packets_sent", "Packets sent to feed clients (copies)")
feed_packets_dropped = Counter("aprs_gateway_feed_packets_dropped", "Packets dropped for slow feed clients")
feed_packets_lost = Counter("aprs_gateway_feed_packets_lost", "Feed packets the channel layer lost before the hub")
archive_stored = Counter("aprs_gateway_archive_packets_stored", "Packets written to the archive")
archive_redelivered = Counter(
    "aprs_gateway_archive_packets_redelivered", "Archive messages the channel layer delivered again, stored once"
)
archive_dropped = Counter("aprs_gateway_archive_packets_dropped", "Packets the archive channel had no room for")
archive_lag = Gauge(
    "aprs_gateway_archive_lag_seconds", "Age of the newest packet of the archive's last batch when stored"
)
layer_send_seconds = Histogram(
    "aprs_gateway_channel_layer_send_seconds",
    "Time to hand one batch of packets to the channel layer",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
feed_batch_size = Histogram(
    "aprs_gateway_feed_batch_packets",
    "Packets per channel-layer message to the feed group",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)


def people_online():
    """Open websocket connections and SSE streams of this node: the pages people have open."""
    return int(
        sum(
            sample.value
            for gauge in (websocket_clients, stream_clients)
            for family in gauge.collect()
            for sample in family.samples
        )
    )

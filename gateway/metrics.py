"""Prometheus metrics of one daemon process (prometheus-client's default registry).

Counters are incremented where things happen; link state and queue sizes
are read when /metrics is scraped (``collect_live``), so the hot paths only
pay for a counter increment.
"""

from prometheus_client import Counter, Gauge, Histogram

LINK_STATES = ("idle", "connecting", "connected", "verified", "unverified", "disconnected", "stopped", "off")

lines_received = Counter("aprs_lines_received", "Lines received from APRS-IS (comments included)")
packets_received = Counter("aprs_packets_received", "Packet lines received from APRS-IS")
bytes_received = Counter("aprs_bytes_received", "Bytes received from APRS-IS")
parse_failures = Counter("aprs_parse_failures", "Packets aprslib could not decode, by reason", ["reason"])
oversized_lines = Counter("aprs_oversized_lines", "Lines over 512 bytes, dropped")
reconnects = Counter("aprs_reconnects", "Upstream connections that ended")
link_state = Gauge("aprs_link_state", "1 for the uplink's current state", ["state"])
igate_clients = Gauge("aprs_igate_clients", "TCP clients connected to the APRS-IS server port")
igate_accepted = Counter("aprs_igate_packets_accepted", "Packets taken from iGates on the server port")
igate_refused = Counter("aprs_igate_packets_refused", "Packets from iGates not taken, by reason", ["reason"])
igate_forwarded = Counter("aprs_igate_packets_forwarded", "Locally gated packets sent up to APRS-IS")
tnc_frames = Counter("aprs_tnc_frames", "AX.25 frames received from the KISS TNC")
tnc_bad_frames = Counter("aprs_tnc_bad_frames", "KISS/AX.25 frames from the TNC that could not be read", ["reason"])
tnc_sent = Counter("aprs_tnc_frames_sent", "Frames sent to the KISS TNC for transmission")
uplink_leader = Gauge("aprs_uplink_leader", "1 if this node holds the APRS-IS uplink")

websocket_clients = Gauge("gateway_websocket_clients", "Open websocket and SSE connections, by route", ["route"])
feed_frames_sent = Counter("feed_frames_sent", "Packet frames sent to feed clients")
feed_packets_sent = Counter("feed_packets_sent", "Packets sent to feed clients (copies)")
feed_packets_dropped = Counter("feed_packets_dropped", "Packets dropped for slow feed clients")
feed_packets_lost = Counter("feed_packets_lost", "Feed packets the channel layer lost before the hub")
archive_stored = Counter("archive_packets_stored", "Packets written to the archive")
archive_dropped = Counter("archive_packets_dropped", "Packets the archive channel had no room for")
archive_lag = Gauge("archive_lag_seconds", "Age of the newest packet of the archive's last batch when stored")
layer_send_seconds = Histogram(
    "channel_layer_send_seconds", "Time to hand one batch of packets to the channel layer",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
feed_batch_size = Histogram(
    "feed_batch_packets", "Packets per channel-layer message to the feed group",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)


def failure_reason(error):
    """A low-cardinality label: the exception name and the first words of its message."""
    kind, _, text = error.partition(": ")
    words = text.replace("'", "").split()
    return " ".join([kind, *words[:6]])[:60]


def set_link_state(state):
    for known in LINK_STATES:
        link_state.labels(known).set(1 if known == state else 0)

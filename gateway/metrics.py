"""Prometheus metrics of one process (prometheus-client's default registry): a leaf
module every layer may import, since each counts where its work happens.

The links of the ``aprs`` protocol server know nothing of Prometheus: they keep
plain counters (protocols/aprs/link.py) that gateway/daemon/link_metrics.py
reads when /metrics is scraped, so a packet costs the hot path a dict increment.
"""

from prometheus_client import Counter, Gauge, Histogram, Info

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
mqtt_packets_lost = Counter(
    "aprs_gateway_mqtt_packets_lost", "Packets the channel layer could not take to the MQTT bridge"
)
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

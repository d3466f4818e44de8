"""MQTT: packets/s the bridge publishes on one core, against a bare client in the same run.

Both publish the same corpus lines to a Mosquitto of the bench's own, and a
``mosquitto_sub`` counts what arrives; a run ends when the last message is there.
The bare client (aiomqtt) publishes each line once on ``bench/raw``. The bridge's
path starts where MQTT starts in the daemon, at the channel layer: batches of
decoded packets as ``MQTTOutput`` sends them -> ``MQTTBridgeConsumer`` (filter,
raw, packet JSON, retained station state) -> ``MQTTLink`` -> broker, three
publications a packet. Decoding is the daemon's ingest (P3), shared by every
output, so not counted here. Figures per second of this process's CPU, and wall.
"""

import asyncio
import collections
import subprocess
import tempfile
import time
from pathlib import Path

import aiomqtt
from channels.layers import get_channel_layer

from consumers.mqtt import MQTTBridgeConsumer
from gateway.feed.items import feed_item, packet_json
from gateway.names import MQTT_GROUP
from protocols.aprs.decode import decode_line
from protocols.aprs.filters import packet_facts
from protocols.mqtt.link import LinkConfig, MQTTLink
from protocols.mqtt.url import parse_broker_url
from tests.mosquitto import PASSWORD, USER, Mosquitto

BATCH = 100


def run(lines, quick=False):
    lines = lines[:2000] if quick else lines[:40000]
    batches = [decoded(lines[start : start + BATCH]) for start in range(0, len(lines), BATCH)]
    with tempfile.TemporaryDirectory() as folder:
        broker = Mosquitto(Path(folder)).start()
        try:
            bare = asyncio.run(_measure(broker, "bench/raw", len(lines), lambda: _bare(broker, lines)))
            bridge = asyncio.run(_measure(broker, "aprs/raw", len(lines), lambda: _bridge(broker, batches)))
        finally:
            broker.kill()
    return {
        "packets": len(lines),
        "bare": bare,
        "bridge": bridge,
        "ratio_cpu": bridge["packets_per_cpu_s"] / bare["packets_per_cpu_s"],
    }


async def _measure(broker, topic, count, publish):
    counter = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", USER, "-P", PASSWORD, "-t", topic]
        + ["-C", str(count)],
        stdout=subprocess.DEVNULL,
    )
    await asyncio.sleep(0.5)  # subscribed before the first message
    wall, cpu = time.perf_counter(), time.process_time()
    work = asyncio.ensure_future(publish())
    deadline = time.monotonic() + 300
    while counter.poll() is None:
        if time.monotonic() > deadline:
            counter.kill()
            raise RuntimeError(f"not all {count} messages reached {topic} in 300 s")
        await asyncio.sleep(0.005)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await work
    return {"seconds": wall, "cpu_seconds": cpu, "packets_per_s": count / wall, "packets_per_cpu_s": count / cpu}


async def _bare(broker, lines):
    async with aiomqtt.Client("127.0.0.1", broker.port, username=USER, password=PASSWORD) as client:
        for line in lines:
            await client.publish("bench/raw", line)
        await asyncio.sleep(1.0)  # paho writes what it queued


def decoded(lines):
    """A batch as MQTTOutput sends it: each packet's feed JSON and filter facts."""
    batch = []
    for raw in lines:
        event = decode_line(raw, time.time())
        facts = packet_facts(event["packet"], raw)
        facts["received"] = event["received"]
        batch.append([feed_item(event, packet_json(event["packet"])), facts])
    return batch


async def _bridge(broker, batches):
    config = LinkConfig(
        broker=parse_broker_url(broker.url), client_id="bench", status_topic="aprs/status", buffer=1_000_000
    )
    link = MQTTLink(MQTTBridgeConsumer.as_asgi(), config, collections.Counter())
    link.start()
    while link.state != "connected":
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the instance joined the group
    layer = get_channel_layer()
    for sent, batch in enumerate(batches):
        # at most 20 batches in the instance's channel: a full channel would drop the rest
        while link.counters["published"] + len(link.outgoing) < 3 * BATCH * (sent - 20):
            await asyncio.sleep(0.001)
        await layer.group_send(MQTT_GROUP, {"type": "mqtt.packets", "packets": batch})
    while link.outgoing:
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)
    await link.stop(1.0)

"""Outputs: what happens to the packets of a batch, one small class each.

``APRSConsumer`` decodes a batch once (the feed's JSON, the facts filters
need) and gives every packet to each output of ``settings.APRS_OUTPUTS``
(``collect``), then lets each hand the batch on (``flush``). An output that
holds packets past its flush (the archive gathers a second's worth) says from
which packet it holds (``holds_from``): the batch is acknowledged to the
server only below it, so a crash loses nothing it held. A new output (MQTT,
alerts) is a class here or anywhere, and a line in the setting.

Each output says how often a packet reaches what it feeds, and is built so:

- ``NODE``: once on every node. It sends to a group every node is in (each
  node's feed hub, each page's news stream), so a per-node output must not
  act outside its node: it would act once per web node.
- ``CLUSTER``: once in the cluster, whichever node took the packet in. It
  sends to a worker channel (archive, outbox: one worker takes each message)
  or to a group whose one member is the leader's uplink instance (gate-up).
  Anything with effects beyond the gateway (a post, a publication) goes here.
"""

import asyncio
import secrets
import time

from channels.exceptions import ChannelFull
from django.conf import settings
from django.utils.module_loading import import_string

from gateway import metrics
from gateway.feed.items import feed_item
from gateway.layers import LAYER_ERRORS
from gateway.names import ARCHIVE_CHANNEL, FEED_GROUP, MQTT_GROUP, NEWS_GROUP, UPLINK_GROUP
from protocols.aprs.tnc2 import info_field, message_addressee

NODE, CLUSTER = "node", "cluster"

ARCHIVE_HAND_ON = 1000
"""Packets the archive's message holds at most: what they keep from the acknowledgement
counts for the server's flow control (QUEUE_HIGH_WATER, 5,000), so well under it."""
DELIVERY_PREFIX = secrets.token_hex(8)
"""``<prefix>-<seq>`` names an archived packet in the cluster."""


def outputs_for(consumer):
    """An instance of each output of ``settings.APRS_OUTPUTS`` that is on, for ``consumer``."""
    classes = [import_string(path) for path in settings.APRS_OUTPUTS]
    return [output(consumer) for output in classes if output.enabled()]


class Output:
    runs = None  # NODE or CLUSTER: see the module's docstring

    def __init__(self, consumer):
        self.consumer = consumer

    @classmethod
    def enabled(cls):
        """Whether the settings turn this output on."""
        return True

    def collect(self, packet, facts, text):
        """One packet of the batch: the server's event, its filter facts, its feed JSON."""

    async def flush(self):
        """The batch is collected: hand it on."""

    def holds_from(self):
        """The seq of the first packet it still holds after ``flush`` (None: nothing)."""
        return None

    async def finish(self):
        """The connection ends: hand on what it holds."""


class FeedOutput(Output):
    """The live feed: every node's feed hub reads ``FEED_GROUP`` (gateway/feed/hub.py)."""

    runs = NODE

    def __init__(self, consumer):
        super().__init__(consumer)
        self.batch = []
        self.sequence = 0  # numbers this connection's packets so hubs can see losses

    def collect(self, packet, facts, text):
        self.batch.append([feed_item(packet, text), facts])

    async def flush(self):
        batch, self.batch = self.batch, []
        if not batch:
            return
        self.sequence += len(batch)
        message = {
            "type": "feed.packets",
            "origin": self.consumer.channel_name,
            "sequence": self.sequence,
            "fence": self.consumer.fence,
            "packets": batch,
        }
        started = time.perf_counter()
        try:
            await again_once(lambda: self.consumer.channel_layer.group_send(FEED_GROUP, message))
        except LAYER_ERRORS as exc:  # Redis down: count the loss, keep the uplink
            metrics.feed_packets_lost.inc(len(batch))
            self.consumer.log_loss(f"channel layer unavailable ({exc}); {len(batch)} feed packets lost")
            return
        metrics.layer_send_seconds.observe(time.perf_counter() - started)
        metrics.feed_batch_size.observe(len(batch))


class BulletinOutput(Output):
    """APRS bulletins and announcements (to BLN*) for every node's news stream."""

    runs = NODE

    def __init__(self, consumer):
        super().__init__(consumer)
        self.bulletins = []

    def collect(self, packet, facts, text):
        if info_field(packet["raw"]).startswith(b":BLN"):
            self.bulletins.append(packet)

    async def flush(self):
        bulletins, self.bulletins = self.bulletins, []
        for event in bulletins:
            packet = event["packet"]
            bulletin = {
                "type": "news.bulletin",
                "from": packet.get("from", ""),
                "to": message_addressee(event["raw"]),
                "text": packet.get("message_text") or event["text"].partition("::")[2][10:],
                "received": event["received"],
            }
            try:
                await self.consumer.channel_layer.group_send(NEWS_GROUP, bulletin)
            except LAYER_ERRORS as exc:
                self.consumer.log_loss(f"channel layer unavailable ({exc}); bulletin lost")


class MessagesOutput(Output):
    """APRS messages, acks and rejects for the outbox worker, through the connection's
    messaging hooks (consumers/aprs/messaging.py): one worker takes each."""

    runs = CLUSTER

    def __init__(self, consumer):
        super().__init__(consumer)
        self.messages = []

    def collect(self, packet, facts, text):
        if packet["packet"].get("format") == "message" and not info_field(packet["raw"]).startswith(b":BLN"):
            self.messages.append(packet)

    async def flush(self):
        messages, self.messages = self.messages, []
        for packet in messages:
            await self.consumer.message_received(packet)


class GateUpOutput(Output):
    """What a local iGate or the TNC heard (``forward``) goes up to APRS-IS, once: the
    group's one member is the leader's uplink instance (consumers/aprs/aprsis.py)."""

    runs = CLUSTER

    def __init__(self, consumer):
        super().__init__(consumer)
        self.lines = []

    def collect(self, packet, facts, text):
        if packet.get("forward"):
            self.lines.append(packet["raw"])

    async def flush(self):
        lines, self.lines = self.lines, []
        if not lines:
            return
        try:
            await self.consumer.channel_layer.group_send(UPLINK_GROUP, {"type": "uplink.gate", "lines": lines})
        except LAYER_ERRORS as exc:
            self.consumer.log_loss(f"channel layer unavailable ({exc}); gated packet not passed up")


class MQTTOutput(Output):
    """Every packet to the MQTT bridge (consumers/mqtt.py), on when ``MQTT_URL`` is set: the
    group's one member is the bridge's instance on the leading node, so each packet is
    published once in the cluster."""

    runs = CLUSTER

    def __init__(self, consumer):
        super().__init__(consumer)
        self.batch = []

    @classmethod
    def enabled(cls):
        return settings.MQTT_BROKER is not None

    def collect(self, packet, facts, text):
        self.batch.append([feed_item(packet, text), facts])

    async def flush(self):
        batch, self.batch = self.batch, []
        if not batch:
            return
        try:
            await self.consumer.channel_layer.group_send(MQTT_GROUP, {"type": "mqtt.packets", "packets": batch})
        except LAYER_ERRORS as exc:
            metrics.mqtt_packets_lost.inc(len(batch))
            self.consumer.log_loss(f"channel layer unavailable ({exc}); {len(batch)} packets not published to MQTT")


class ArchiveOutput(Output):
    """The archive worker stores every packet once (consumers/archive.py). It is in no
    hurry: packets gather here and go in one message per ``ARCHIVE_FLUSH_INTERVAL`` or
    ``ARCHIVE_HAND_ON`` packets, whichever comes first (one channels-redis message per
    packet had been 40 % of the Redis commands)."""

    runs = CLUSTER

    def __init__(self, consumer):
        super().__init__(consumer)
        self.held = []  # archive bodies not handed on yet
        self.held_from = None  # the seq of the first of them
        self.timer = None  # hands ``held`` on ARCHIVE_FLUSH_INTERVAL after its first packet

    @classmethod
    def enabled(cls):
        return settings.ARCHIVE_ENABLED

    def collect(self, packet, facts, text):
        if not self.held:
            self.held_from = packet["seq"]
            self.timer = asyncio.get_running_loop().call_later(
                settings.ARCHIVE_FLUSH_INTERVAL, lambda: asyncio.ensure_future(self.consumer.hand_on_held())
            )
        self.held.append(archive_body(packet, text))

    async def flush(self):
        if len(self.held) >= ARCHIVE_HAND_ON:
            await self.finish()

    def holds_from(self):
        return self.held_from if self.held else None

    async def finish(self):
        """What the archive has not had yet, in one message."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.held = self.held, []
        if not batch:
            return
        send = self.consumer.channel_layer.send
        try:
            await again_once(lambda: send(ARCHIVE_CHANNEL, {"type": "archive.packets", "packets": batch}))
        except ChannelFull:  # the worker is behind: count it, keep the feed going
            metrics.archive_dropped.inc(len(batch))
            self.consumer.log_loss("archive channel full (is a worker running?)")
        except LAYER_ERRORS as exc:
            metrics.archive_dropped.inc(len(batch))
            self.consumer.log_loss(f"archive channel unavailable ({exc})")


def archive_body(event, packet_text):
    """What the archive worker stores of a packet: the line's bytes, the decoded packet as
    the JSON text the feed made (cheap to copy and send, and what the database stores),
    ``delivery`` to name it, so a packet handed on twice (after a crash, or redelivered by
    channels-redis) is stored once. Not the line as text: the archive keeps the bytes, and
    every field more is copied (in memory) or serialised twice (Redis) for every packet."""
    return {
        "raw": event["raw"],
        "received": event["received"],
        "data": packet_text,
        "fence": event.get("fence"),
        "delivery": f"{DELIVERY_PREFIX}-{event['seq']}",
    }


async def again_once(send):
    """A layer send, tried a second time if it fails: once Redis is back after a restart, the
    first command on each connection the pool still holds fails ("Connection closed by server")
    and the next one gets a new connection. A Redis that is down fails both."""
    try:
        await send()
    except ChannelFull:  # the worker is behind: trying again at once changes nothing
        raise
    except LAYER_ERRORS:
        await send()

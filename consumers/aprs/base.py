"""APRSConsumer: what every ``aprs`` application does with the packets of its connection.

One instance per connection (see docs/aprs-asgi.md). It takes packets in
batches (``aprs.packets``: what waited for it, up to ``FEED_BATCH_MAX``),
turns each into the feed's JSON once, works out the facts filters need once,
and hands the batch on in one channel-layer message each to the feed group
and up to APRS-IS through the uplink's instance for packets marked
``forward`` (consumers/aprs/aprsis.py). At most one batch leaves every
``LAYER_BATCH_INTERVAL``: under load what arrives meanwhile waits in the
server and travels in the next, so Redis sees about a hundred messages a
second per connection rather than one or two per packet. ``feed.packets`` has
no consumer: each process's feed hub reads the group itself
(gateway/feed/hub.py). Bulletins go to the news stream.

The archive is in no hurry: its packets gather here and go to the archive
worker in one message per ``ARCHIVE_FLUSH_INTERVAL`` or ``ARCHIVE_HAND_ON``
packets, whichever comes first (at APRS-IS rates, every packet had been a
channels-redis message of its own, sent and received: 40 % of the Redis
commands). A batch is acknowledged (``aprs.ack``) only as far as everything
is handed on, the archive included, so the server gives a replacement
instance whatever a crash interrupted: the feed may then see again what it
saw in the last second; the archive stores each packet once.

A channel layer that cannot take a message (Redis down, a full channel) costs
the packets, counted and logged at most every ``LAYER_ERROR_LOG_INTERVAL``;
the connection and its instance go on.
"""

import asyncio
import logging
import secrets
import time

from channels.consumer import AsyncConsumer
from channels.exceptions import ChannelFull, StopConsumer
from django.conf import settings

from consumers.dispatch import NoDatabaseEvents
from consumers.patience import PatientReceive
from gateway.daemon import metrics
from gateway.feed.items import feed_item, packet_json
from gateway.feed.positions import get_recorder
from gateway.layers import LAYER_ERRORS
from gateway.names import ARCHIVE_CHANNEL, FEED_GROUP, NEWS_GROUP, UPLINK_GROUP
from protocols.aprs.filters import packet_facts
from protocols.aprs.qconstruct import traced
from protocols.aprs.tnc2 import info_field, message_addressee

LAYER_ERROR_LOG_INTERVAL = 10.0
# packets the archive's message holds at most: what they keep from the acknowledgement counts for the
# server's flow control (QUEUE_HIGH_WATER, 5,000), so well under it
ARCHIVE_HAND_ON = 1000
DELIVERY_PREFIX = secrets.token_hex(8)  # <prefix>-<seq> names an archived packet in the cluster

logger = logging.getLogger("aprs.news")


class APRSConsumer(PatientReceive, NoDatabaseEvents, AsyncConsumer):
    NO_DATABASE = frozenset({"aprs.packets", "uplink.gate"})  # the thread hop held ingest to ~1,250 packets/s
    sequence = 0  # numbers this instance's packets so hubs can see losses
    layer_errors = 0
    layer_error_logged_at = -LAYER_ERROR_LOG_INTERVAL
    via = None  # set by connections whose own packets must not be sent back to them
    fence = None  # the leader's fencing token its packets carry (uplink, TNC); None for iGates
    recorder = None  # shares the positions this node ingests (gateway/feed/positions.py), with Redis
    trace_via = None  # (the server it came from, ours): how a qAI trace grows for server-port clients
    handed_on = 0  # the seq of the last packet handed to the feed
    unarchived_from = 0  # the seq of the first packet the archive has not had, while ``unarchived`` holds any
    archive_timer = None  # hands ``unarchived`` on ARCHIVE_FLUSH_INTERVAL after its first packet

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unarchived = []  # archive bodies not handed on yet
        self.handing_on = asyncio.Lock()  # a batch and the archive's timer, one after the other

    async def aprs_connect(self, event):
        await self.send({"type": "aprs.batches", "most": settings.FEED_BATCH_MAX})
        self.recorder = get_recorder()
        try:
            await self.start_messaging()
        except LAYER_ERRORS as exc:  # the outbox asks again every second once the layer is back
            self.log_loss(f"channel layer unavailable ({exc}); the outbox does not know this connection yet")
        # an iGate's own line says it logged in (protocols/aprs/igate.py): one line per client, not two
        logger.log(
            logging.DEBUG if self.scope["source"] == "igate" else logging.INFO,
            "aprs application started for %s %s (%s, server %s)",
            self.scope["source"],
            self.scope["login"],
            "verified" if self.scope["verified"] else "unverified",
            self.scope.get("server_id") or "?",
        )

    async def aprs_packets(self, event):
        """One batch: handed on, acknowledged as far as the archive allows, then a pause so
        the next one gathers what arrives within ``LAYER_BATCH_INTERVAL``."""
        started = time.monotonic()
        async with self.handing_on:
            await self.hand_on(event["packets"])
        pause = started + settings.LAYER_BATCH_INTERVAL - time.monotonic()
        if pause > 0 and len(event["packets"]) < settings.FEED_BATCH_MAX:  # a full batch: more wait
            await asyncio.sleep(pause)

    async def hand_on(self, packets):
        feed, archived, gated = [], [], []
        archive = settings.ARCHIVE_ENABLED  # once a batch: each reading of a setting is a lookup
        for packet in packets:
            self.heard(packet)
            facts = packet_facts(packet["packet"], packet["raw"])
            if self.trace_via is not None:  # the line server-port clients get; the feed keeps the bytes
                facts["raw"] = traced(facts["raw"], *self.trace_via)
            facts["received"] = packet["received"]  # a position every node shares (SSE resume)
            if self.via:
                facts["via"] = self.via
            if self.recorder is not None:
                self.recorder.note(facts)
            text = packet_json(packet["packet"])
            feed.append([feed_item(packet, text), facts])
            if info_field(packet["raw"]).startswith(b":BLN"):
                await self.bulletin(packet)
            elif packet["packet"].get("format") == "message":
                await self.message_received(packet)
            if archive:
                archived.append(archive_body(packet, text))
            if packet.get("forward"):
                gated.append(packet["raw"])
        last = packets[-1]
        self.fence = last.get("fence")
        await self.send_feed(feed)
        if gated:
            await self.gate_up(gated)
        self.handed_on = last["seq"]
        if archived and not self.unarchived:
            self.unarchived_from = packets[0]["seq"]
            self.archive_timer = asyncio.get_running_loop().call_later(
                settings.ARCHIVE_FLUSH_INTERVAL, lambda: asyncio.ensure_future(self.hand_on_archive())
            )
        self.unarchived.extend(archived)
        if len(self.unarchived) >= ARCHIVE_HAND_ON:
            await self.send_archive()
        await self.send({"type": "aprs.ack", "seq": self.unarchived_from - 1 if self.unarchived else last["seq"]})

    async def hand_on_archive(self):
        """What the archive has not had yet, and the acknowledgement that then covers every
        packet handed on: ``ARCHIVE_FLUSH_INTERVAL`` after the first of them, or on stopping."""
        async with self.handing_on:
            if self.unarchived:
                await self.send_archive()
                await self.send({"type": "aprs.ack", "seq": self.handed_on})

    def heard(self, event):
        """Hook: a packet this connection received (the iGate's application notes its source)."""

    async def send_feed(self, batch):
        self.sequence += len(batch)
        message = {
            "type": "feed.packets",
            "origin": self.channel_name,
            "sequence": self.sequence,
            "fence": self.fence,
            "packets": batch,
        }
        started = time.perf_counter()
        try:
            await again_once(lambda: self.channel_layer.group_send(FEED_GROUP, message))
        except LAYER_ERRORS as exc:  # Redis down: count the loss, keep the uplink
            metrics.feed_packets_lost.inc(len(batch))
            self.log_loss(f"channel layer unavailable ({exc}); {len(batch)} feed packets lost")
            return
        metrics.layer_send_seconds.observe(time.perf_counter() - started)
        metrics.feed_batch_size.observe(len(batch))

    async def bulletin(self, event):
        """APRS bulletins and announcements (to BLN*) for the news stream."""
        packet = event["packet"]
        try:
            await self.channel_layer.group_send(
                NEWS_GROUP,
                {
                    "type": "news.bulletin",
                    "from": packet.get("from", ""),
                    "to": message_addressee(event["raw"]),
                    "text": packet.get("message_text") or event["text"].partition("::")[2][10:],
                    "received": event["received"],
                },
            )
        except LAYER_ERRORS as exc:
            self.log_loss(f"channel layer unavailable ({exc}); bulletin lost")

    async def send_archive(self):
        """What the archive has not had yet, in one message."""
        if self.archive_timer is not None:
            self.archive_timer.cancel()
            self.archive_timer = None
        batch, self.unarchived = self.unarchived, []
        try:
            await again_once(
                lambda: self.channel_layer.send(ARCHIVE_CHANNEL, {"type": "archive.packets", "packets": batch})
            )
        except ChannelFull:  # the worker is behind: count it, keep the feed going
            metrics.archive_dropped.inc(len(batch))
            self.log_loss("archive channel full (is a worker running?)")
        except LAYER_ERRORS as exc:
            metrics.archive_dropped.inc(len(batch))
            self.log_loss(f"archive channel unavailable ({exc})")

    async def gate_up(self, lines):
        """What a local iGate or the TNC heard goes up to APRS-IS, once, through the uplink."""
        try:
            await self.channel_layer.group_send(UPLINK_GROUP, {"type": "uplink.gate", "lines": lines})
        except LAYER_ERRORS as exc:
            self.log_loss(f"channel layer unavailable ({exc}); gated packet not passed up")

    def log_loss(self, what):
        """At most one error line per LAYER_ERROR_LOG_INTERVAL, with the running count."""
        self.layer_errors += 1
        now = time.monotonic()
        if now - self.layer_error_logged_at >= LAYER_ERROR_LOG_INTERVAL:
            self.layer_error_logged_at = now
            logger.error("%s: %d losses so far", what, self.layer_errors)

    async def aprs_disconnect(self, event):
        logger.log(
            logging.DEBUG if self.scope["source"] == "igate" else logging.INFO,
            "aprs application stopping: %s",
            event.get("reason", ""),
        )
        await self.hand_on_archive()
        try:
            await self.stop_messaging()
        except LAYER_ERRORS as exc:  # the layer may be what failed
            logger.warning("could not tell the outbox this connection is gone: %s", exc)
        raise StopConsumer()

    # --- hooks of the messaging mixin (consumers/aprs/messaging.py) -----------------
    async def start_messaging(self):
        pass

    async def stop_messaging(self):
        pass

    async def message_received(self, event):
        pass


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

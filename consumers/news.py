"""APRSNewsConsumer: the ``aprs`` protocol's application for the APRS-IS uplink,
and the base of the iGate and TNC ones (consumers/igate.py, consumers/tnc.py).

One instance per connection (see docs/aprs-asgi.md). It turns each
``aprs.packet`` into the feed's JSON once, works out the facts filters need
once, and sends both to the feed group. Packets that arrive while a send is
in flight go together in the next one: at low rates each packet travels at
once, at high rates a layer message carries up to ``FEED_BATCH_MAX`` of them,
so Redis sees a few messages per second per node rather than one per packet.
"""

import asyncio
import base64
import json
import logging
import time

from channels.consumer import AsyncConsumer
from channels.exceptions import ChannelFull, StopConsumer
from django.conf import settings

from consumers.archive import ARCHIVE_CHANNEL
from consumers.dispatch import NoDatabaseEvents
from consumers.outbox import OUTBOX_CHANNEL, TRANSMIT_GROUP, UPLINK_GROUP
from gateway import metrics
from gateway.filters import packet_facts
from gateway.hub import FEED_GROUP
from protocols.aprs.decode import message_addressee

NEWS_GROUP = "aprs-news"

LAYER_ERROR_LOG_INTERVAL = 10.0

logger = logging.getLogger("aprs.news")


def feed_item(event):
    """The JSON one packet takes in every feed frame (a str, made once)."""
    item = {"received": event["received"], "text": event["text"], "packet": event["packet"]}
    if event["text"].encode("utf-8") != event["raw"]:
        # Not valid UTF-8: the display text is lossy, so carry the bytes too.
        item["raw_b64"] = base64.b64encode(event["raw"]).decode("ascii")
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


class APRSNewsConsumer(NoDatabaseEvents, AsyncConsumer):
    NO_DATABASE = frozenset({"aprs.packet", "uplink.gate"})  # the thread hop held ingest to ~1,250 packets/s
    sequence = 0  # numbers this instance's packets so hubs can see losses
    layer_errors = 0
    layer_error_logged_at = -LAYER_ERROR_LOG_INTERVAL
    sender = None  # the task sending batches to the feed group, while there are any
    via = None  # set by connections whose own packets must not be sent back to them

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch = []  # [json, facts] pairs waiting for the feed group

    async def aprs_connect(self, event):
        if self.scope["source"] == "aprs-is":
            await self.channel_layer.group_add(UPLINK_GROUP, self.channel_name)
        await self.channel_layer.group_add(TRANSMIT_GROUP, self.channel_name)
        await self.announce(self.scope["verified"])
        logger.info(
            "aprs application started for %s %s (%s, server %s)",
            self.scope["source"], self.scope["login"],
            "verified" if self.scope["verified"] else "unverified",
            self.scope.get("server_id") or "?",
        )

    async def aprs_packet(self, event):
        facts = packet_facts(event["packet"], event["raw"])
        if self.via:
            facts["via"] = self.via
        self.batch.append([feed_item(event), facts])
        if self.sender is None:
            self.sender = asyncio.ensure_future(self.send_batches())
        elif len(self.batch) >= settings.FEED_BATCH_MAX:
            await asyncio.shield(self.sender)  # the layer is behind: so is the uplink
        if event["raw"].partition(b":")[2].startswith(b":BLN"):
            await self.bulletin(event)
        elif event["packet"].get("format") == "message":
            await self.handle_message(event)
        if settings.ARCHIVE_ENABLED:
            await self.archive(event)
        if event.get("forward"):
            await self.gate_up(event["raw"])

    async def send_batches(self):
        """Send what waits, one layer message per batch, until nothing does."""
        try:
            while self.batch:
                batch, self.batch = self.batch[:settings.FEED_BATCH_MAX], self.batch[settings.FEED_BATCH_MAX:]
                self.sequence += len(batch)
                message = {"type": "feed.packets", "origin": self.channel_name,
                           "sequence": self.sequence, "packets": batch}
                started = time.perf_counter()
                try:
                    await self.channel_layer.group_send(FEED_GROUP, message)
                except Exception as exc:  # Redis down: count the loss, keep the uplink
                    self.layer_lost(exc, len(batch))
                    continue
                metrics.layer_send_seconds.observe(time.perf_counter() - started)
                metrics.feed_batch_size.observe(len(batch))
        finally:
            self.sender = None

    async def bulletin(self, event):
        """APRS bulletins and announcements (to BLN*) for the news stream."""
        packet = event["packet"]
        try:
            await self.channel_layer.group_send(NEWS_GROUP, {
                "type": "news.bulletin", "from": packet.get("from", ""),
                "to": message_addressee(event["raw"]),
                "text": packet.get("message_text") or event["text"].partition("::")[2][10:],
                "received": event["received"],
            })
        except Exception as exc:
            self.log_loss(f"channel layer unavailable ({exc}); bulletin lost")

    async def archive(self, event):
        body = {key: event[key] for key in ("raw", "text", "received", "packet")}
        try:
            await self.channel_layer.send(ARCHIVE_CHANNEL, {"type": "archive.packet", **body})
        except ChannelFull:  # the worker is behind: count it, keep the feed going
            metrics.archive_dropped.inc()
            self.log_loss("archive channel full (is a worker running?)")
        except Exception as exc:
            metrics.archive_dropped.inc()
            self.log_loss(f"archive channel unavailable ({exc})")

    def layer_lost(self, exc, count):
        metrics.feed_packets_lost.inc(count)
        self.log_loss(f"channel layer unavailable ({exc}); {count} feed packets lost")

    def log_loss(self, what):
        """At most one error line per LAYER_ERROR_LOG_INTERVAL, with the running count."""
        self.layer_errors += 1
        now = time.monotonic()
        if now - self.layer_error_logged_at >= LAYER_ERROR_LOG_INTERVAL:
            self.layer_error_logged_at = now
            logger.error("%s: %d losses so far", what, self.layer_errors)

    async def aprs_disconnect(self, event):
        logger.info("aprs application stopping: %s", event.get("reason", ""))
        if self.sender is not None:
            await self.sender  # what was received is delivered
        try:
            await self.announce(False)
            await self.channel_layer.group_discard(UPLINK_GROUP, self.channel_name)
            await self.channel_layer.group_discard(TRANSMIT_GROUP, self.channel_name)
        except Exception as exc:  # the layer may be what failed
            logger.warning("could not tell the outbox the uplink is gone: %s", exc)
        raise StopConsumer()

    # --- gating: what local iGates and the TNC hear goes up to APRS-IS, once ---------
    async def gate_up(self, line):
        try:
            await self.channel_layer.group_send(UPLINK_GROUP, {"type": "uplink.gate", "line": line})
        except Exception as exc:
            self.log_loss(f"channel layer unavailable ({exc}); gated packet not passed up")

    async def uplink_gate(self, event):
        """A packet a local iGate or the TNC heard: only the uplink's instance gets these."""
        if self.scope["verified"]:
            await self.send({"type": "aprs.send", "line": event["line"]})
            metrics.igate_forwarded.inc()

    # --- APRS messaging (the outbox worker transmits through here) ------------------
    async def announce(self, can_send):
        await self.channel_layer.send(OUTBOX_CHANNEL, {"type": "outbox.transmitter", "can_send": can_send,
                                                       "channel": self.channel_name})

    async def transmitter_query(self, event):
        await self.announce(self.scope["verified"])

    async def uplink_send(self, event):
        await self.send({"type": "aprs.send", "line": event["line"]})  # refused unless verified

    async def handle_message(self, event):
        """Acks and rejects go to the outbox; messages to our login get an ack."""
        packet = event["packet"]
        addressee = (packet.get("addresse") or "").strip().upper()
        if packet.get("response") in ("ack", "rej") and packet.get("msgNo"):
            await self.channel_layer.send(OUTBOX_CHANNEL, {
                "type": "outbox.reply", "source": addressee, "destination": packet.get("from", "").upper(),
                "msgno": packet["msgNo"], "accepted": packet["response"] == "ack"})
        elif (self.scope["source"] == "aprs-is" and addressee == self.scope["login"].upper()
              and packet.get("msgNo") and self.scope["verified"]):
            line = f"{self.scope['login']}>APRS,TCPIP*::{packet['from']:<9}:ack{packet['msgNo']}"
            await self.send({"type": "aprs.send", "line": line.encode("ascii", "replace")})

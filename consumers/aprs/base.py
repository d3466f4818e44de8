"""APRSConsumer: what every ``aprs`` application does with the packets of its connection.

One instance per connection (see docs/aprs-asgi.md). It takes packets in
batches (``aprs.packets``: what waited for it, up to ``FEED_BATCH_MAX``),
turns each into the feed's JSON once, works out the facts filters need once,
and gives the batch to its outputs (consumers/aprs/outputs.py: the feed, the
news stream's bulletins, messages for the outbox, gate-up, the archive, and
what ``APRS_OUTPUTS`` adds). At most one batch leaves every
``LAYER_BATCH_INTERVAL``: under load what arrives meanwhile waits in the
server and travels in the next, so Redis sees about a hundred messages a
second per connection rather than one or two per packet.

A batch is acknowledged (``aprs.ack``) only as far as every output handed it
on (the archive holds up to a second's worth), so the server gives a
replacement instance whatever a crash interrupted: the feed may then see
again what it saw in the last second; the archive stores each packet once.

A channel layer that cannot take a message (Redis down, a full channel) costs
the packets, counted and logged at most every ``LAYER_ERROR_LOG_INTERVAL``;
the connection and its instance go on.
"""

import asyncio
import logging
import time

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings

from consumers.aprs.outputs import outputs_for
from consumers.dispatch import NoDatabaseEvents
from consumers.patience import PatientReceive
from gateway.feed.items import packet_json
from gateway.feed.positions import get_recorder
from gateway.layers import LAYER_ERRORS
from protocols.aprs.filters import packet_facts
from protocols.aprs.qconstruct import traced

LAYER_ERROR_LOG_INTERVAL = 10.0

logger = logging.getLogger("aprs.news")


class APRSConsumer(PatientReceive, NoDatabaseEvents, AsyncConsumer):
    NO_DATABASE = frozenset({"aprs.packets", "uplink.gate"})  # the thread hop held ingest to ~1,250 packets/s
    layer_errors = 0
    layer_error_logged_at = -LAYER_ERROR_LOG_INTERVAL
    via = None  # set by connections whose own packets must not be sent back to them
    fence = None  # the leader's fencing token its packets carry (uplink, TNC); None for iGates
    recorder = None  # shares the positions this node ingests (gateway/feed/positions.py), with Redis
    trace_via = None  # (the server it came from, ours): how a qAI trace grows for server-port clients
    handed_on = 0  # the seq of the last packet handed to the outputs

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outputs = outputs_for(self)
        self.handing_on = asyncio.Lock()  # a batch and the outputs' timers, one after the other

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
        """Each packet decoded once, given to every output; then each output hands the batch
        on, and the batch is acknowledged below the first packet an output still holds."""
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
            for output in self.outputs:
                output.collect(packet, facts, text)
        self.fence = packets[-1].get("fence")
        for output in self.outputs:
            await output.flush()
        self.handed_on = packets[-1]["seq"]
        await self.acknowledge()

    async def acknowledge(self):
        held = [seq for output in self.outputs if (seq := output.holds_from()) is not None]
        await self.send({"type": "aprs.ack", "seq": min(held) - 1 if held else self.handed_on})

    async def hand_on_held(self):
        """What outputs still hold (the archive's batch), and the acknowledgement that then
        covers every packet handed on: ``ARCHIVE_FLUSH_INTERVAL`` after the first of them, or
        on stopping."""
        async with self.handing_on:
            if any(output.holds_from() is not None for output in self.outputs):
                for output in self.outputs:
                    await output.finish()
                await self.acknowledge()

    def heard(self, event):
        """Hook: a packet this connection received (the iGate's application notes its source)."""

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
        await self.hand_on_held()
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

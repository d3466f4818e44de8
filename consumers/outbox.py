"""OutboxConsumer: the ``aprs-outbox`` worker channel: web users' APRS messages, both ways.

Out (gateway/outbox.py): it sends due messages to every ``aprs`` application
instance of the cluster (``transmitter.send`` on ``aprs-transmitters``); those
that may transmit (the verified APRS-IS uplink, iGates on our server port, a
KISS TNC with transmitting on) and reach the addressee send it and say so
(``outbox.sent``: consumers/aprs/messaging.py). A message nobody sent within
``OUTBOX_ROUTE_WAIT`` is ``no_route``; ``outbox.reply`` settles the others.

In (gateway/inbox.py): ``outbox.incoming`` is a message heard for some
callsign; for a web user's it is stored once, acked on the user's behalf every
time it is heard, and shown (``inbox.message``). A message from one web user
to another never leaves the gateway: it is delivered and acked here. It keeps the uplink's
server-side filter asking for web users' messages (``uplink.recipients``).

Every change goes to the user's connections (``outbox.state``, ``inbox.message``).
"""

import asyncio
import logging
import time

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.conf import settings

from consumers.patience import PatientReceive
from gateway import inbox, outbox
from gateway.layers import LAYER_ERRORS
from gateway.names import TRANSMIT_GROUP, UPLINK_GROUP, user_group

TICK = 1.0
RECIPIENTS_REFRESH = 30.0
"""Seconds between reads of who may receive messages (verified callsigns)."""

logger = logging.getLogger("gateway.outbox")


class OutboxConsumer(PatientReceive, AsyncConsumer):
    ticker = None
    layer_down = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.awaiting_route = {}  # message id -> monotonic time by which a transmitter must have sent it
        self.recipients = {}  # verified callsign -> user id
        self.recipients_read_at = float("-inf")

    async def dispatch(self, message):
        """Whatever the first event (``worker.start`` in the daemon, any under ``runworker``),
        the retries start ticking with it."""
        self.start_ticking()
        await super().dispatch(message)

    async def worker_start(self, event):
        """The daemon starts its workers at once: retries due since a restart are made."""
        await self.send_due()

    async def worker_stop(self, event):
        """The daemon is stopping: every message's state is in the database already."""
        if self.ticker is not None:
            self.ticker.cancel()
        raise StopConsumer()

    async def outbox_wake(self, event):
        await self.send_due()

    async def outbox_reply(self, event):
        message = await database_sync_to_async(outbox.answered)(
            event["source"], event["destination"], event["msgno"], event["accepted"]
        )
        if message is not None:
            await self.notify(message)

    async def outbox_sent(self, event):
        """A transmitter put a message on its part of the network."""
        message = await database_sync_to_async(outbox.routed)(event["id"])
        if message is not None:
            await self.notify(message)

    async def outbox_incoming(self, event):
        """A message heard for ``destination``: a web user's is acked, stored once, shown."""
        await self.refresh_recipients()
        user_id = self.recipients.get(event["destination"])
        if user_id is None:
            return
        if event["msgno"]:  # acked every time: the station repeats it until an ack gets through
            ack = f"{event['destination']}>APRS,TCPIP*::{event['source']:<9}:ack{event['msgno']}"
            await self.transmit(ack.encode("ascii", "replace"))
        if event.get("reply_ack"):  # APRS 1.1: "{MM}AA" acks our message AA as well
            reply = {"source": event["destination"], "destination": event["source"], "msgno": event["reply_ack"]}
            await self.outbox_reply({**reply, "accepted": True})
        await self.keep_for(
            user_id,
            event["source"],
            event["destination"],
            event["text"],
            event["msgno"],
            event.get("reply_acks", False),
        )

    async def keep_for(self, user_id, *message):
        """Store a message for a user (gateway/inbox.py) and show it, unless it is a repeat."""
        stored = await database_sync_to_async(inbox.receive)(user_id, *message)
        if stored is not None:
            await self.channel_layer.group_send(
                user_group(user_id), {"type": "inbox.message", "message": inbox.payload(stored)}
            )

    async def outbox_recipients(self, event):
        """The uplink (re)connected and asks whose messages to ask APRS-IS for."""
        await self.refresh_recipients(force=True, announce=True)

    async def refresh_recipients(self, force=False, announce=False):
        if not force and time.monotonic() - self.recipients_read_at < RECIPIENTS_REFRESH:
            return
        self.recipients_read_at = time.monotonic()
        fresh = await database_sync_to_async(inbox.recipients)()
        if fresh != self.recipients or announce:
            self.recipients = fresh
            await self.channel_layer.group_send(UPLINK_GROUP, {"type": "uplink.recipients", "callsigns": sorted(fresh)})

    def start_ticking(self):
        if self.ticker is None:
            self.ticker = asyncio.ensure_future(self.tick())

    async def tick(self):
        """Retries come due with time, not with events; a layer outage skips a tick."""
        while True:
            await asyncio.sleep(TICK)
            try:
                await self.send_due()
                await self.settle_unrouted()
                await self.refresh_recipients()
                self.layer_down = False
            except LAYER_ERRORS as exc:
                if not self.layer_down:
                    logger.warning("outbox: channel layer unavailable (%s); trying every %g s", exc, TICK)
                self.layer_down = True

    async def send_due(self):
        await self.refresh_recipients()
        for message in await database_sync_to_async(outbox.due)():
            if message.destination in self.recipients:
                await self.deliver_here(message)
                continue
            if await database_sync_to_async(outbox.transmitted)(message):
                if message.state == message.QUEUED:
                    self.awaiting_route.setdefault(message.pk, time.monotonic() + settings.OUTBOX_ROUTE_WAIT)
                await self.transmit(message.line, message.pk)
            await self.notify(message)

    async def deliver_here(self, message):
        """A message from one web user to another: delivered (and acked) on this gateway."""
        user_id = self.recipients[message.destination]
        await self.keep_for(user_id, message.source, message.destination, message.text, message.msgno, False)
        await self.notify(await database_sync_to_async(outbox.delivered_here)(message))

    async def transmit(self, line, message_id=None):
        """To every aprs instance; with ``message_id``, each that sends it says so (``outbox.sent``)."""
        await self.channel_layer.group_send(
            TRANSMIT_GROUP, {"type": "transmitter.send", "line": line, "id": message_id}
        )

    async def settle_unrouted(self):
        """A message no transmitter took within ``OUTBOX_ROUTE_WAIT``: ``no_route``, honestly."""
        now = time.monotonic()
        for pk, deadline in list(self.awaiting_route.items()):
            if now >= deadline:
                del self.awaiting_route[pk]
                message = await database_sync_to_async(outbox.unrouted)(pk)
                if message is not None:
                    await self.notify(message)

    async def notify(self, message):
        await self.channel_layer.group_send(
            user_group(message.user_id), {"type": "outbox.state", "message": outbox.state_payload(message)}
        )

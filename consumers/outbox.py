"""OutboxConsumer: the ``aprs-outbox`` worker channel (see gateway/outbox.py).

It learns which application instances can transmit (the verified APRS-IS
uplink, verified iGates on our server port, a KISS TNC with transmitting on:
each announces itself, and answers when asked on the ``aprs-transmitters``
group), sends due messages to all of them as ``transmitter.send`` (each
decides whether the message is for its part of the network:
consumers/aprs/messaging.py), and settles them on ``outbox.reply``. Every state change goes to the sender's connections
(``outbox.state``).
"""

import asyncio
import logging

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async

from consumers.patience import PatientReceive
from gateway import outbox
from gateway.layers import LAYER_ERRORS
from gateway.names import TRANSMIT_GROUP, user_group

TICK = 1.0

logger = logging.getLogger("gateway.outbox")


class OutboxConsumer(PatientReceive, AsyncConsumer):
    ticker = None
    layer_down = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.transmitters = set()  # channels of application instances that can send

    async def outbox_wake(self, event):
        self.start_ticking()
        await self.send_due()

    async def outbox_transmitter(self, event):
        self.start_ticking()
        if event["can_send"]:
            self.transmitters.add(event["channel"])
        else:
            self.transmitters.discard(event["channel"])
        await self.send_due()

    async def outbox_reply(self, event):
        message = await database_sync_to_async(outbox.answered)(
            event["source"], event["destination"], event["msgno"], event["accepted"]
        )
        if message is not None:
            await self.notify(message)

    def start_ticking(self):
        if self.ticker is None:
            self.ticker = asyncio.ensure_future(self.tick())

    async def tick(self):
        """Retries come due with time, not with events; a layer outage skips a tick."""
        while True:
            await asyncio.sleep(TICK)
            try:
                if not self.transmitters:
                    await self.channel_layer.group_send(TRANSMIT_GROUP, {"type": "transmitter.query"})
                await self.send_due()
                self.layer_down = False
            except LAYER_ERRORS as exc:
                if not self.layer_down:
                    logger.warning("outbox: channel layer unavailable (%s); trying every %g s", exc, TICK)
                self.layer_down = True

    async def send_due(self):
        if not self.transmitters:
            return  # nowhere to send: messages wait queued
        for message in await database_sync_to_async(outbox.due)():
            if await database_sync_to_async(outbox.transmitted)(message):
                for channel in self.transmitters:
                    await self.channel_layer.send(channel, {"type": "transmitter.send", "line": message.line})
            await self.notify(message)

    async def notify(self, message):
        await self.channel_layer.group_send(
            user_group(message.user_id), {"type": "outbox.state", "message": outbox.state_payload(message)}
        )

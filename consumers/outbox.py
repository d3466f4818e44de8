"""OutboxConsumer: the ``aprs-outbox`` worker channel (see gateway/outbox.py).

It learns which application instance holds a verified uplink (APRSNewsConsumer
announces itself, and answers when asked on the ``aprs-uplink`` group), sends
due messages there as ``uplink.send``, and settles them on ``outbox.reply``.
Every state change goes to the sender's connections (``outbox.state``).
"""

import asyncio

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async

from gateway import outbox

OUTBOX_CHANNEL = "aprs-outbox"
UPLINK_GROUP = "aprs-uplink"
TICK = 1.0


class OutboxConsumer(AsyncConsumer):
    uplink = None  # channel of the application holding a verified uplink
    ticker = None

    async def outbox_wake(self, event):
        self.start_ticking()
        await self.send_due()

    async def outbox_uplink(self, event):
        self.start_ticking()
        if event["verified"]:
            self.uplink = event["channel"]
        elif self.uplink == event["channel"]:
            self.uplink = None
        await self.send_due()

    async def outbox_reply(self, event):
        message = await database_sync_to_async(outbox.answered)(
            event["source"], event["destination"], event["msgno"], event["accepted"])
        if message is not None:
            await self.notify(message)

    def start_ticking(self):
        if self.ticker is None:
            self.ticker = asyncio.ensure_future(self.tick())

    async def tick(self):
        """Retries come due with time, not with events."""
        while True:
            await asyncio.sleep(TICK)
            if self.uplink is None:
                await self.channel_layer.group_send(UPLINK_GROUP, {"type": "uplink.query"})
            await self.send_due()

    async def send_due(self):
        if self.uplink is None:
            return  # nothing goes out without a verified login; messages wait queued
        for message in await database_sync_to_async(outbox.due)():
            if await database_sync_to_async(outbox.transmitted)(message):
                await self.channel_layer.send(self.uplink, {"type": "uplink.send", "line": message.line})
            await self.notify(message)

    async def notify(self, message):
        await self.channel_layer.group_send(f"chat-user-{message.user_id}",
                                            {"type": "outbox.state", "message": outbox.state_payload(message)})

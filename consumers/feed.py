"""The live APRS feed at ``ws/aprs/``: filtered packets for web clients.

Client frames (JSON text): ``{"type": "subscribe", "filter": "r/.. t/.."}``
and ``{"type": "unsubscribe"}``. Server frames: ``hello``, ``subscribed``,
``unsubscribed``, ``packets`` and ``error``; docs/feed.md lists them. A bad
frame gets an ``error`` frame and the connection stays open; after
``MAX_BAD_FRAMES`` of them the server closes it with code 1008.
"""

import json
import logging
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

from gateway.filters import FilterError, parse_filter
from gateway.hub import Subscription, get_hub

logger = logging.getLogger("gateway.feed")

MAX_FRAME = 4096
MAX_BAD_FRAMES = 20
BACKLOG_EXTENSION = "aprs-gateway.send_backlog"


class APRSFeedConsumer(AsyncWebsocketConsumer):
    subscription = None
    bad_frames = 0

    async def connect(self):
        await self.accept()
        await self.send_json({"type": "hello", "max_frame": MAX_FRAME})
        query = parse_qs(self.scope.get("query_string", b"").decode("ascii", "replace"))
        if "filter" in query:
            await self.subscribe(query["filter"][0])

    async def disconnect(self, code):
        self.unsubscribe()

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            return await self.refuse("binary frames are not accepted; send JSON text")
        if len(text_data.encode("utf-8")) > MAX_FRAME:
            return await self.refuse(f"frame larger than {MAX_FRAME} bytes")
        try:
            message = json.loads(text_data)
        except ValueError as exc:
            return await self.refuse(f"bad JSON: {exc}")
        if not isinstance(message, dict):
            return await self.refuse("a frame must be a JSON object with a 'type'")
        kind = message.get("type")
        if kind == "subscribe":
            await self.subscribe(message.get("filter", ""))
        elif kind == "unsubscribe":
            self.unsubscribe()
            await self.send_json({"type": "unsubscribed"})
        else:
            await self.refuse(f"unknown type {kind!r}; expected subscribe or unsubscribe")

    async def subscribe(self, text):
        try:
            packet_filter = parse_filter(text)
        except FilterError as exc:
            return await self.refuse(f"invalid filter: {exc}", filter=text)
        self.unsubscribe()
        backlog = self.scope.get("extensions", {}).get(BACKLOG_EXTENSION, {}).get("bytes")
        self.subscription = Subscription(self.send, packet_filter, backlog=backlog)
        get_hub().subscribe(self.subscription)
        await self.send_json({"type": "subscribed", "filter": packet_filter.text})

    def unsubscribe(self):
        if self.subscription is not None:
            get_hub().unsubscribe(self.subscription)
            self.subscription = None

    async def refuse(self, reason, **extra):
        self.bad_frames += 1
        await self.send_json({"type": "error", "reason": reason, **extra})
        if self.bad_frames >= MAX_BAD_FRAMES:
            logger.warning("closing a feed client after %d bad frames", self.bad_frames)
            await self.close(code=1008)

    async def send_json(self, content):
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

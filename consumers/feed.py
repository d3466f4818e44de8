"""The live APRS feed at ``ws/aprs/``: filtered packets for web clients.

Client frames (JSON text): ``{"type": "subscribe", "filter": "r/.. t/..",
"recent": N}`` and ``{"type": "unsubscribe"}``; ``recent`` asks for up to N
packets the node already holds that pass the filter, so a map starts full.
Server frames: ``hello``, ``subscribed``, ``unsubscribed``, ``packets`` and
``error``; docs/feed.md lists them. A bad
frame gets an ``error`` frame and the connection stays open; after
``MAX_BAD_FRAMES`` of them the server closes it with code 1008.
"""

import logging
import time
from typing import Literal
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext

from consumers.frames import (
    MAX_FRAME,
    POLICY_VIOLATION,
    BadFrames,
    Frame,
    FrameError,
    FrameSchema,
    Value,
    close_for_policy,
)
from consumers.language import InTheirLanguage
from gateway import metrics
from gateway.feed.hub import get_hub
from gateway.feed.subscriptions import Subscription
from gateway.feed.wsframe import dumps
from gateway.names import BACKLOG_EXTENSION, FRAME_EXTENSION
from protocols.aprs.filters import FilterError, parse_filter

logger = logging.getLogger("gateway.feed")


class Subscribe(Frame):
    type: Literal["subscribe"]
    filter: Value = ""  # read by parse_filter, which names what is wrong
    recent: Value = 0  # checked by subscribe(): its own error code


class Unsubscribe(Frame):
    type: Literal["unsubscribe"]


FRAMES = FrameSchema(Subscribe, Unsubscribe)


class APRSFeedConsumer(InTheirLanguage, AsyncWebsocketConsumer):
    # Packets come from the process's hub, never from the channel layer: no
    # per-client inbox, no Redis connection per client, and a Redis restart
    # does not cut feed clients off.
    channel_layer_alias = None
    subscription = None
    counted = None

    async def connect(self):
        self.bad_frames = BadFrames("feed")
        await self.accept()
        self.counted = metrics.websocket_clients.labels("feed")
        self.counted.inc()
        await self.send_json({"type": "hello", "max_frame": MAX_FRAME})
        query = parse_qs(self.scope.get("query_string", b"").decode("ascii", "replace"))
        if "filter" in query:
            await self.subscribe(query["filter"][0])

    async def disconnect(self, code):
        self.unsubscribe()
        if self.counted:
            self.counted.dec()

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = FRAMES.parse(text_data, bytes_data)
        except FrameError as exc:
            return await self.refuse("bad_frame", str(exc))
        if frame.type == "subscribe":
            await self.subscribe(frame.filter, frame.recent)
        else:
            self.unsubscribe()
            await self.send_json({"type": "unsubscribed"})

    async def subscribe(self, text, recent=0):
        """As on the server port, the parts of a filter that can be read apply and the
        others are named in ``errors`` of the ``subscribed`` frame; a filter with no
        part that can be read is refused."""
        hub = get_hub()
        try:
            packet_filter = parse_filter(text, known=hub, lenient=True)
        except FilterError as exc:
            return await self.refuse("invalid_filter", invalid(said(exc)), filter=text)
        if packet_filter.errors and not packet_filter.text:
            reasons = "; ".join(said(error) for error in packet_filter.errors)
            return await self.refuse("invalid_filter", invalid(reasons), filter=text)
        if type(recent) is not int or not 0 <= recent <= settings.FEED_CLIENT_BUFFER:
            reason = gettext("recent: a whole number from 0 to %(most)s") % {"most": settings.FEED_CLIENT_BUFFER}
            return await self.refuse("bad_recent", reason)
        self.unsubscribe()
        extensions = self.scope.get("extensions", {})
        self.subscription = Subscription(
            self.send,
            packet_filter,
            backlog=extensions.get(BACKLOG_EXTENSION, {}).get("bytes"),
            write_frame=extensions.get(FRAME_EXTENSION, {}).get("write"),
        )
        await hub.until_joined()
        # No await from here to "subscribed": it goes out before the hub's first
        # flush, and nothing arriving after it is missed. The held packets go
        # first through the same buffer as live ones: in order, none twice,
        # under the same slow-client rule.
        hub.subscribe(self.subscription, recent)
        await self.send_json(
            {
                "type": "subscribed",
                "filter": packet_filter.text,
                "errors": [said(error) for error in packet_filter.errors],
                "at": time.time(),
            }
        )

    def unsubscribe(self):
        if self.subscription is not None:
            get_hub().unsubscribe(self.subscription)
            self.subscription = None

    async def refuse(self, code, reason, **extra):
        await self.send_json({"type": "error", "code": code, "reason": reason, **extra})
        if self.bad_frames.refused(reason):
            logger.warning("closing a feed client after %d bad frames", self.bad_frames.count)
            if not close_for_policy(self.scope):
                await self.close(code=POLICY_VIOLATION)

    async def send_json(self, content):
        await self.send(text_data=dumps(content))


def said(error):
    """A filter error in the client's language: protocols/ marks its words for our catalogues (FilterError)."""
    return gettext(error.template) % error.params


def invalid(reasons):
    return gettext("invalid filter: %(reason)s") % {"reason": reasons}

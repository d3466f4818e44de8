"""HTTP streams for clients that cannot keep a websocket: Server-Sent Events and long-poll.

``notifications/<stream>/`` streams ``packets`` (with the feed's ``filter``),
``news`` (APRS bulletins, ``BLN*``) or ``chat`` (the public lobby) as SSE.
``longpoll/`` answers the packets after a cursor, waiting up to ``timeout``
seconds for some. docs/api.md describes both.

Channels' AsyncHttpConsumer dispatches nothing else while ``handle()`` runs,
so a stream runs entirely inside ``handle()``: it reads its own channel (not
the consumer's inbox, hence ``channel_layer_alias = None``) and the client's
ASGI events itself, and cleans up in ``disconnect()``.
"""

import asyncio
from urllib.parse import parse_qs

from channels.generic.http import AsyncHttpConsumer
from channels.layers import get_channel_layer

from consumers.frames import dumps
from gateway.daemon import metrics
from gateway.feed.hub import get_hub
from gateway.feed.subscriptions import Subscription
from gateway.models import LOBBY
from gateway.names import NEWS_GROUP, room_group
from protocols.aprs.filters import FilterError, parse_filter

KEEPALIVE = 15.0
MAX_LONGPOLL = 60.0
SSE_HEADERS = [
    (b"Content-Type", b"text/event-stream; charset=utf-8"),
    (b"Cache-Control", b"no-cache"),
    (b"X-Accel-Buffering", b"no"),  # nginx: pass events through at once
]


def query(scope):
    return {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("ascii", "replace")).items()}


async def error(consumer, status, reason):
    await consumer.send_response(
        status, dumps({"error": reason}).encode(), headers=[(b"Content-Type", b"application/json")]
    )


class NotificationsConsumer(AsyncHttpConsumer):
    channel_layer_alias = None  # see the module docstring
    STREAMS = ("packets", "news", "chat")

    async def __call__(self, scope, receive, send):
        self.client_events = receive  # read by handle(), which owns the connection
        self.subscription = self.group = self.stream_channel = None
        await super().__call__(scope, receive, send)

    async def handle(self, body):
        stream = self.scope["url_route"]["kwargs"]["stream"]
        if stream not in self.STREAMS:
            return await error(self, 404, f"unknown stream {stream!r}; streams: {', '.join(self.STREAMS)}")
        self.outbox = asyncio.Queue(maxsize=1000)
        if stream == "packets":
            try:
                packet_filter = parse_filter(query(self.scope).get("filter", ""))
            except FilterError as exc:
                return await error(self, 400, f"invalid filter: {exc}")
            self.subscription = Subscription(self.packets_frame, packet_filter)
            hub = get_hub()
            hub.subscribe(self.subscription)
            await hub.until_joined()
            reader = None
        else:
            layer = get_channel_layer()
            self.group = NEWS_GROUP if stream == "news" else room_group(LOBBY)
            self.stream_channel = await layer.new_channel()
            await layer.group_add(self.group, self.stream_channel)
            reader = asyncio.ensure_future(self.read_group(layer))
        metrics.websocket_clients.labels(f"sse-{stream}").inc()
        try:
            await self.send_headers(headers=SSE_HEADERS)
            await self.send_body(b": stream " + stream.encode() + b"\n\n", more_body=True)
            await self.pump()
        finally:
            metrics.websocket_clients.labels(f"sse-{stream}").dec()
            if reader is not None:
                reader.cancel()

    async def pump(self):
        """Send what arrives until the client goes; a comment line every KEEPALIVE s."""
        gone = asyncio.ensure_future(self.client_gone())
        try:
            while not gone.done():
                waiting = asyncio.ensure_future(self.outbox.get())
                done, _ = await asyncio.wait([waiting, gone], timeout=KEEPALIVE, return_when=asyncio.FIRST_COMPLETED)
                if waiting in done:
                    await self.send_body(waiting.result(), more_body=True)
                else:
                    waiting.cancel()
                    if not gone.done():
                        await self.send_body(b": keepalive\n\n", more_body=True)
        finally:
            gone.cancel()

    async def client_gone(self):
        while (await self.client_events())["type"] != "http.disconnect":
            pass

    async def packets_frame(self, frame):
        self.outbox.put_nowait(b"event: packets\ndata: " + frame.encode() + b"\n\n")

    async def read_group(self, layer):
        while True:
            event = await layer.receive(self.stream_channel)
            name = {"news.bulletin": "bulletin", "chat.message": "message", "chat.deleted": "deleted"}.get(
                event["type"]
            )
            if name and not self.outbox.full():
                data = {k: v for k, v in event.items() if k != "type"}
                self.outbox.put_nowait(f"event: {name}\ndata: {dumps(data)}\n\n".encode())

    async def disconnect(self):
        if self.subscription is not None:
            get_hub().unsubscribe(self.subscription)
        if self.group is not None:
            await get_channel_layer().group_discard(self.group, self.stream_channel)


class LongPollConsumer(AsyncHttpConsumer):
    """``GET longpoll/?cursor=N&timeout=S&filter=F`` -> {"cursor", "packets", "missed"}.

    Without a cursor the answer is the current cursor and no packets: start
    there. Packets are those after the cursor that pass the filter; if there
    are none yet, the answer waits up to ``timeout`` seconds (default 25).
    ``missed`` counts packets that fell out of the node's buffer before this
    poll. Cursors are per node: behind a load balancer, keep a client on one.
    """

    channel_layer_alias = None

    async def handle(self, body):
        params = query(self.scope)
        try:
            packet_filter = parse_filter(params.get("filter", ""))
            timeout = float(params.get("timeout", "25"))
            cursor = int(params["cursor"]) if "cursor" in params else None
        except FilterError as exc:
            return await error(self, 400, f"invalid filter: {exc}")
        except ValueError:
            return await error(self, 400, "cursor must be a whole number, timeout a number of seconds")
        if not 0 <= timeout <= MAX_LONGPOLL or (cursor is not None and cursor < 0):
            return await error(self, 400, f"timeout must be 0-{MAX_LONGPOLL:g} s and cursor not negative")
        hub = get_hub()
        if cursor is None:
            return await self.answer(hub.packets, [], 0)
        items, missed = hub.since(cursor, packet_filter)
        deadline = asyncio.get_running_loop().time() + timeout
        while not items and not missed:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(hub.arrived.wait(), remaining)
            except asyncio.TimeoutError:
                break
            items, missed = hub.since(cursor, packet_filter)
        await self.answer(hub.packets, items, missed)

    async def answer(self, cursor, items, missed):
        body = '{"cursor":%d,"missed":%d,"packets":[%s]}' % (cursor, missed, ",".join(items))
        await self.send_response(
            200, body.encode(), headers=[(b"Content-Type", b"application/json"), (b"Cache-Control", b"no-store")]
        )

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

from gateway import metrics
from gateway.daemon import runtime
from gateway.feed.hub import get_hub
from gateway.feed.subscriptions import EventStreamSubscription
from gateway.feed.wsframe import dumps
from gateway.models import LOBBY
from gateway.names import NEWS_GROUP, room_group
from protocols.aprs.filters import FilterError, parse_filter

KEEPALIVE = 15.0
RETRY_MS = 3000
"""What an SSE client waits before reconnecting (the ``retry:`` field)."""
MAX_LONGPOLL = 60.0
SSE_HEADERS = [
    (b"Content-Type", b"text/event-stream; charset=utf-8"),
    (b"Cache-Control", b"no-cache"),
    (b"X-Accel-Buffering", b"no"),  # nginx: pass events through at once
]


def last_event_id(scope):
    """The ``Last-Event-ID`` a reconnecting EventSource sends (or ``?last_event_id=``), as
    the ``received`` time it names; None when there is none. ValueError if unreadable."""
    value = dict(scope.get("headers", [])).get(b"last-event-id", b"").decode("ascii", "replace")
    value = value or query(scope).get("last_event_id", "")
    if not value:
        return None
    moment = float(value)
    if moment != moment or moment in (float("inf"), float("-inf")):
        raise ValueError(value)
    return moment


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
                packet_filter = parse_filter(query(self.scope).get("filter", ""), known=get_hub())
            except FilterError as exc:
                return await error(self, 400, f"invalid filter: {exc}")
            try:
                resume_after = last_event_id(self.scope)
            except ValueError:
                return await error(self, 400, "Last-Event-ID: the id of an event this stream sent")
            self.subscription = EventStreamSubscription(self.packets_frame, packet_filter)
            hub = get_hub()
            await hub.until_joined()
            if resume_after is not None:
                missed, exact = hub.missed_after(resume_after)
                if missed:
                    self.outbox.put_nowait(
                        b"event: missed\ndata: " + dumps({"missed": missed, "exact": exact}).encode() + b"\n\n"
                    )
            hub.subscribe(self.subscription, after=resume_after)
            reader = None
        else:
            layer = get_channel_layer()
            self.group = NEWS_GROUP if stream == "news" else room_group(LOBBY)
            self.stream_channel = await layer.new_channel()
            await layer.group_add(self.group, self.stream_channel)
            reader = asyncio.ensure_future(self.read_group(layer))
        metrics.stream_clients.labels(stream).inc()
        runtime.open_streams += 1
        try:
            await self.send_headers(headers=SSE_HEADERS)
            await self.send_body(b": stream " + stream.encode() + b"\nretry: %d\n\n" % RETRY_MS, more_body=True)
            await self.pump()
            if runtime.stopping.is_set():  # end the stream cleanly; the client reconnects elsewhere
                await self.send_body(b'event: bye\ndata: {"reason":"server shutting down"}\n\n', more_body=False)
        finally:
            metrics.stream_clients.labels(stream).dec()
            runtime.open_streams -= 1
            if reader is not None:
                reader.cancel()

    async def pump(self):
        """Send what arrives until the client goes or the server stops (then return, so the
        stream ends with a ``bye`` event); a comment line every KEEPALIVE s."""
        gone = asyncio.ensure_future(self.client_gone())
        stopping = asyncio.ensure_future(runtime.stopping.wait())
        try:
            while not gone.done() and not stopping.done():
                waiting = asyncio.ensure_future(self.outbox.get())
                done, _ = await asyncio.wait(
                    [waiting, gone, stopping], timeout=KEEPALIVE, return_when=asyncio.FIRST_COMPLETED
                )
                if waiting in done:
                    await self.send_body(waiting.result(), more_body=True)
                else:
                    waiting.cancel()
                    if not done:
                        await self.send_body(b": keepalive\n\n", more_body=True)
            while not self.outbox.empty() and not gone.done():  # what was queued still goes
                await self.send_body(self.outbox.get_nowait(), more_body=True)
        finally:
            gone.cancel()
            stopping.cancel()

    async def client_gone(self):
        while (await self.client_events())["type"] != "http.disconnect":
            pass

    async def packets_frame(self, frame, event_id):
        self.outbox.put_nowait(b"event: packets\nid: %s\ndata: %s\n\n" % (event_id.encode(), frame.encode()))

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
    poll. Cursors are per node: behind a load balancer, keep a client on one; a
    cursor this node never gave (it restarted) is answered at once with
    ``"reset": true`` and the current cursor. When the server stops, pending
    polls are answered at once.
    """

    channel_layer_alias = None

    async def handle(self, body):
        params = query(self.scope)
        try:
            packet_filter = parse_filter(params.get("filter", ""), known=get_hub())
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
        if cursor > hub.packets:  # from before this node restarted: start again, say so at once
            return await self.answer(hub.packets, [], 0, reset=True)
        items, missed = hub.since(cursor, packet_filter)
        deadline = asyncio.get_running_loop().time() + timeout
        runtime.open_streams += 1
        try:
            while not items and not missed and not runtime.stopping.is_set():
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                arrived = asyncio.ensure_future(hub.arrived.wait())
                stopping = asyncio.ensure_future(runtime.stopping.wait())
                await asyncio.wait([arrived, stopping], timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                arrived.cancel()
                stopping.cancel()
                items, missed = hub.since(cursor, packet_filter)
        finally:
            runtime.open_streams -= 1
        await self.answer(hub.packets, items, missed)

    async def answer(self, cursor, items, missed, reset=False):
        body = '{"cursor":%d,"missed":%d,%s"packets":[%s]}' % (
            cursor,
            missed,
            '"reset":true,' if reset else "",
            ",".join(items),
        )
        await self.send_response(
            200, body.encode(), headers=[(b"Content-Type", b"application/json"), (b"Cache-Control", b"no-store")]
        )

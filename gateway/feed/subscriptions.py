"""A feed client as the hub sees it: its filter and its bounded buffer.

``Subscription`` is a websocket or SSE client of the live feed: packets go out
as ``packets`` frames (through the prebuilt-frame writer when the server
offers it). ``LineSubscription`` is a TCP client of the APRS-IS server port:
raw lines. A slow client is one whose socket already holds
``FEED_CLIENT_BACKLOG`` unsent bytes: it gets nothing until it drains, its
buffer drops the oldest packets, and its next frame says how many it lost.
"""

import collections
import json

from django.conf import settings

from gateway import metrics
from gateway.feed.items import packets_frame
from gateway.feed.wsframe import text_frame


class Subscription:
    """One client's filter and its bounded buffer of packet JSON."""

    shares_frames = True  # with the empty filter, it takes the hub's shared frame

    def __init__(self, send, packet_filter, backlog=None, buffer_size=None, max_backlog=None, write_frame=None):
        self.send = send  # async callable taking the frame text
        self.write_frame = write_frame  # gateway/feed/wsframe.py, when the server offers it
        self.filter = packet_filter
        self.backlog = backlog or (lambda: 0)
        self.pending = collections.deque(maxlen=buffer_size or settings.FEED_CLIENT_BUFFER)
        self.max_backlog = max_backlog or settings.FEED_CLIENT_BACKLOG
        # Send without waiting for the tick once a quarter of the buffer is used,
        # so a burst cannot overflow the buffer of a client that keeps up.
        self.flush_at = max(1, self.pending.maxlen // 4)
        self.blocked = False  # its socket is full: only the tick retries it
        self.dropped = 0
        self.dropped_total = 0
        self.delivered = 0

    def entry(self, item, facts):
        """What this client queues for a packet: its JSON (None: nothing)."""
        return item

    def push(self, item):
        """Queue a packet; True when the buffer is full enough to send now."""
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1
            self.dropped_total += 1
            metrics.feed_packets_dropped.inc()
        self.pending.append(item)
        return not self.blocked and len(self.pending) >= self.flush_at

    def extend(self, items):
        """Queue several packets (the oldest drop out if they do not fit)."""
        overflow = len(self.pending) + len(items) - self.pending.maxlen
        if overflow > 0:
            self.dropped += overflow
            self.dropped_total += overflow
            metrics.feed_packets_dropped.inc(overflow)
        self.pending.extend(items)

    def writable(self):
        """Whether the client's socket can take more now (see the module docstring)."""
        self.blocked = self.backlog() > self.max_backlog
        return not self.blocked

    async def flush(self):
        """Send what is pending; False if the client is too slow to take it now."""
        if not self.writable():
            return False
        items = list(self.pending)
        self.pending.clear()
        await self.deliver(items)
        metrics.feed_packets_sent.inc(len(items))
        return True

    async def deliver(self, items):
        """Put these packets on the wire: one ``packets`` frame."""
        await self.send_frame(packets_frame(items, self.dropped), len(items))
        metrics.feed_frames_sent.inc()

    async def send_frame(self, frame, count, wire=None):
        """Send a ``packets`` frame; ``wire``: the same frame already encoded (text_frame)."""
        self.dropped = 0
        self.delivered += count
        if self.write_frame is None:
            await self.send(frame)
        elif not self.write_frame(wire or text_frame(frame)):
            raise ConnectionError("the websocket is closed")


class EventStreamSubscription(Subscription):
    """An SSE client: each ``packets`` event carries ``id:``, the ``received`` time of its last
    packet, which every node knows (stamped at ingest): a client that reconnects with
    ``Last-Event-ID``, to any node, resumes after it."""

    shares_frames = False  # its frames carry their own id

    async def deliver(self, items):
        last = json.loads(items[-1])["received"]
        await self.send_frame(packets_frame(items, self.dropped), len(items), event_id=repr(last))
        metrics.feed_frames_sent.inc()

    async def send_frame(self, frame, count, wire=None, event_id=None):
        self.dropped = 0
        self.delivered += count
        await self.send(frame, event_id)


COURTESY_FOR = 1800.0
"""Seconds a client that was given a station's message waits for that station's next position
(aprsc's courtesy_list_storetime)."""


class LineSubscription(Subscription):
    """A TCP client of the APRS-IS server port: the raw lines its filter passes, CRLF
    after each, never the packets it uploaded itself. Same buffer and the same test
    for slowness; but a TCP client cannot be told what it lost, so one that has to
    lose packets is dropped (as aprsc drops a client whose buffer overflows).

    Messages are routed as aprsc routes them, whatever the filter: those for the
    addressees ``wants_message`` accepts (its login, stations it heard); the hub
    then sends the client the sender's next position once, within 30 minutes
    (aprsc's courtesy position, gateway/feed/hub.py)."""

    shares_frames = False

    def __init__(self, write, packet_filter, backlog, via, too_slow, wants_message=None, **kwargs):
        super().__init__(None, packet_filter, backlog=backlog, **kwargs)
        self.write = write  # callable taking bytes; False once the connection is closed
        self.via = via
        self.too_slow = too_slow  # drops the connection, saying why
        self.wants_message = wants_message  # addressee (upper case) -> bool

    def entry(self, item, facts):
        return None if facts.get("via") == self.via else facts["raw"]

    async def flush(self):
        if self.dropped and not self.writable():
            self.too_slow(f"too slow: {self.dropped} packets dropped waiting for it to read")
            raise ConnectionError("too slow")
        return await super().flush()

    async def deliver(self, lines):
        self.dropped = 0
        self.delivered += len(lines)
        if not self.write(b"\r\n".join(lines) + b"\r\n"):
            raise ConnectionError("the TCP client is gone")

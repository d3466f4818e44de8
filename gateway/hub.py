"""The live-feed hub: the one member of the feed group in each process.

``APRSNewsConsumer`` sends every packet once to the ``aprs-feed`` group. In a
process, only the hub listens there, so the channel layer (and Redis, at
scale) carries one message per packet per node, never one per client. The
hub then checks each local subscriber's filter and queues the packet's JSON,
serialised once upstream, in that subscriber's bounded buffer. Every
``FEED_FLUSH_INTERVAL`` (longer with very many clients: ``tick()``) the
buffers are sent as one frame per client. docs/fanout.md has the design and
the measurements behind it.

A slow client is one whose socket already holds ``FEED_CLIENT_BACKLOG`` unsent
bytes: it gets nothing until it drains, its buffer drops the oldest packets,
and its next frame says how many it lost. Nobody else waits for it.
"""

import asyncio
import collections
import logging
import uuid
import weakref

from channels.layers import get_channel_layer
from django.conf import settings

from gateway import metrics
from gateway.index import SubscriberIndex
from gateway.wsframe import text_frame

logger = logging.getLogger("gateway.hub")

FEED_GROUP = "aprs-feed"
GROUP_REFRESH = 3600.0
"""Seconds between group_add calls, well inside the layers' group expiry."""
LAYER_RETRY_MAX = 4.0
"""Longest wait between attempts to get back to a lost channel layer (Redis)."""
YIELD_EVERY = 100
"""Feed messages the hub handles before it lets other tasks run."""

_hubs = weakref.WeakKeyDictionary()  # event loop -> FeedHub


def get_hub():
    """The hub of the running event loop, started on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = FeedHub(get_channel_layer())
        hub.start()
    return hub


def running_hub():
    """The running event loop's hub if one was started (a web node, a client), else None."""
    return _hubs.get(asyncio.get_running_loop())


class Subscription:
    """One client's filter and its bounded buffer of packet JSON."""

    shares_frames = True  # with the empty filter, it takes the hub's shared frame

    def __init__(self, send, packet_filter, backlog=None, buffer_size=None, max_backlog=None,
                 write_frame=None):
        self.send = send  # async callable taking the frame text
        self.write_frame = write_frame  # gateway/wsframe.py, when the server offers it
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


class LineSubscription(Subscription):
    """A TCP client of the APRS-IS server port: the raw lines its filter passes, CRLF
    after each, never the packets it uploaded itself. Same buffer and the same test
    for slowness; but a TCP client cannot be told what it lost, so one that has to
    lose packets is dropped (as aprsc drops a client whose buffer overflows)."""

    shares_frames = False

    def __init__(self, write, packet_filter, backlog, via, too_slow, **kwargs):
        super().__init__(None, packet_filter, backlog=backlog, **kwargs)
        self.write = write  # callable taking bytes; False once the connection is closed
        self.via = via
        self.too_slow = too_slow  # drops the connection, saying why

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
        if not self.write(b"".join(line + b"\r\n" for line in lines)):
            raise ConnectionError("the TCP client is gone")


def packets_frame(items, dropped=0):
    """A ``packets`` frame from packet JSON made upstream: no parsing, no re-encoding."""
    return '{"type":"packets","dropped":%d,"packets":[%s]}' % (dropped, ",".join(items))


class FeedHub:
    def __init__(self, channel_layer, flush_interval=None):
        self.layer = channel_layer
        self.flush_interval = flush_interval or settings.FEED_FLUSH_INTERVAL
        self.subscriptions = SubscriberIndex()
        self.dirty = set()
        self.shared = []  # packets for every whole-feed subscriber since the last flush
        self.flushing = asyncio.Lock()
        # Send before the tick once this many wait, as a Subscription does.
        self.shared_flush_at = max(1, settings.FEED_CLIENT_BUFFER // 4)
        self.flush_handle = None
        self.flush_now = False
        self.joined = asyncio.Event()  # set while the hub is a member of the feed group
        self.task = None
        self.packets = 0
        # The last packets with a node-local number each, for long-polling clients.
        self.recent = collections.deque(maxlen=settings.LONGPOLL_BUFFER)
        # The last position of each station (or object), least recently heard
        # first: what a new map is drawn from, long after those packets left
        # ``recent``.
        self.positions = collections.OrderedDict()
        self.arrived = asyncio.Event()
        self.lost = 0  # packets the channel layer dropped before they got here
        self.last_sequence = {}  # origin channel -> last sequence number seen

    def start(self):
        self.task = asyncio.ensure_future(self._run())

    def subscribe(self, subscription, recent=0):
        """Add a client; with ``recent``, first queue up to that many held packets it matches."""
        if recent:
            held = [entry for item, facts in self.held(subscription.filter, recent)
                    if (entry := subscription.entry(item, facts)) is not None]
            subscription.extend(held)
            if held:
                self.dirty.add(subscription)
                self._schedule_flush()
        if not subscription.filter.text and subscription.shares_frames:
            self.shared_flush_at = min(self.shared_flush_at, subscription.flush_at)
        self.subscriptions.add(subscription)

    async def until_joined(self, timeout=5.0):
        """Wait (at most ``timeout`` s) until the hub receives the feed, so nothing sent
        after a client's "subscribed" is missed."""
        try:
            await asyncio.wait_for(self.joined.wait(), timeout)
        except asyncio.TimeoutError:
            logger.warning("feed hub is not receiving yet (channel layer down?); the client waits for packets")

    def unsubscribe(self, subscription):
        self.subscriptions.discard(subscription)
        self.dirty.discard(subscription)

    async def _run(self):
        """Receive from the feed group for ever; survive a layer outage."""
        delay = 1.0
        while True:
            try:
                # A plain channel name, not new_channel(): channels_redis serves
                # every "!" channel of a process through one shared receive lock
                # and assumes they all share new_channel()'s default prefix.
                channel = f"aprs-feed-hub.{uuid.uuid4().hex}"
                await self.layer.group_add(FEED_GROUP, channel)
                logger.info("feed hub listening on %s", channel)
                self.joined.set()
                delay = 1.0
                await self._receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.joined.clear()
                logger.error("feed hub lost the channel layer (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, LAYER_RETRY_MAX)

    async def _receive(self, channel):
        loop = asyncio.get_running_loop()
        refresh_at = loop.time() + GROUP_REFRESH
        received = 0
        while True:
            message = await self.layer.receive(channel)
            if message.get("type") == "feed.packets":
                packets = message["packets"]
                self.count_losses(message["origin"], message["sequence"] - len(packets) + 1, message["sequence"])
                for item, facts in packets:
                    self.dispatch(item, facts)
            if self.flush_now:
                await self._flush()
            received += 1
            if received % YIELD_EVERY == 0:
                # A non-empty in-memory channel never suspends receive():
                # let the reactor read and write between bursts.
                await asyncio.sleep(0)
            if loop.time() >= refresh_at:
                await self.layer.group_add(FEED_GROUP, channel)
                refresh_at = loop.time() + GROUP_REFRESH

    def count_losses(self, origin, first, last):
        """A gap in an origin's numbering is packets the layer dropped (full)."""
        previous = self.last_sequence.pop(origin, None)
        if previous is not None and first > previous + 1:
            self.lost += first - previous - 1
            metrics.feed_packets_lost.inc(first - previous - 1)
            logger.warning("channel layer dropped %d feed packets (%d in all)", first - previous - 1, self.lost)
        self.last_sequence[origin] = last
        while len(self.last_sequence) > 64:  # origins come and go with reconnects
            del self.last_sequence[next(iter(self.last_sequence))]

    def dispatch(self, item, facts):
        """Queue one packet for every local subscriber whose filter matches."""
        self.packets += 1
        self.recent.append((self.packets, item, facts))
        if "lat" in facts:
            name = facts["object"] or facts["from"]
            self.positions[name] = (self.packets, item, facts)
            self.positions.move_to_end(name)
            if len(self.positions) > settings.FEED_HELD_STATIONS:
                self.positions.popitem(last=False)
        self.arrived.set()
        self.arrived.clear()
        if self.subscriptions.everything:
            self.shared.append(item)
            if len(self.shared) >= self.shared_flush_at:
                self.flush_now = True
        for subscription in self.subscriptions.candidates(facts):
            if subscription.filter.matches(facts):
                entry = subscription.entry(item, facts)
                if entry is None:
                    continue
                if subscription.push(entry):
                    self.flush_now = True
                self.dirty.add(subscription)
        self._schedule_flush()

    async def _flush(self):
        # One flush at a time: a shared frame must not overtake the one before.
        async with self.flushing:
            if self.flush_handle is not None:
                self.flush_handle.cancel()
                self.flush_handle = None
            self.flush_now = False
            shared, self.shared = self.shared, []
            if shared:
                await self._send_shared(shared)
            dirty, self.dirty = self.dirty, set()
            for subscription in dirty:
                try:
                    if not await subscription.flush():
                        self.dirty.add(subscription)
                except Exception as exc:  # its connection closed under us: it is gone
                    self._drop(subscription, exc)
        self._schedule_flush()

    async def _send_shared(self, shared):
        """One frame, built once, to every whole-feed subscriber that is keeping up;
        the others queue the packets in their own buffers."""
        frame = packets_frame(shared)
        wire = text_frame(frame)
        sent = 0
        for subscription in list(self.subscriptions.everything):
            if subscription.pending or not subscription.writable():
                subscription.extend(shared)
                self.dirty.add(subscription)
                continue
            try:
                await subscription.send_frame(frame, len(shared), wire)
                sent += 1
            except Exception as exc:
                self._drop(subscription, exc)
        metrics.feed_frames_sent.inc(sent)
        metrics.feed_packets_sent.inc(sent * len(shared))

    def _drop(self, subscription, exc):
        logger.debug("dropping a feed client whose send failed: %s", exc)
        self.unsubscribe(subscription)

    def since(self, cursor, packet_filter):
        """Packets after ``cursor`` that pass the filter, and how many fell out of the buffer."""
        oldest = self.recent[0][0] if self.recent else self.packets + 1
        missed = max(0, oldest - cursor - 1)
        items = [item for number, item, facts in self.recent
                 if number > cursor and packet_filter.matches(facts)]
        return items, missed

    def held(self, packet_filter, count):
        """The newest ``count`` packets held here that pass the filter, oldest first, as
        (item, facts): the last ``recent`` packets and each station's last position."""
        found = {}
        for source in (self.positions.values(), self.recent):
            for number, item, facts in source:
                if number not in found and packet_filter.matches(facts):
                    found[number] = item, facts
        return [found[number] for number in sorted(found)[-count:]]

    def _schedule_flush(self):
        if (self.dirty or self.shared) and self.flush_handle is None:
            self.flush_handle = asyncio.get_running_loop().call_later(
                self.tick(), lambda: asyncio.ensure_future(self._flush())
            )

    def tick(self):
        """Seconds to the next flush: ``FEED_FLUSH_INTERVAL``, or longer when there are
        so many clients that a frame each per tick would pass ``FEED_FRAMES_PER_SECOND``.
        A frame costs about the same CPU whatever it holds, so this bounds what
        framing costs, and a busier feed only makes frames bigger."""
        return max(self.flush_interval, len(self.subscriptions) / settings.FEED_FRAMES_PER_SECOND)

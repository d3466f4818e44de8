"""The live-feed hub: the one member of the feed group in each process.

``APRSNewsConsumer`` sends every packet once to the ``aprs-feed`` group. In a
process, only the hub listens there, so the channel layer (and Redis, at
scale) carries one message per packet per node, never one per client. The
hub then checks each local subscriber's filter and queues the packet's JSON,
serialised once upstream, in that subscriber's bounded buffer. Every
``FEED_FLUSH_INTERVAL`` (longer with very many clients: ``tick()``) the
buffers are sent as one frame per client. docs/fanout.md has the design and
the measurements behind it.

The hub reads the channel layer itself (``layer.receive`` on its own
channel) rather than being a consumer: one reader per process, no
per-client inbox, and ``feed.packets`` has no handler anywhere else. Clients
(gateway/feed/subscriptions.py) are told apart by their filters, filed by
area in the SubscriberIndex (gateway/feed/index.py). A slow client waits
alone (subscriptions.py); nobody else waits for it.
"""

import asyncio
import bisect
import collections
import logging
import time
import uuid

from channels.layers import get_channel_layer
from django.conf import settings

from gateway import metrics
from gateway.feed import positions
from gateway.feed.index import SubscriberIndex
from gateway.feed.items import packets_frame
from gateway.feed.subscriptions import COURTESY_FOR
from gateway.feed.wsframe import text_frame
from gateway.hubs import LayerHub
from gateway.loops import PerLoop
from gateway.names import FEED_GROUP, HUB_CHANNEL_PREFIX
from protocols.aprs.filters import Known

logger = logging.getLogger("gateway.hub")

RF_IGATE_FOR = 3600.0
"""Seconds an entry station seen with qAR/qAr counts as an RF iGate (aprsc's q//I)."""
RF_IGATES_MAX = 20000
HEARD_FOR = 3 * 3600.0
"""Seconds a station gated by a server-port client counts as heard there (aprsc: 3 hours)."""
HEARD_MAX = 50000
COURTESY_MAX = 5000
"""Message senders whose next position is owed before the expired ones are swept."""

_hubs = PerLoop(lambda: FeedHub(get_channel_layer()))


def get_hub():
    """The hub of the running event loop, started on first use."""
    return _hubs.get()


def running_hub():
    """The running event loop's hub if one was started (a web node, a client), else None."""
    return _hubs.running()


class FeedHub(LayerHub, Known):
    """Also what filters may ask beyond a packet (``Known``): stations' last positions
    (m/, f/, t/../call/km, and a position for packets that carry none) and RF iGates."""

    name = "feed hub"

    def __init__(self, channel_layer, flush_interval=None):
        # A plain channel name, not new_channel(): channels_redis serves every "!"
        # channel of a process through one shared receive lock and assumes they all
        # share new_channel()'s default prefix. The same channel after an outage:
        # what Redis queued for it meanwhile is still delivered.
        super().__init__(channel_layer, f"{HUB_CHANNEL_PREFIX}{uuid.uuid4().hex}")
        self.flush_interval = flush_interval or settings.FEED_FLUSH_INTERVAL
        self.subscriptions = SubscriberIndex()
        self.dirty = set()
        self.shared = []  # packets for every whole-feed subscriber since the last flush
        self.flushing = asyncio.Lock()
        # Send before the tick once this many wait, as a Subscription does.
        self.shared_flush_at = max(1, settings.FEED_CLIENT_BUFFER // 4)
        self.flush_handle = None
        self.flush_now = False
        self.remembering = None
        self.packets = 0
        # The last packets with a node-local number each, for long-polling clients.
        self.recent = collections.deque(maxlen=settings.LONGPOLL_BUFFER)
        # When the packets that left ``recent`` were received: a resuming stream is told
        # how many it missed (consumers/streams.py).
        self.evicted = collections.deque(maxlen=100_000)
        self.held_stations = settings.FEED_HELD_STATIONS  # read once: settings cost a lookup each time
        # The last position of each station (or object), least recently heard
        # first: what a new map is drawn from, long after those packets left
        # ``recent``.
        self.positions = collections.OrderedDict()
        self.rf_igates = {}  # entry call -> monotonic time it last gated a packet from RF
        self.courtesy = {}  # message sender -> {server-port client: deadline}: its next position goes to them
        self.heard_on = {}  # station -> {server-port client's via: monotonic time it gated the station}
        self.line_clients = {}  # via -> that server-port client's subscription
        self.remembered = {}  # positions recorded in Redis before this hub started (positions.py), and noted
        self.arrived = asyncio.Event()
        self.lost = 0  # packets the channel layer dropped before they got here
        self.fence = 0  # the highest fencing token heard (gateway/daemon/leader.py)
        self.stale_packets = 0
        self.last_sequence = {}  # origin channel -> last sequence number seen

    def start(self):
        super().start()
        self.remembering = asyncio.ensure_future(self._remember())  # kept: the loop holds tasks weakly

    def groups(self):
        return [FEED_GROUP]

    async def _remember(self):
        self.remembered = {**await positions.load(), **self.remembered}
        if self.remembered:
            logger.info("%d stations' positions loaded from Redis", len(self.remembered))

    def subscribe(self, subscription, recent=0, after=None):
        """Add a client; with ``recent``, first queue up to that many held packets it matches;
        with ``after`` (a packet's ``received`` time), the held ones received after it."""
        if recent or after is not None:
            found = self.held(subscription.filter, recent) if after is None else self.after(after, subscription.filter)
            held = [entry for item, facts in found if (entry := subscription.entry(item, facts)) is not None]
            subscription.extend(held)
            if held:
                self.dirty.add(subscription)
                self._schedule_flush()
        if not subscription.filter.text and subscription.shares_frames:
            self.shared_flush_at = min(self.shared_flush_at, subscription.flush_at)
        self.subscriptions.add(subscription)
        if getattr(subscription, "via", None):
            self.line_clients[subscription.via] = subscription

    async def until_joined(self, timeout=5.0):
        """Wait (at most ``timeout`` s) until the hub receives the feed, so nothing sent
        after a client's "subscribed" is missed."""
        try:
            await asyncio.wait_for(self.receiving.wait(), timeout)
        except asyncio.TimeoutError:
            logger.warning("feed hub is not receiving yet (channel layer down?); the client waits for packets")

    def unsubscribe(self, subscription):
        self.subscriptions.discard(subscription)
        self.dirty.discard(subscription)
        if self.line_clients.get(getattr(subscription, "via", None)) is subscription:
            del self.line_clients[subscription.via]

    async def handle(self, message):
        if message.get("type") == "feed.packets" and not self.stale(message):
            packets = message["packets"]
            self.count_losses(message["origin"], message["sequence"] - len(packets) + 1, message["sequence"])
            for item, facts in packets:
                self.dispatch(item, facts)
        if self.flush_now:
            await self._flush()

    def stale(self, message):
        """A batch from a leader older than one already heard from (fencing: it was paused
        past its lease and publishes late); batches without a token (iGates) never are."""
        fence = message.get("fence")
        if fence is None or fence >= self.fence:
            if fence is not None:
                self.fence = fence
            return False
        self.stale_packets += len(message["packets"])
        metrics.feed_packets_stale.inc(len(message["packets"]))
        logger.warning(
            "dropped %d packets from an old leader (fencing token %d < %d)", len(message["packets"]), fence, self.fence
        )
        return True

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
        owed = self.courtesy.pop(facts["from"], None) if "lat" in facts and self.courtesy else None
        if len(self.recent) == self.recent.maxlen:
            self.evicted.append(self.recent[0][2].get("received", 0))
        self.recent.append((self.packets, item, facts))
        if "lat" in facts:
            name = facts["object"] or facts["from"]
            self.positions[name] = (self.packets, item, facts)
            self.positions.move_to_end(name)
            if len(self.positions) > self.held_stations:
                self.positions.popitem(last=False)
        else:  # as aprsc: a message is where its addressee station is, anything else where its sender is
            where = self.station_position(facts["addressee"]) if facts.get("addressee") else None
            if where is None:
                where = self.position(facts.get("from"))
            if where is not None:
                facts["lat"], facts["lon"] = where
        if facts.get("q") in ("R", "r") and "entry" in facts:
            self.note_rf_igate(facts["entry"])
        self.arrived.set()
        self.arrived.clear()
        if self.subscriptions.everything:
            self.shared.append(item)
            if len(self.shared) >= self.shared_flush_at:
                self.flush_now = True
        for subscription in self.subscriptions.candidates(facts):
            if subscription.filter.matches(facts):
                self.queue(subscription, item, facts)
        if "addressee" in facts and self.subscriptions.messaging:
            self.route_message(item, facts)
        if owed:
            self.courtesy_position(item, facts, owed)
        if self.heard_on and "TCPIP*" in facts["path"]:
            self.to_where_heard(item, facts)
        self._schedule_flush()

    def route_message(self, item, facts):
        """A message to the server-port clients it is for, whatever their filters (a
        client whose filter passes it got it above: a filter only passes what its
        boxes hold, so it was a candidate). Each of them is owed the sender's next
        position (aprsc: ``courtesy_list_storetime``, filter.c)."""
        deadline = time.monotonic() + COURTESY_FOR
        for subscription in self.subscriptions.messaging:
            if not subscription.wants_message(facts["addressee"]):
                continue
            if not subscription.filter.matches(facts):
                self.queue(subscription, item, facts)
            self.courtesy.setdefault(facts["from"], {})[subscription] = deadline
        if len(self.courtesy) > COURTESY_MAX:
            now = time.monotonic()
            self.courtesy = {
                sender: owed for sender, owed in self.courtesy.items() if any(until > now for until in owed.values())
            }

    def note_heard(self, call, via):
        """A server-port client gated a packet of ``call``: it is heard there (see to_where_heard)."""
        now = time.monotonic()
        self.heard_on.setdefault(call, {})[via] = now
        if len(self.heard_on) > HEARD_MAX:
            self.heard_on = {
                station: fresh
                for station, where in self.heard_on.items()
                if (fresh := {via: at for via, at in where.items() if now - at < HEARD_FOR})
            }

    def to_where_heard(self, item, facts):
        """A packet sent on the internet side (TCPIP*) by a station a server-port client heard
        on its radio goes to that client whatever its filter: aprsc does so, so that a TX iGate
        knows the station is heard on the internet and need not gate its messages to RF."""
        heard = self.heard_on.get(facts["from"])
        if not heard:
            return
        now = time.monotonic()
        for via, at in heard.items():
            subscription = self.line_clients.get(via)
            if subscription is None or now - at >= HEARD_FOR or subscription.filter.matches(facts):
                continue
            if "addressee" in facts and subscription.wants_message(facts["addressee"]):
                continue  # routed as a message already
            self.queue(subscription, item, facts)

    def courtesy_position(self, item, facts, owed):
        """The first position of a message's sender after the message, to each client the
        message went to and whose filter did not pass the position anyway."""
        now = time.monotonic()
        for subscription, until in owed.items():
            if until < now or subscription not in self.subscriptions.messaging or subscription.filter.matches(facts):
                continue
            self.queue(subscription, item, facts)

    def queue(self, subscription, item, facts):
        """A packet into one subscriber's buffer (unless it is the subscriber's own: ``entry``
        None), flushed at the next tick, or now when its buffer is full enough."""
        entry = subscription.entry(item, facts)
        if entry is None:
            return
        if subscription.push(entry):
            self.flush_now = True
        self.dirty.add(subscription)

    # --- what filters may ask (protocols.aprs.filters.Known) ---------------------
    def position(self, call):
        held = self.positions.get(call)
        return self.remembered.get(call) if held is None else (held[2]["lat"], held[2]["lon"])

    def station_position(self, call):
        """A station's last position, not an object's or an item's of that name: aprsc's history
        keeps stations, so a message to an object is placed where its sender is."""
        held = self.positions.get(call)
        if held is not None:
            return None if held[2]["object"] else (held[2]["lat"], held[2]["lon"])
        return self.remembered.get(call)

    def note_position(self, call, lat, lon):
        """Where a station is without a packet on the feed (a receive-only iGate client's own
        position, refused as an upload): for m/ and f/, as positions other nodes recorded."""
        self.remembered[call] = (lat, lon)

    def rf_igate(self, call):
        seen = self.rf_igates.get(call)
        return seen is not None and time.monotonic() - seen < RF_IGATE_FOR

    def note_rf_igate(self, call):
        now = time.monotonic()
        self.rf_igates[call] = now
        if len(self.rf_igates) > RF_IGATES_MAX:
            self.rf_igates = {igate: at for igate, at in self.rf_igates.items() if now - at < RF_IGATE_FOR}

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
                except Exception as exc:  # noqa: BLE001  (one client's failure is never the others')
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
            except Exception as exc:  # noqa: BLE001  (one client's failure is never the others')
                self._drop(subscription, exc)
        metrics.feed_frames_sent.inc(sent)
        metrics.feed_packets_sent.inc(sent * len(shared))

    def _drop(self, subscription, exc):
        """Forget a client whose send failed: quietly if its connection is gone (it is
        closing anyway), with a traceback if anything else went wrong."""
        if isinstance(exc, ConnectionError):
            logger.debug("dropping a feed client whose connection is gone: %s", exc)
        else:
            logger.error("dropping a feed client after an unexpected error", exc_info=exc)
        self.unsubscribe(subscription)

    def after(self, moment, packet_filter):
        """Held packets received after ``moment`` (the same on every node: stamped at ingest)
        that pass the filter, oldest first, as (item, facts)."""
        return [
            (item, facts)
            for _, item, facts in self.recent
            if facts.get("received", 0) > moment and packet_filter.matches(facts)
        ]

    def missed_after(self, moment):
        """Packets received after ``moment`` that are no longer held here (whatever the filter),
        and whether that count is exact: past the memory of evictions it is a lower bound."""
        evicted = sorted(self.evicted)
        missed = len(evicted) - bisect.bisect_right(evicted, moment)
        exact = len(self.evicted) < self.evicted.maxlen or (evicted and evicted[0] <= moment)
        return missed, bool(exact)

    def since(self, cursor, packet_filter):
        """Packets after ``cursor`` that pass the filter, and how many fell out of the buffer."""
        oldest = self.recent[0][0] if self.recent else self.packets + 1
        missed = max(0, oldest - cursor - 1)
        items = [item for number, item, facts in self.recent if number > cursor and packet_filter.matches(facts)]
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

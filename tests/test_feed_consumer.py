"""The feed path in one process: APRSNewsConsumer -> layer -> hub -> feed consumer."""

import asyncio
import itertools
import json
import time

import pytest
from channels.layers import channel_layers
from channels.testing import ApplicationCommunicator, WebsocketCommunicator

from consumers.aprs.aprsis import APRSNewsConsumer
from consumers.feed import APRSFeedConsumer
from consumers.frames import MAX_BAD_FRAMES, MAX_FRAME
from gateway.feed.hub import FeedHub
from gateway.feed.items import feed_item
from gateway.feed.subscriptions import Subscription
from protocols.aprs.decode import decode_line
from protocols.aprs.filters import parse_filter

SEQ = itertools.count(1)  # the protocol server numbers every packet
CAR = b"N0DEMO-9>APRS,qAR,N0DEMO-15:!4903.00N/07201.80W>090/025Demo car"
FAR = b"VK2ABC>APRS:!3352.00S/15112.00E-Sydney"
TELEMETRY = b"N0DEMO-3>APRS:T#001,123,045,067,089,100,00000000"
BROKEN_TELEMETRY = b"N0DEMO-3>APRS:T#001,no,numbers"  # no decoder reads it; it travels all the same
# Channels' async consumers close stale database connections around each event.
pytestmark = pytest.mark.django_db(transaction=True)
SCOPE = {
    "type": "aprs",
    "source": "aprs-is",
    "server": ["127.0.0.1", 14580],
    "server_id": "T2TEST",
    "login": "N0CALL",
    "verified": False,
    "filter": "",
}


@pytest.fixture(autouse=True)
def fresh_layer():
    """Each test runs in its own event loop: give it its own in-memory layer."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def feed_client(path="/ws/aprs/"):
    client = WebsocketCommunicator(APRSFeedConsumer.as_asgi(), path)
    connected, _ = await client.connect()
    assert connected
    assert (await client.receive_json_from())["type"] == "hello"
    return client


async def news_instance():
    news = ApplicationCommunicator(APRSNewsConsumer.as_asgi(), dict(SCOPE))
    await news.send_input({"type": "aprs.connect"})
    return news


async def ingest(news, *lines):
    """The lines as the protocol server hands them to an instance that asked for batches."""
    packets = [{"type": "aprs.packet", "seq": next(SEQ), **decode_line(raw, 1.0)} for raw in lines]
    await news.send_input({"type": "aprs.packets", "packets": packets})
    return packets


async def next_packets(client, timeout=2):
    frame = await client.receive_json_from(timeout)
    assert frame["type"] == "packets"
    return [item["text"] for item in frame["packets"]]


async def test_filtered_packets_reach_the_client():
    client = await feed_client()
    await client.send_json_to({"type": "subscribe", "filter": "r/49.05/-72.03/20"})
    subscribed = await client.receive_json_from()
    assert subscribed.pop("at") == pytest.approx(time.time(), abs=5)
    assert subscribed == {"type": "subscribed", "filter": "r/49.05/-72.03/20", "errors": []}
    news = await news_instance()
    await ingest(news, FAR, CAR)
    assert await next_packets(client) == [CAR.decode()]
    assert await client.receive_nothing(0.2)
    await news.send_input({"type": "aprs.disconnect", "reason": "test"})
    await news.wait(2)  # StopConsumer ends the instance
    await client.disconnect()


async def test_query_string_filter_and_unknown_formats_travel():
    client = await feed_client("/ws/aprs/?filter=t/t")
    assert (await client.receive_json_from())["type"] == "subscribed"
    news = await news_instance()
    await ingest(news, CAR, BROKEN_TELEMETRY)
    frame = await client.receive_json_from(2)
    (item,) = frame["packets"]
    assert item["packet"]["format"] == "unknown"
    assert "telemetry" in item["packet"]["error"]
    await client.disconnect()


async def test_unsubscribe_stops_packets():
    client = await feed_client()
    await client.send_json_to({"type": "subscribe"})
    await client.receive_json_from()
    await client.send_json_to({"type": "unsubscribe"})
    assert await client.receive_json_from() == {"type": "unsubscribed"}
    news = await news_instance()
    await ingest(news, CAR)
    assert await client.receive_nothing(0.2)
    await client.disconnect()


async def test_recent_packets_come_first_then_live_ones_none_twice():
    watcher = await feed_client()
    await watcher.send_json_to({"type": "subscribe"})
    assert (await watcher.receive_json_from())["type"] == "subscribed"
    news = await news_instance()
    await ingest(news, FAR, TELEMETRY, CAR)
    assert len(await next_packets(watcher)) == 3  # the hub holds them now
    client = await feed_client()
    await client.send_json_to({"type": "subscribe", "filter": "t/p", "recent": 1})
    assert (await client.receive_json_from())["type"] == "subscribed"
    assert await next_packets(client) == [CAR.decode()]  # the newest one that matches
    await ingest(news, FAR)
    assert await next_packets(client) == [FAR.decode()]
    assert await client.receive_nothing(0.2)
    await client.disconnect()
    await watcher.disconnect()


async def test_recent_includes_each_stations_last_position_long_after_it_left_the_buffer(settings):
    settings.LONGPOLL_BUFFER = 2
    watcher = await feed_client()
    await watcher.send_json_to({"type": "subscribe"})
    assert (await watcher.receive_json_from())["type"] == "subscribed"
    news = await news_instance()
    await ingest(news, FAR, CAR, TELEMETRY, TELEMETRY, TELEMETRY)
    assert len(await next_packets(watcher)) == 5
    client = await feed_client()
    await client.send_json_to({"type": "subscribe", "filter": "", "recent": 10})
    assert (await client.receive_json_from())["type"] == "subscribed"
    assert await next_packets(client) == [FAR.decode(), CAR.decode()] + [TELEMETRY.decode()] * 2
    await client.disconnect()
    await watcher.disconnect()


@pytest.mark.parametrize(
    "frame, reason",
    [
        (json.dumps({"type": "subscribe", "recent": -1}), "recent: a whole number"),
        (json.dumps({"type": "subscribe", "recent": "10"}), "recent: a whole number"),
        (json.dumps({"type": "subscribe", "recent": 10**6}), "recent: a whole number"),
        ("{nope", "bad JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"type": "dance"}), "unknown type"),
        (json.dumps({"type": "subscribe", "filter": "q/1"}), "invalid filter"),
        (json.dumps({"type": "subscribe", "filter": 42}), "invalid filter"),
        ("x" * (MAX_FRAME + 1), "larger than"),
    ],
)
async def test_bad_frames_get_an_error_and_the_connection_stays(frame, reason):
    client = await feed_client()
    await client.send_to(text_data=frame)
    error = await client.receive_json_from()
    assert error["type"] == "error" and reason in error["reason"]
    await client.send_json_to({"type": "subscribe"})
    assert (await client.receive_json_from())["type"] == "subscribed"
    await client.disconnect()


async def test_a_filter_part_that_cannot_be_read_is_named_and_the_rest_applies():
    client = await feed_client()
    await client.send_json_to({"type": "subscribe", "filter": "b/N0DEMO* x/1 r/0/0/-1"})
    subscribed = await client.receive_json_from()
    assert subscribed["filter"] == "b/N0DEMO*"
    assert [error.split(":")[0] for error in subscribed["errors"]] == ["'x/1'", "'r/0/0/-1'"]
    await client.send_json_to({"type": "subscribe", "filter": "x/1 m/5"})  # m/ needs a login: nothing left
    error = await client.receive_json_from()
    assert error["type"] == "error" and "'x/1'" in error["reason"] and "'m/5'" in error["reason"]
    await client.disconnect()


async def test_binary_frame_is_refused():
    client = await feed_client()
    await client.send_to(bytes_data=b"\x00\x01")
    assert "binary" in (await client.receive_json_from())["reason"]
    await client.disconnect()


async def test_repeated_abuse_closes_with_1008():
    client = await feed_client()
    for _ in range(MAX_BAD_FRAMES):
        await client.send_to(text_data="garbage")
        assert (await client.receive_json_from())["type"] == "error"
    assert await client.receive_output() == {"type": "websocket.close", "code": 1008}


async def test_slow_subscriber_loses_oldest_and_is_told_while_others_get_all():
    hub = FeedHub(channel_layer=None, flush_interval=0.01)
    fast_frames, slow_frames = [], []
    backlog = {"bytes": 10**9}

    async def fast_send(frame):
        fast_frames.append(json.loads(frame))

    async def slow_send(frame):
        slow_frames.append(json.loads(frame))

    everything = parse_filter("")
    fast = Subscription(fast_send, everything, buffer_size=5, max_backlog=1000)
    slow = Subscription(slow_send, everything, backlog=lambda: backlog["bytes"], buffer_size=5, max_backlog=1000)
    hub.subscribe(fast)
    hub.subscribe(slow)
    for n in range(12):
        hub.dispatch(json.dumps({"n": n}), {})
        await asyncio.sleep(0.02)  # a flush between packets
    assert [p["n"] for f in fast_frames for p in f["packets"]] == list(range(12))
    assert slow_frames == []  # its socket is full: nothing more is queued in twisted
    backlog["bytes"] = 0
    await asyncio.sleep(0.05)
    (frame,) = slow_frames
    assert frame["dropped"] == 7
    assert [p["n"] for p in frame["packets"]] == [7, 8, 9, 10, 11]
    assert slow.delivered + slow.dropped_total == 12


async def test_packets_that_arrive_during_a_send_travel_together():
    from channels.layers import get_channel_layer

    from gateway.names import FEED_GROUP

    layer = get_channel_layer()
    await layer.group_add(FEED_GROUP, "aprs-feed-hub.watch")
    group_send = layer.group_send

    async def slow_group_send(group, message):  # a layer a network hop away, like Redis
        await asyncio.sleep(0.05)
        await group_send(group, message)

    layer.group_send = slow_group_send
    news = await news_instance()
    lines = [CAR.replace(b"Demo car", b"car %d" % n) for n in range(50)]
    await ingest(news, *lines)
    messages = []
    while sum(len(m["packets"]) for m in messages) < 50:
        messages.append(await asyncio.wait_for(layer.receive("aprs-feed-hub.watch"), 2))
    assert len(messages) < 10  # not one per packet
    assert [item for m in messages for item, facts in m["packets"]] == [
        feed_item(decode_line(line, 1.0)) for line in lines
    ]
    assert messages[-1]["sequence"] == 50


def test_hub_counts_packets_the_layer_dropped():
    hub = FeedHub(channel_layer=None)
    for origin, first, last in [("a", 1, 1), ("a", 2, 4), ("b", 7, 9), ("a", 7, 7), ("b", 10, 12), ("a", 8, 9)]:
        hub.count_losses(origin, first, last)
    assert hub.lost == 2  # a: 5 and 6 never arrived; b started at 7, which is no loss


def test_in_memory_layer_gives_the_hub_room():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer.get_capacity("aprs-feed-hub.0123abcd") == 20000
    assert layer.get_capacity("specific..inmemory!abc") == 1000


async def test_a_burst_bigger_than_the_buffer_reaches_a_client_that_keeps_up():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    hub = FeedHub(layer, flush_interval=10.0)  # the tick alone would come far too late
    frames = []

    async def send(frame):
        frames.append(json.loads(frame))

    hub.subscribe(Subscription(send, parse_filter(""), buffer_size=8, max_backlog=1000))
    channel = hub.channel
    for n in range(0, 100, 5):  # queued before the hub reads: receive() will not suspend
        await layer.send(
            channel,
            {
                "type": "feed.packets",
                "origin": "o",
                "sequence": n + 5,
                "packets": [[json.dumps({"n": m}), {}] for m in range(n, n + 5)],
            },
        )
    receiving = asyncio.ensure_future(hub._receive())
    await asyncio.sleep(0.1)
    receiving.cancel()
    assert sum(frame["dropped"] for frame in frames) == 0
    assert [p["n"] for f in frames for p in f["packets"]] == list(range(100))


async def archive_message(timeout):
    from channels.layers import get_channel_layer

    from gateway.names import ARCHIVE_CHANNEL

    return await asyncio.wait_for(get_channel_layer().receive(ARCHIVE_CHANNEL), timeout)


async def test_the_archive_gets_a_seconds_packets_in_one_message_and_the_ack_waits_for_it(settings):
    settings.ARCHIVE_FLUSH_INTERVAL = 0.5
    news = await news_instance()
    assert (await news.receive_output(1))["type"] == "aprs.batches"
    first = await ingest(news, CAR, FAR)
    # the feed has them; the archive not yet: the server is to keep them for a replacement
    assert await news.receive_output(1) == {"type": "aprs.ack", "seq": first[0]["seq"] - 1}
    second = await ingest(news, TELEMETRY)
    assert await news.receive_output(1) == {"type": "aprs.ack", "seq": first[0]["seq"] - 1}
    with pytest.raises(asyncio.TimeoutError):
        await archive_message(0.2)
    message = await archive_message(1)
    assert [body["raw"] for body in message["packets"]] == [CAR, FAR, TELEMETRY]
    assert [body["delivery"].rpartition("-")[2] for body in message["packets"]] == [
        str(p["seq"]) for p in first + second
    ]
    assert await news.receive_output(1) == {"type": "aprs.ack", "seq": second[-1]["seq"]}
    third = await ingest(news, CAR)  # a quiet link: the next packet waits again
    assert await news.receive_output(1) == {"type": "aprs.ack", "seq": third[0]["seq"] - 1}
    await news.send_input({"type": "aprs.disconnect", "reason": "test"})  # what waits goes on stopping
    assert [body["raw"] for body in (await archive_message(1))["packets"]] == [CAR]
    await news.wait(1)


async def test_a_thousand_packets_go_to_the_archive_at_once(settings):
    from consumers.aprs.outputs import ARCHIVE_HAND_ON

    settings.ARCHIVE_FLUSH_INTERVAL = 60
    news = await news_instance()
    assert (await news.receive_output(1))["type"] == "aprs.batches"
    lines = [CAR.replace(b"Demo car", b"car %d" % n) for n in range(ARCHIVE_HAND_ON)]
    taken = []
    for at in range(0, len(lines), settings.FEED_BATCH_MAX):
        taken += await ingest(news, *lines[at : at + settings.FEED_BATCH_MAX])
        expected = taken[-1]["seq"] if len(taken) == ARCHIVE_HAND_ON else taken[0]["seq"] - 1
        assert await news.receive_output(2) == {"type": "aprs.ack", "seq": expected}
    assert [body["raw"] for body in (await archive_message(1))["packets"]] == lines
    await news.send_input({"type": "aprs.disconnect", "reason": "test"})
    await news.wait(1)
    with pytest.raises(asyncio.TimeoutError):  # nothing twice
        await archive_message(0.2)


async def test_the_next_packet_waits_a_whole_interval_after_a_full_message(settings):
    from consumers.aprs.outputs import ARCHIVE_HAND_ON

    settings.ARCHIVE_FLUSH_INTERVAL = 1.0
    news = await news_instance()
    assert (await news.receive_output(1))["type"] == "aprs.batches"
    lines = [CAR.replace(b"Demo car", b"car %d" % n) for n in range(ARCHIVE_HAND_ON)]
    for at in range(0, len(lines), settings.FEED_BATCH_MAX):
        await ingest(news, *lines[at : at + settings.FEED_BATCH_MAX])
    assert len((await archive_message(1))["packets"]) == ARCHIVE_HAND_ON
    await asyncio.sleep(0.4)
    await ingest(news, FAR)
    sent = time.monotonic()
    # the first message's interval ends while FAR waits; FAR's own interval starts with it
    assert [body["raw"] for body in (await archive_message(3))["packets"]] == [FAR]
    assert time.monotonic() - sent >= 0.8

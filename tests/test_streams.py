"""Server-Sent Events and long-poll: in one process for cleanup, through the daemon for real."""

import asyncio
import json
import signal
import time

import httpx
import pytest
from channels.layers import channel_layers, get_channel_layer
from channels.testing import ApplicationCommunicator

from config.asgi import application
from gateway.models import Room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_layer():
    Room.objects.get_or_create(name="lobby")
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def http_scope(path, query=b""):
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "headers": [],
        "client": ["127.0.0.1", 5000],
        "server": ["127.0.0.1", 8000],
        "scheme": "http",
    }


async def open_stream(path, query=b""):
    communicator = ApplicationCommunicator(application, http_scope(path, query))
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(2)
    return communicator, start


async def test_unknown_stream_is_404_and_bad_filter_400():
    communicator, start = await open_stream("/notifications/weather/")
    assert start["status"] == 404
    body = await communicator.receive_output(2)
    assert b"unknown stream 'weather'" in body["body"]
    communicator, start = await open_stream("/notifications/packets/", b"filter=r/1/2")
    assert start["status"] == 400


async def test_chat_stream_leaves_its_group_when_the_client_goes():
    layer = get_channel_layer()
    communicator, start = await open_stream("/notifications/chat/")
    assert start["status"] == 200 and (b"content-type", b"text/event-stream; charset=utf-8") in [
        (k.lower(), v) for k, v in start["headers"]
    ]
    assert (await communicator.receive_output(2))["body"] == b": stream chat\nretry: 3000\n\n"
    assert len(layer.groups.get("chat-room-lobby", {})) == 1
    await layer.group_send("chat-room-lobby", {"type": "chat.message", "message": {"id": 1, "text": "<b>hi</b>"}})
    event = (await communicator.receive_output(2))["body"].decode()
    assert event.startswith("event: message\ndata: ")
    assert json.loads(event.split("data: ", 1)[1]) == {"message": {"id": 1, "text": "<b>hi</b>"}}
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(2)
    assert not layer.groups.get("chat-room-lobby")  # no leaked membership


async def test_packets_stream_unsubscribes_from_the_hub_when_the_client_goes():
    from gateway.feed.hub import get_hub

    communicator, start = await open_stream("/notifications/packets/", b"filter=b/N0DEMO*")
    await communicator.receive_output(2)
    hub = get_hub()
    assert len(hub.subscriptions) == 1
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(2)
    assert len(hub.subscriptions) == 0


# --- through the daemon -----------------------------------------------------------------

LINES = [f"N0DEMO-{n % 3}>APRS:>sse {n}".encode() for n in range(30)]


@pytest.mark.django_db(False)
async def test_sse_packets_with_a_real_http_client(daemon, upstream):
    gateway = await daemon("--aprs-server", upstream.address).started()
    session = await upstream.next_session()
    session.logresp()
    received = []
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", gateway.url + "/notifications/packets/?filter=b/N0DEMO-1") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert await anext(lines) == ": stream packets"
            assert await anext(lines) == "retry: 3000"
            session.send_lines(LINES)
            while len(received) < 10:
                line = await asyncio.wait_for(anext(lines), 10)
                if line.startswith("data: "):
                    received += [p["text"] for p in json.loads(line[6:])["packets"]]
    assert received == [line.decode() for line in LINES if line.startswith(b"N0DEMO-1>")]


@pytest.mark.django_db(False)
async def test_longpoll_cursor_semantics(daemon, upstream):
    gateway = await daemon("--aprs-server", upstream.address, env={"LONGPOLL_BUFFER": "20"}).started()
    session = await upstream.next_session()
    session.logresp()
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        start = (await client.get("/longpoll/")).json()
        assert start == {"cursor": 0, "missed": 0, "packets": []}
        began = time.monotonic()
        empty = (await client.get("/longpoll/", params={"cursor": 0, "timeout": 1})).json()
        assert empty["packets"] == [] and time.monotonic() - began >= 0.9  # waited, then gave up
        waiting = asyncio.ensure_future(client.get("/longpoll/", params={"cursor": 0, "timeout": 20}))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        session.send_lines(LINES[:5])
        sent_at = time.monotonic()
        first = (await waiting).json()  # answered as soon as packets came, not after 20 s
        assert time.monotonic() - sent_at < 2.0, "the long poll was not answered when packets came"
        assert [p["text"] for p in first["packets"]][:1] == [LINES[0].decode()]
        await asyncio.sleep(0.5)
        batch = (await client.get("/longpoll/", params={"cursor": 0})).json()
        assert [p["text"] for p in batch["packets"]] == [line.decode() for line in LINES[:5]]
        assert batch["cursor"] == 5
        filtered = (await client.get("/longpoll/", params={"cursor": 0, "filter": "b/N0DEMO-2"})).json()
        assert [p["text"] for p in filtered["packets"]] == [LINES[2].decode()]
        session.send_lines(LINES[5:30])  # more than the buffer holds
        await asyncio.sleep(1)
        late = (await client.get("/longpoll/", params={"cursor": 5})).json()
        assert late["missed"] == 5 and len(late["packets"]) == 20 and late["cursor"] == 30
        bad = await client.get("/longpoll/", params={"cursor": "x"})
        assert bad.status_code == 400 and "cursor" in bad.json()["error"]


async def test_news_stream_carries_bulletins_only():
    from consumers.aprs.aprsis import APRSNewsConsumer
    from protocols.aprs.decode import decode_line

    communicator, start = await open_stream("/notifications/news/")
    await communicator.receive_output(2)
    news = ApplicationCommunicator(
        APRSNewsConsumer.as_asgi(),
        {"type": "aprs", "source": "aprs-is", "login": "N0CALL", "verified": False, "server_id": "T"},
    )
    await news.send_input({"type": "aprs.connect"})
    for seq, raw in enumerate((b"N0DEMO>APRS::N0DEMO-9 :not news", b"N0DEMO>APRS::BLN1DEMO :Net tonight at 20:00")):
        packet = {"type": "aprs.packet", "seq": seq, **decode_line(raw, 1.0)}
        await news.send_input({"type": "aprs.packets", "packets": [packet]})
    event = (await communicator.receive_output(2))["body"].decode()
    name, data = event.split("\n")[:2]
    assert name == "event: bulletin"
    assert json.loads(data[6:]) == {"from": "N0DEMO", "to": "BLN1DEMO", "text": "Net tonight at 20:00", "received": 1.0}
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(2)


async def read_events(response, until):
    """(id, packets texts) of ``packets`` events, and other events by name, until ``until(events)``."""
    events, current = [], {}
    lines = response.aiter_lines()
    while not until(events):
        line = await asyncio.wait_for(anext(lines), 10)
        if not line:
            if current:
                events.append(current)
            current = {}
        elif ":" in line and not line.startswith(":"):
            field, _, value = line.partition(":")
            current[field] = value.lstrip()
    return events


def texts(events):
    return [p["text"] for e in events if e.get("event") == "packets" for p in json.loads(e["data"])["packets"]]


@pytest.mark.django_db(False)
async def test_sse_resumes_on_another_node_from_last_event_id(daemon, upstream, redis):
    env = {"REDIS_URL": redis.url}
    first = await daemon("--aprs-server", upstream.address, env=env).started()
    session = await upstream.next_session()
    session.logresp()
    other = await daemon("--aprs-server", upstream.address, env=env).started()
    await other.until_log("standing by")
    lines = [f"N0SSE-{n % 3}>APRS:>resume {n}".encode() for n in range(60)]
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", first.url + "/notifications/packets/") as response:
            session.send_lines(lines[:20])
            events = await read_events(response, lambda ev: len(texts(ev)) >= 20)
    seen = texts(events)
    last_id = [e["id"] for e in events if e.get("event") == "packets"][-1]
    session.send_lines(lines[20:60])  # while the client is away
    await asyncio.sleep(1)
    async with httpx.AsyncClient(timeout=10) as client:
        headers = {"Last-Event-ID": last_id}
        async with client.stream("GET", other.url + "/notifications/packets/", headers=headers) as response:
            events = await read_events(response, lambda ev: len(texts(ev)) >= 40)
    assert seen + texts(events) == [line.decode() for line in lines]  # nothing lost, nothing twice
    assert not [e for e in events if e.get("event") == "missed"]


@pytest.mark.django_db(False)
async def test_a_resume_older_than_the_buffer_says_how_many_were_missed(daemon, upstream):
    gateway = await daemon("--aprs-server", upstream.address, env={"LONGPOLL_BUFFER": "10"}).started()
    session = await upstream.next_session()
    session.logresp()
    session.send_lines([f"N0OLD>APRS:>old {n}".encode() for n in range(25)])
    await asyncio.sleep(1)
    async with httpx.AsyncClient(timeout=10) as client:
        headers = {"Last-Event-ID": "1"}  # long before anything held
        async with client.stream("GET", gateway.url + "/notifications/packets/", headers=headers) as response:
            events = await read_events(response, lambda ev: len(texts(ev)) >= 10)
    (missed,) = [json.loads(e["data"]) for e in events if e.get("event") == "missed"]
    assert missed == {"missed": 15, "exact": True}
    assert texts(events) == [f"N0OLD>APRS:>old {n}" for n in range(15, 25)]


@pytest.mark.django_db(False)
async def test_sigterm_ends_streams_cleanly_and_answers_long_polls(daemon, upstream):
    gateway = await daemon("--aprs-server", upstream.address).started()
    session = await upstream.next_session()
    session.logresp()
    async with httpx.AsyncClient(timeout=15, base_url=gateway.url) as client:
        cursor = (await client.get("/longpoll/")).json()["cursor"]
        polling = asyncio.ensure_future(client.get("/longpoll/", params={"cursor": cursor, "timeout": 50}))
        async with client.stream("GET", "/notifications/packets/") as response:
            await asyncio.sleep(0.5)
            gateway.process.send_signal(signal.SIGTERM)
            body = await asyncio.wait_for(response.aread(), 10)  # returns only once the body ended
        events = [
            dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
            for block in body.decode().split("\n\n")
            if block.strip()
        ]
        events = [event for event in events if event]
        answer = await asyncio.wait_for(polling, 10)
        assert answer.status_code == 200 and answer.json()["packets"] == []
    assert gateway.process.wait(15) == 0
    assert json.loads(events[-1]["data"]) == {"reason": "server shutting down"}
    reset = None
    gateway2 = await daemon("--aprs-server", upstream.address).started()
    (await upstream.next_session()).logresp()
    async with httpx.AsyncClient(timeout=15, base_url=gateway2.url) as client:
        reset = (await client.get("/longpoll/", params={"cursor": 12345, "timeout": 20})).json()
    assert reset == {"cursor": 0, "missed": 0, "reset": True, "packets": []}  # at once, not after 20 s

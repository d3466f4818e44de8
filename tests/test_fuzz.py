"""Property-based fuzzing (Hypothesis) of every parser and protocol entry.

``make test`` runs ``FUZZ_EXAMPLES`` (default 2,000) cases per target; ``make fuzz``
runs 100,000 and writes the totals to docs/robustness.md. The properties: no input
raises anything but the documented refusal, what is accepted is well-formed, and
nothing grows without bound."""

import json
import math
import os
import re

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.frames import MAX_BAD_FRAMES, FrameError
from gateway.feed.items import feed_item
from gateway.feed.wsframe import dumps
from protocols.aprs import ax25, captures, kiss, login, qconstruct
from protocols.aprs.decode import decode_line
from protocols.aprs.dupes import dupe_key
from protocols.aprs.filters import FilterError, packet_facts, parse_filter
from protocols.aprs.lines import MAX_CONTENT, LineSplitter
from tests.data import CORPUS_FILES, corpus_lines
from tests.feedclient import raw_bytes

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
ENDPOINT_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))  # a round trip each: `make fuzz` runs 100,000
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

CORPUS = [line for name in CORPUS_FILES for line in corpus_lines(name)[:400]]
real_line = st.sampled_from(CORPUS)
# Real lines, cut and spliced and sprinkled with bytes: what a stream really throws.
mutated_line = st.one_of(
    real_line,
    st.builds(
        lambda line, cut, junk: (line[:cut] + junk + line[cut:])[:600],
        real_line,
        st.integers(0, 300),
        st.binary(max_size=40),
    ),
    st.binary(max_size=600),
).map(lambda line: line.replace(b"\r", b"").replace(b"\n", b""))
text = st.text(max_size=200)  # includes lone surrogates


@fuzz
@given(
    st.lists(st.one_of(mutated_line, st.sampled_from([b"\r", b"\n", b"\r\n", b"\x00", b"x" * 700])), max_size=30),
    st.integers(1, 64),
)
def test_line_splitter(pieces, chunk):
    stream = b"".join(pieces)
    splitter = LineSplitter()
    lines = []
    for start in range(0, len(stream), chunk):
        lines += splitter.feed(stream[start : start + chunk])
        assert splitter.pending <= MAX_CONTENT  # bounded whatever comes
    *terminated, tail = re.split(rb"[\r\n]", stream)
    expected = [line for line in terminated if line and len(line) <= MAX_CONTENT]
    assert all(line and len(line) <= MAX_CONTENT and b"\r" not in line and b"\n" not in line for line in lines)
    # Exactly: in whatever chunks it comes, an over-long line costs itself alone, and is counted once
    # (its unfinished tail too, once it passes the limit).
    assert lines == expected
    assert splitter.oversized == sum(len(line) > MAX_CONTENT for line in [*terminated, tail])


@fuzz
@given(mutated_line)
def test_decoder_and_feed_json(raw):
    event = decode_line(raw, 1_700_000_000.0)
    assert event["packet"]["format"]
    item = json.loads(feed_item(event))
    assert raw_bytes(item) == raw  # the bytes always survive
    packet_facts(event["packet"], raw)
    dupe_key(raw)


@fuzz
@given(st.one_of(text, st.builds(lambda c, p, rest: f"user {c} pass {p} vers {rest}", text, text, text)))
def test_login_lines(line):
    try:
        credentials = login.parse_login(line)
    except login.LoginError:
        return
    assert credentials.callsign == credentials.callsign.strip() and credentials.callsign
    login.parse_logresp(line)


filter_part = st.one_of(
    text,
    st.builds(lambda kind, args: f"{kind}/{args}", st.sampled_from("rabpotsdugefmq-"), text),
)


@fuzz
@given(st.lists(filter_part, max_size=6).map(" ".join), mutated_line)
def test_filters(spec, raw):
    try:
        packet_filter = parse_filter(spec)
    except FilterError:
        return
    packet_filter.matches(packet_facts(decode_line(raw, 0.0)["packet"], raw))


@fuzz
@given(
    st.lists(st.one_of(st.binary(max_size=400), st.builds(kiss.data_frame, st.binary(max_size=300))), max_size=10),
    st.integers(1, 64),
)
def test_kiss_stream_and_ax25(pieces, chunk):
    stream = b"".join(pieces)
    decoder = kiss.KISSDecoder()
    for start in range(0, len(stream), chunk):
        for _port, frame in decoder.feed(stream[start : start + chunk]):
            try:
                line = ax25.to_tnc2(frame)
            except ValueError:
                continue
            assert ax25.to_tnc2(ax25.from_tnc2(line)) == line  # what we read, we can send back
    assert len(decoder.buffer) <= kiss.MAX_FRAME + chunk


@fuzz
@given(st.binary(max_size=300))
def test_kiss_frames_round_trip(payload):
    assert kiss.KISSDecoder().feed(kiss.data_frame(payload)) == [(0, payload)]


@fuzz
@given(mutated_line, st.from_regex(r"[A-Z0-9]{1,6}(-[0-9]{1,2})?", fullmatch=True))
def test_q_constructs(line, callsign):
    for step in (
        lambda: qconstruct.incoming(line, callsign, "T2TEST"),
        lambda: qconstruct.rf_gated(line, callsign),
        lambda: qconstruct.with_server_q(line, "T2TEST"),
    ):
        try:
            result = step()
        except qconstruct.Refused:
            continue
        assert b"\r" not in result and b"\n" not in result


@fuzz
@given(
    st.lists(st.one_of(mutated_line, text.map(lambda t: t.encode("utf-8", "surrogateescape"))), max_size=8),
    st.sampled_from(captures.FORMATS),
)
def test_capture_readers(lines, fmt):
    for number, packet, when, reason in captures.read(lines, fmt, 1_700_000_000.0):
        assert 1 <= number <= len(lines)
        assert (packet is None) == (when is None) == (reason is not None)
    try:
        captures.detect(lines)
    except captures.CaptureError:
        pass


# JSON as text, so that it can hold what json.dumps would refuse or never write: integers of
# thousands of digits (int() stops at 4,300), NaN and Infinity, nesting hundreds deep.
json_scalar = st.one_of(
    st.sampled_from(["null", "true", "false", "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "-0", "1e-999"]),
    st.integers().map(str),
    st.one_of(st.integers(16, 400), st.integers(4_301, 6_000)).map(lambda digits: "9" * digits),
    st.floats().map(repr).filter(lambda f: f not in ("nan", "inf", "-inf")),
    text.map(json.dumps),  # lone surrogates come out as \\ud800 escapes
)
json_text = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.dictionaries(st.text(max_size=8), inner, max_size=4).map(
            lambda members: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in members.items()) + "}"
        ),
    ),
    max_leaves=10,
)
deep_json = st.builds(
    lambda depth, inner, shape: (shape[0] * depth) + inner + (shape[1] * depth),
    st.integers(1, 2000),
    json_scalar,
    st.sampled_from([("[", "]"), ('{"a":', "}")]),
)
any_json = st.one_of(json_text, deep_json)


def frames_for(types, fields):
    """Frames for an endpoint: any JSON, and objects with a ``type`` (known or any JSON) and
    the endpoint's own fields holding any JSON at all."""
    return st.one_of(
        any_json,
        text,
        st.builds(
            lambda kind, rest: "{" + ",".join([f'"type":{kind}', *(f"{json.dumps(k)}:{v}" for k, v in rest)]) + "}",
            st.one_of(st.sampled_from(sorted(types)).map(json.dumps), any_json),
            st.lists(st.tuples(st.sampled_from(sorted(fields)), any_json), max_size=3),
        ),
    )


ENDPOINTS = {
    # path: (its frame schema, the fields its frames have, a user's role, the first frame's type)
    "/ws/aprs/": ("consumers.feed.FRAMES", {"filter", "recent"}, None, "hello"),
    "/chat/": ("consumers.chat.MEMBER_FRAMES", {"text", "id", "nick", "to"}, None, "joined"),
    "/chat/admin/": ("consumers.chat.ADMIN_FRAMES", {"room", "text", "id", "user", "minutes"}, "staff", "admin"),
    "/ws/messages/": ("consumers.messages.FRAMES", {"to", "text", "station", "prefix"}, "user", "hello"),
}


def schema_of(path):
    from django.utils.module_loading import import_string

    return import_string(ENDPOINTS[path][0])


def all_frames():
    return st.sampled_from(sorted(ENDPOINTS)).flatmap(
        lambda path: st.tuples(st.just(path), frames_for(schema_of(path).types, ENDPOINTS[path][1]))
    )


@fuzz
@given(all_frames())
def test_websocket_frames(path_and_frame):
    """Every endpoint's schema: a frame is its model, with a single value in every field,
    or a FrameError whose reason can be sent; never anything else."""
    path, frame = path_and_frame
    try:
        parsed = schema_of(path).parse(frame, None)
    except FrameError as refusal:
        dumps({"type": "error", "reason": str(refusal)}).encode("utf-8")
        return
    assert parsed.type in schema_of(path).types
    for value in parsed.model_dump().values():
        assert value is None or isinstance(value, (str, int, float, bool)), (path, frame)
        assert not isinstance(value, float) or math.isfinite(value)
    dumps(parsed.model_dump()).encode("utf-8")  # what we say back can always be sent


@pytest.fixture
def someone(request):
    """The user each endpoint is opened as (anonymous, a logged-in user with a callsign, staff)."""
    from django.contrib.auth.models import AnonymousUser, User

    from gateway.models import Profile, Room

    Room.objects.get_or_create(name="lobby")
    role = ENDPOINTS[request.node.callspec.params["path"]][2]
    if role is None:
        return AnonymousUser()
    user = User.objects.create_user(f"fuzz-{role}", is_staff=role == "staff")
    Profile.objects.create(user=user, callsign="N0ANN")
    return user


@pytest.fixture
async def open_connection():
    """One connection per endpoint kept across examples (a connection each cost 15 ms, a frame
    1 ms), replaced before the bad-frame limit closes it; closed at the end."""
    held = {}

    async def connection(path, user):
        from channels.routing import URLRouter

        from config.asgi import websocket_routes

        socket, used = held.get(path, (None, MAX_BAD_FRAMES))
        if used >= MAX_BAD_FRAMES - 1:
            if socket is not None:
                await socket.disconnect()
            socket = WebsocketCommunicator(URLRouter(websocket_routes), path)
            socket.scope["user"] = user
            socket.scope["client"] = ["127.0.0.1", 5000]
            connected, _ = await socket.connect(timeout=30)  # the harness, not the property: a busy machine
            assert connected
            assert (await socket.receive_json_from(timeout=30))["type"] == ENDPOINTS[path][3]
            used = 0
        held[path] = (socket, used + 1)
        return socket

    yield connection
    for socket, _ in held.values():
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)  # the consumers reach the database from Channels' threads
@pytest.mark.parametrize("path", sorted(ENDPOINTS))
@settings(fuzz, max_examples=ENDPOINT_EXAMPLES)
@given(data=st.data())
async def test_every_endpoint_answers_every_frame(path, someone, open_connection, data):
    """Through the real router, as a browser's frames arrive: each is answered with a frame
    (an error for what is refused), never a crash (1011) or silence."""
    frame = data.draw(frames_for(schema_of(path).types, ENDPOINTS[path][1]).filter(bool))  # the harness sends no ""
    socket = await open_connection(path, someone)
    await socket.send_to(text_data=frame)
    while (reply := await socket.receive_json_from(timeout=30))["type"] == "presence":
        pass
    assert reply["type"] not in ("hello", "joined", "admin"), reply


@pytest.mark.django_db
@fuzz
@given(
    st.dictionaries(
        st.sampled_from(["since", "until", "limit", "before", "callsign", "format", "bbox", "hours"]),
        st.one_of(
            text,
            st.integers().map(str),
            st.floats().map(str),
            json_scalar,
            st.integers(4_301, 6_000).map(lambda digits: "1" * digits),  # int() refuses over 4,300 digits
            any_json,
            st.sampled_from(
                [
                    "1e308",
                    "-1e308",
                    "nan",
                    "inf",
                    "0001-01-01T00:00:00+14:00",
                    "9999-12-31T23:59:59-14:00",
                    "2026-11-28T00:00:00",
                    str(2**63),
                ]
            ),
        ),
        max_size=4,
    ),
    st.sampled_from(
        [
            "/api/packets/",
            "/api/stations/",
            "/api/bad-packets/",
            "/api/stations/N0CALL/",
            "/api/stations/N0CALL/weather/",
            "/api/stations/N0CALL/telemetry/",
        ]
    ),
)
def test_api_query_parameters(params, path):
    params = {key: value.replace("\x00", "") for key, value in params.items()}
    response = Client().get(path, params)
    assert response.status_code in (200, 400, 404), (response.status_code, params)

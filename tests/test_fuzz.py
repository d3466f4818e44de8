"""Property-based fuzzing (Hypothesis) of every parser and protocol entry.

``make test`` runs ``FUZZ_EXAMPLES`` (default 2,000) cases per target; ``make fuzz``
runs 100,000 and writes the totals to docs/robustness.md. The properties: no input
raises anything but the documented refusal, what is accepted is well-formed, and
nothing grows without bound."""

import json
import os
import re

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.feed import APRSFeedConsumer
from consumers.frames import FrameError, parse_frame
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
    expected = [line for line in re.split(rb"[\r\n]", stream)[:-1] if line and len(line) <= MAX_CONTENT]
    assert all(line and len(line) <= MAX_CONTENT and b"\r" not in line and b"\n" not in line for line in lines)
    assert lines == expected or splitter.oversized  # an over-long tail swallowed across chunks is counted


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


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=10,
)


@fuzz
@given(
    st.one_of(
        text,
        json_value.map(lambda value: json.dumps(value)),
        st.builds(
            lambda t, rest: json.dumps({"type": t, **rest}),
            st.sampled_from(["subscribe", "message", "nick", "ping", "x"]),
            st.dictionaries(st.sampled_from(["filter", "text", "id", "recent", "nick"]), json_value),
        ),
    )
)
def test_websocket_frames(frame):
    try:
        parsed = parse_frame(frame, None, {"subscribe", "unsubscribe", "message", "nick", "ping"})
    except FrameError as refusal:
        dumps({"type": "error", "reason": str(refusal)}).encode("utf-8")
        return
    dumps(parsed).encode("utf-8")  # what we say back can always be sent


@pytest.mark.django_db  # Channels closes stale database connections before each event
@fuzz
@given(
    st.builds(
        lambda t, rest: json.dumps({"type": t, **rest}),
        st.sampled_from(["subscribe", "unsubscribe", "x"]),
        st.dictionaries(st.sampled_from(["filter", "recent"]), json_value, max_size=2),
    )
)
async def test_feed_consumer_answers_every_frame(frame):
    # The consumer itself (the origin check and sessions in front of it have their own tests).
    communicator = WebsocketCommunicator(APRSFeedConsumer.as_asgi(), "/ws/aprs/")
    connected, _ = await communicator.connect(timeout=30)  # the harness, not the property: a busy machine
    assert connected
    assert (await communicator.receive_json_from(timeout=30))["type"] == "hello"
    await communicator.send_to(text_data=frame)
    reply = await communicator.receive_json_from(timeout=30)  # generous: the machine may be busy
    assert reply["type"] in ("subscribed", "unsubscribed", "error")
    await communicator.disconnect()


@pytest.mark.django_db
@fuzz
@given(
    st.dictionaries(
        st.sampled_from(["since", "until", "limit", "before", "callsign", "format", "bbox"]),
        st.one_of(
            text,
            st.integers().map(str),
            st.floats().map(str),
            st.sampled_from(
                [
                    "1e308",
                    "-1e308",
                    "nan",
                    "inf",
                    "0001-01-01T00:00:00+14:00",
                    "9999-12-31T23:59:59-14:00",
                    "2026-11-28T00:00:00",
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
        ]
    ),
)
def test_api_query_parameters(params, path):
    params = {key: value.replace("\x00", "") for key, value in params.items()}
    response = Client().get(path, params)
    assert response.status_code in (200, 400, 404), (response.status_code, params)

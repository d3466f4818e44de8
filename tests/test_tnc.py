"""The KISS TNC link, through the real daemon and a real TCP KISS server."""

import asyncio
import json

import pytest
import websockets

from protocols.aprs.ax25 import from_tnc2, to_tnc2
from protocols.aprs.dupes import dupe_key
from protocols.aprs.kiss import FEND, data_frame
from protocols.aprs.qconstruct import Refused, rf_gated
from tests.data import corpus_lines
from tests.feedclient import FeedClient
from tests.kisstnc import FakeTNC
from tests.test_chat_daemon import log_in, next_of
from tests.test_igate import feed_packets
from tests.test_outbox import HAM

GATE = "N0GATE-1"


@pytest.fixture
async def tnc():
    server = await FakeTNC().start()
    yield server
    await server.close()


def rf_frames(count):
    """Frames of real RF packets that an iGate would pass on, one per dupe key."""
    frames, keys = [], set()
    for line in corpus_lines("sp8ebc_rf_lines.txt"):
        try:
            frame = from_tnc2(line)
            rf_gated(line, GATE)
        except (ValueError, Refused):
            continue
        if dupe_key(line) not in keys:
            keys.add(dupe_key(line))
            frames.append(frame)
        if len(frames) == count:
            return frames


async def tnc_daemon(daemon, tnc, env=None):
    env = {"APRS_CALLSIGN": GATE, "APRS_RECONNECT_MIN": "0.2", "APRS_RECONNECT_MAX": "0.5", **(env or {})}
    return await daemon("--no-aprs", "--kiss", f"127.0.0.1:{tnc.port}", env=env).started()


async def test_frames_from_the_tnc_reach_the_feed_byte_for_byte_and_the_link_comes_back(daemon, tnc):
    gateway = await tnc_daemon(daemon, tnc)
    feed = await FeedClient.connect(gateway.ws_url)
    await feed.subscribe("")
    frames = rf_frames(300)
    writer = await tnc.next_connection()
    garbage = bytes([FEND, 0x00]) + b"\x01\x02\x03" + bytes([FEND])  # no AX.25 address field
    writer.write(b"".join(data_frame(frame) for frame in frames[:150]) + garbage)
    expected = []
    for frame in frames:
        head, _, info = to_tnc2(frame).partition(b":")
        expected.append(head + b",qAR," + GATE.encode() + b":" + info)
    assert await feed_packets(feed, 150) == expected[:150]
    # the TNC goes away; the link reconnects and carries on
    writer.close()
    writer = await tnc.next_connection()
    writer.write(b"".join(data_frame(frame) for frame in frames[150:]))
    assert await feed_packets(feed, 150) == expected[150:]
    status = await gateway.get_json("/api/status")
    assert status["tnc"]["state"] == "connected" and status["tnc"]["frames"] == 300
    assert status["tnc"]["refused"] == {"AX.25": 1}
    assert "unreadable frame from the TNC: AX.25: frame ends inside the address field" in gateway.log()


async def test_web_messages_go_on_the_air_as_third_party_packets(daemon, tnc):
    daemon.manage("migrate", "--noinput")
    daemon.manage("shell", "-c", HAM.format(verified=True))
    gateway = await tnc_daemon(daemon, tnc, env={"KISS_TRANSMIT": "true"})
    await tnc.next_connection()
    await gateway.until_log("aprs application started for kiss")
    cookie = await asyncio.to_thread(log_in, gateway.url, "ham", "ham-secret-1")
    socket = await websockets.connect(
        gateway.ws_url + "/chat/", origin=gateway.url, additional_headers={"Cookie": cookie}
    )
    await next_of(socket, "joined")
    await socket.send(json.dumps({"type": "aprs_message", "to": "N0DEMO-9", "text": "over the air"}))
    frame = await asyncio.wait_for(tnc.received.get(), 10)
    assert to_tnc2(frame) == b"N0GATE-1>APRS,WIDE1-1:}N0HAM>APRS,TCPIP,N0GATE-1*::N0DEMO-9 :over the air{1"
    assert (await next_of(socket, "outbox"))["message"]["state"] in ("queued", "sent")


async def test_receive_only_tnc_transmits_nothing(daemon, tnc):
    gateway = await tnc_daemon(daemon, tnc)
    await tnc.next_connection()
    await gateway.until_log("KISS TNC at 127.0.0.1")
    assert "receive only" in gateway.log()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(tnc.received.get(), 1)

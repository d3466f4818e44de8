"""Real radio software from Debian against the gateway: Dire Wolf and aprx.

Audio made by ``gen_packets`` is decoded by ``direwolf``, which logs in to our
APRS-IS server port as an iGate and serves KISS that our TNC link reads;
``aprx`` iGates from direwolf's KISS port to our server port. What they pass
on must reach a websocket client with the info field byte for byte, and a
web user's message must go back through the server port and out on the air.
"""

import asyncio
import json
import shutil
import subprocess
import time

import pytest
import websockets

from protocols.aprs.qconstruct import Refused, rf_gated, split_header
from tests.data import corpus_lines
from tests.direwolf import Direwolf, audio_of, low_free_port
from tests.feedclient import FeedClient, raw_bytes
from tests.test_chat_daemon import log_in, next_of
from tests.test_outbox import HAM

IGATE_CALL = "N0CALL-10"  # direwolf's login (passcode 13023)
GATE_CALL = "N0GATE-1"  # our own call, under which the TNC link gates


def played_lines():
    """A few real RF packets (one with a Latin-1 degree sign) and one from the station we message."""
    chosen = [b"N0DEMO-9>APRS,WIDE1-1:!4903.50N/07201.75W>test mobile 21\xb0C"]
    for line in corpus_lines("sp8ebc_rf_lines.txt"):
        source, dest, path, info = split_header(line)
        try:
            rf_gated(line, GATE_CALL)
        except Refused:
            continue
        if path or info[:1] not in (b"!", b"=", b"/", b"@", b">") or len(chosen) >= 6:
            continue  # direct, plain positions and status: what gen_packets and every iGate carry alike
        if all(split_header(other)[0] != source for other in chosen):
            chosen.append(line)
    return chosen


async def packets_from(feed, sources, timeout=60):
    """{source: raw line} once a packet of every source arrived on the feed."""
    found = {}
    deadline = time.monotonic() + timeout
    while set(found) != set(sources):
        frame = await feed.frame(max(0.1, deadline - time.monotonic()))
        for item in frame.get("packets", []):
            line = raw_bytes(item)
            found.setdefault(split_header(line)[0], line)
    return found


@pytest.fixture
def radio(tmp_path):
    started = []

    def start(*args, **kwargs):
        wolf = Direwolf(tmp_path, *args, **kwargs).start()
        started.append(wolf)
        return wolf

    yield start
    for wolf in started:
        wolf.stop()


async def test_direwolf_gates_to_our_port_and_feeds_our_tnc_link_and_gets_web_messages(daemon, radio, tmp_path):
    daemon.manage("migrate", "--noinput")
    daemon.manage("shell", "-c", HAM.format(verified=True))
    igate_port, kiss_port = low_free_port(), low_free_port()
    while kiss_port == igate_port:
        kiss_port = low_free_port()
    by_port = await daemon("--igate-port", str(igate_port), env={"IGATE_SERVER_ID": "T2LOCAL"}).started()
    by_kiss = await daemon(
        "--no-aprs", "--kiss", f"127.0.0.1:{kiss_port}", env={"APRS_CALLSIGN": GATE_CALL, "APRS_RECONNECT_MAX": "1"}
    ).started()
    feeds = [await FeedClient.connect(gateway.ws_url) for gateway in (by_port, by_kiss)]
    for feed in feeds:
        await feed.subscribe("")
    lines = played_lines()
    audio = await asyncio.to_thread(audio_of, lines, tmp_path)
    wolf = radio(
        IGATE_CALL,
        igate=f"127.0.0.1:{igate_port}",
        igate_login=f"{IGATE_CALL} 13023",
        kiss_port=kiss_port,
        igtxvia=True,
    )
    await by_port.until_log(f"({IGATE_CALL}) logged in, verified, software Dire-Wolf 1.6", timeout=30)
    await by_kiss.until_log(f"connected to KISS TNC 127.0.0.1:{kiss_port}", timeout=30)
    await asyncio.sleep(8)  # direwolf gates nothing for ~7 s after its login
    wolf.play(audio)

    sources = [split_header(line)[0] for line in lines]
    via_port = await packets_from(feeds[0], sources)
    via_kiss = await packets_from(feeds[1], sources)
    for line in lines:
        source, dest, path, info = split_header(line)
        # direwolf's own iGate adds qAR,<login> (IGTXVIA set); our TNC link adds qAR,<our call>
        assert split_header(via_port[source])[3] == info, (line, via_port[source])
        for gated, call in ((via_port[source], IGATE_CALL), (via_kiss[source], GATE_CALL)):
            assert gated == b",".join([source + b">" + dest, *path, b"qAR", call.encode()]) + b":" + info

    # a web user's message to a station direwolf heard goes back through our port, and on the air
    cookie = await asyncio.to_thread(log_in, by_port.url, "ham", "ham-secret-1")
    socket = await websockets.connect(
        by_port.ws_url + "/chat/", origin=by_port.url, additional_headers={"Cookie": cookie}
    )
    await next_of(socket, "joined")
    await socket.send(json.dumps({"type": "aprs_message", "to": "N0DEMO-9", "text": "hello rf"}))
    on_air = f"{IGATE_CALL}>APDW16,WIDE1-1:}}N0HAM>APRS,TCPIP,{IGATE_CALL}*::N0DEMO-9 :hello rf{{1"
    await asyncio.to_thread(wolf.until_log, on_air, 20)
    assert "[ig>tx] N0HAM>APRS,TCPIP*,qAC,T2LOCAL::N0DEMO-9 :hello rf{1" in wolf.log()


APRX_CALL = "N0APRX-1"

APRX_CONFIG = """\
mycall {call}
<aprsis>
    login {call}
    passcode {passcode}
    server 127.0.0.1 {port}
    heartbeat-timeout 2m
</aprsis>
<logging>
    pidfile {workdir}/aprx.pid
    rflog {workdir}/aprx-rf.log
    aprxlog {workdir}/aprx.log
</logging>
<interface>
    tcp-device 127.0.0.1 {kiss_port} KISS
    callsign {call}
    tx-ok false
</interface>
"""


async def test_aprx_gates_from_direwolfs_kiss_port_to_our_port(daemon, radio, tmp_path):
    import aprslib

    program = shutil.which("aprx") or shutil.which("aprx", path="/usr/sbin")
    assert program, "aprx is not installed (make test installs it)"
    igate_port, kiss_port = low_free_port(), low_free_port()
    while kiss_port == igate_port:
        kiss_port = low_free_port()
    gateway = await daemon("--igate-port", str(igate_port)).started()
    feed = await FeedClient.connect(gateway.ws_url)
    await feed.subscribe("")
    lines = played_lines()
    audio = await asyncio.to_thread(audio_of, lines, tmp_path)
    wolf = radio("N0WOLF-1", kiss_port=kiss_port)
    await asyncio.to_thread(wolf.until_log, "Ready to accept KISS TCP client", 10)
    config = tmp_path / "aprx.conf"  # never the packaged one: it points at the public network
    config.write_text(
        APRX_CONFIG.format(
            call=APRX_CALL, passcode=aprslib.passcode("N0APRX"), port=igate_port, workdir=tmp_path, kiss_port=kiss_port
        )
    )
    with open(tmp_path / "aprx.out", "wb") as out:
        aprx = subprocess.Popen([program, "-f", str(config), "-dd"], stdout=out, stderr=subprocess.STDOUT)
    try:
        await gateway.until_log(f"({APRX_CALL}) logged in, verified, software aprx", timeout=30)
        await asyncio.to_thread(wolf.until_log, "Attached to KISS TCP client", 20)
        wolf.play(audio)
        sources = [split_header(line)[0] for line in lines]
        found = await packets_from(feed, sources)
        for line in lines:
            source, dest, path, info = split_header(line)
            assert found[source] == b",".join([source + b">" + dest, *path, b"qAR", APRX_CALL.encode()]) + b":" + info
    finally:
        aprx.terminate()
        aprx.wait(10)

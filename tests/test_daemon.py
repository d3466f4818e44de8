"""The real daemon against a real TCP APRS-IS server and real websocket clients."""

import asyncio
import signal
import time

import pytest
import websockets

from protocols.aprs.lines import MAX_CONTENT
from tests.feedclient import FeedClient, raw_bytes


def uplink_flags(upstream, *extra):
    return ("--aprs-server", upstream.address, *extra)


async def linked(daemon, upstream, *flags, env=None):
    """A daemon logged in to the scripted upstream: (gateway, session)."""
    gateway = await daemon(*uplink_flags(upstream, *flags), env=env).started()
    session = await upstream.next_session()
    session.logresp()
    return gateway, session


async def send_paced(session, lines, chunk=200, pause=0.02):
    for start in range(0, len(lines), chunk):
        session.send_lines(lines[start : start + chunk])
        await session.drain()
        await asyncio.sleep(pause)


@pytest.mark.parametrize("passcode, verdict", [("13023", "verified"), ("-1", "unverified")])
async def test_login_line_and_logresp(daemon, upstream, passcode, verdict):
    gateway = daemon(
        *uplink_flags(
            upstream, "--callsign", "n0call-10", "--passcode", passcode, "--filter", "r/49.05/-72.03/100 t/pw"
        )
    )
    await gateway.started()
    session = await upstream.next_session()
    assert session.login_line.startswith(f"user N0CALL-10 pass {passcode} vers aprs-gateway ".encode())
    assert session.login_line.endswith(b" filter r/49.05/-72.03/100 t/pw")
    session.logresp()
    await gateway.until_log(f"as N0CALL-10, {verdict}, server T2TEST")
    status = await gateway.get_json("/api/status")
    assert status["link"]["state"] == verdict
    assert status["link"]["verified"] is (verdict == "verified")
    assert "13023" not in gateway.log()  # the passcode is never logged


@pytest.mark.parametrize("layer", ["in-memory", "redis"])
async def test_corpus_reaches_websocket_clients_byte_exact_in_order(daemon, upstream, corpus, layer, request):
    env = {"REDIS_URL": request.getfixturevalue("redis_url")} if layer == "redis" else {}
    # 5,000 packets in about a second, far beyond a real feed: room in the kernel for the
    # burst, so a reader on a busy machine is not taken for a slow client (not this test's point).
    env["FEED_SOCKET_BUFFER"] = str(4 << 20)
    gateway, session = await linked(daemon, upstream, env=env)
    await gateway.until_log("logged in to")
    client = await FeedClient.connect(gateway.ws_url)
    await client.subscribe("")
    lines = corpus["benjojo_aprstestdata.txt"] + corpus["sp8ebc_rf_lines.txt"][:4000]
    lines += [line for line in corpus["sp8ebc_aprsis_lines.txt"] if not _is_utf8(line)]
    non_utf8 = [line for line in lines if not _is_utf8(line)]
    reading = asyncio.ensure_future(client.packets(len(lines), timeout=60))
    await send_paced(session, lines)
    items = await reading
    assert [raw_bytes(item) for item in items] == lines
    assert client.dropped == 0
    unknown = [item for item in items if item["packet"]["format"] == "unknown"]
    assert unknown and all(item["packet"]["error"] for item in unknown)
    assert sum("raw_b64" in item for item in items) == len(non_utf8) > 0
    status = await gateway.get_json("/api/status")
    assert status["link"]["packets"] == len(lines)
    assert status["feed"]["lost"] == 0
    await client.close()


def _is_utf8(line):
    try:
        line.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


async def test_oversized_and_non_utf8_lines(daemon, upstream):
    gateway, session = await linked(daemon, upstream)
    client = await FeedClient.connect(gateway.ws_url)
    await client.subscribe("")
    first = b"N0DEMO-1>APRS:>first"
    too_long = b"N0DEMO-2>APRS:>" + b"x" * (MAX_CONTENT + 1 - 15)  # 513 bytes with CRLF
    latin1 = b"SP8EBC>APRS,TCPIP*:>temperatura 21\xb0C \xff"
    longest = b"N0DEMO-3>APRS:>" + b"y" * (MAX_CONTENT - 15)  # 512 bytes with CRLF: allowed
    session.send_lines([first, too_long, latin1, longest, too_long, too_long])
    items = await client.packets(3)
    assert [raw_bytes(item) for item in items] == [first, latin1, longest]
    assert items[1]["text"] == latin1.decode("utf-8", "replace")
    await gateway.until_log("sent a line over 512 bytes; dropped (")
    assert (await gateway.get_json("/api/status"))["link"]["oversized"] == 3
    assert gateway.log().count("sent a line over 512 bytes") == 1  # rate-limited


async def test_upstream_closing_mid_line_reconnects_with_backoff(daemon, upstream):
    gateway, first = await linked(daemon, upstream)
    client = await FeedClient.connect(gateway.ws_url)
    await client.subscribe("")
    whole = b"N0DEMO-1>APRS:>whole line"
    first.send_raw(whole + b"\r\nN0DEMO-1>APRS:>half a li")
    await first.drain()
    assert [raw_bytes(item) for item in await client.packets(1)] == [whole]
    closed_at = time.monotonic()
    first.close()
    gaps = []
    # Each retry closes before logging in: the delay doubles (with jitter) each time.
    for _ in range(3):
        session = await upstream.next_session()
        gaps.append(session.opened - closed_at)
        closed_at = time.monotonic()
        session.close()
    assert 0.4 <= gaps[0] <= 1.5, gaps
    assert 0.9 <= gaps[1] <= 2.5, gaps
    assert 1.9 <= gaps[2] <= 4.5, gaps
    final = await upstream.next_session(timeout=10)
    final.logresp()
    after = b"N0DEMO-1>APRS:>after reconnect"
    final.send_lines([after])
    assert [raw_bytes(item) for item in await client.packets(1)] == [after]  # the half line never shows
    log = gateway.log()
    assert "bytes of an unfinished line lost" in log
    assert "next attempt in" in log


async def test_silent_upstream_is_stale_and_replaced(daemon, upstream):
    gateway = await daemon(*uplink_flags(upstream), env={"APRS_STALE_TIMEOUT": "1.5"}).started()
    silent = await upstream.next_session()
    silent.logresp()
    talkative = await upstream.next_session(timeout=10)
    assert 1.5 <= talkative.opened - silent.opened <= 4.0
    await gateway.until_log("is stale: no line for 1.5 s")
    talkative.logresp()
    # Comment lines alone keep a link alive.
    for _ in range(8):
        talkative.send_lines([b"# aprsc 2.1.19 keepalive"])
        await asyncio.sleep(0.4)
    assert upstream.sessions.empty()
    assert gateway.log().count("is stale") == 1


async def test_slow_client_does_not_stall_a_fast_one(daemon, upstream, corpus):
    gateway, session = await linked(daemon, upstream)
    fast = await FeedClient.connect(gateway.ws_url)
    await fast.subscribe("")
    slow = await FeedClient.slow_reader(gateway.ws_url, gateway.port)
    await slow.subscribe("")
    lines = [line for lines in corpus.values() for line in lines]
    reading = asyncio.ensure_future(fast.packets(len(lines), timeout=120))  # reads as it comes
    await send_paced(session, lines, chunk=250, pause=0.05)
    items = await reading
    assert fast.dropped == 0
    assert [raw_bytes(item) for item in items] == lines
    # Now the slow one reads: it gets the newest packets and is told how many it lost.
    received = await slow.packets(len(lines), timeout=30)
    assert slow.dropped > 0
    assert len(received) + slow.dropped == len(lines)
    assert [raw_bytes(item) for item in received[-100:]] == lines[-100:]


async def test_bad_filter_error_then_good_filter(daemon, upstream):
    gateway, session = await linked(daemon, upstream)
    client = await FeedClient.connect(gateway.ws_url)
    await client.send({"type": "subscribe", "filter": "r/49/-72"})
    error = await client.frame()
    assert error["type"] == "error" and "expected lat/lon/km" in error["reason"]
    await client.subscribe("b/N0DEMO-2")
    session.send_lines([b"N0DEMO-1>APRS:>one", b"N0DEMO-2>APRS:>two"])
    assert [item["text"] for item in await client.packets(1)] == ["N0DEMO-2>APRS:>two"]


async def test_pages_and_their_scripts_are_served_by_the_daemon(daemon):
    daemon.manage("migrate", "--noinput")
    gateway = await daemon("--no-aprs").started()
    page = await gateway.get("/")
    assert b"<title>Live map \xc2\xb7 APRS gateway</title>" in page
    for script in (
        b"/static/gateway/map.js",
        b"/static/leaflet/leaflet.js",
        b"/static/markercluster/leaflet.markercluster.js",
    ):
        assert b'src="' + script + b'"' in page
        assert len(await gateway.get(script.decode())) > 1000
    assert b"ws/aprs/" in await gateway.get("/static/gateway/feedsocket.js")
    for path in ("/feed/", "/chat/", "/station/N0CALL-9/"):
        assert b'id="status-link"' in await gateway.get(path)
    assert (await gateway.request("/station/N0_CALL/"))[0] == 404
    assert (await gateway.get_json("/api/status"))["link"] == {"state": "off"}


async def test_foreign_origin_is_refused(daemon):
    import websockets

    gateway = await daemon("--no-aprs").started()
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await websockets.connect(gateway.ws_url + "/ws/aprs/", origin="http://evil.example")
    assert refused.value.response.status_code == 403


async def test_demo_feed_without_configuration(daemon):
    gateway = await daemon(env={"APRS_SERVERS": ""}).started()
    await gateway.until_log("DEMO FEED")
    await gateway.until_log("feed hub listening")  # before any client: it holds what arrives
    await asyncio.sleep(1.5)
    assert (await gateway.get_json("/api/status"))["feed"]["packets"] >= 2
    client = await FeedClient.connect(gateway.ws_url)
    await client.subscribe("")
    items = await client.packets(3, timeout=10)
    assert all(item["text"].startswith("N0DEMO") for item in items)
    status = await gateway.get_json("/api/status")
    assert status["link"]["demo"] is True and status["link"]["server_id"] == "DEMO"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_stop_signal_exits_cleanly_within_10_s(daemon, upstream, stop):
    gateway, session = await linked(daemon, upstream)
    client = await FeedClient.connect(gateway.ws_url)
    await client.subscribe("")
    await gateway.until_log("aprs application started")
    began = time.monotonic()
    gateway.process.send_signal(stop)
    while gateway.process.poll() is None:
        assert time.monotonic() - began < 10, gateway.log()
        await asyncio.sleep(0.05)
    assert gateway.process.returncode == 0, gateway.log()
    await session.until_closed(5)  # the uplink was closed, not abandoned
    assert "aprs application stopping" in gateway.log()
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await client.frame()
    assert closed.value.rcvd.code == 1001  # "going away", as RFC 6455 says


async def test_application_sends_need_a_verified_login(daemon, upstream):
    gateway, session = await linked(
        daemon, upstream, "--passcode", "-1", "--application", "tests.aprs_apps.application"
    )
    await gateway.until_log("aprs.send refused: login N0CALL is not verified")
    with pytest.raises(asyncio.TimeoutError):
        await session.read_line(timeout=1)


async def test_crashed_instance_is_replaced_and_keeps_its_events(daemon, upstream):
    gateway, session = await linked(
        daemon, upstream, "--passcode", "13023", "--application", "tests.aprs_apps.application"
    )
    assert await session.read_line() == b"N0CALL>APRS:>probe connected"
    session.send_lines([b"N0DEMO>APRS:>one", b"N0DEMO>APRS:>crash", b"N0DEMO>APRS:>two", b"N0DEMO>APRS:>three"])
    assert await session.read_line() == b"N0CALL>APRS:>echo one"
    # The instance dies on "crash"; a new one says hello and gets what was queued.
    assert await session.read_line() == b"N0CALL>APRS:>probe connected"
    assert await session.read_line() == b"N0CALL>APRS:>echo two"
    assert await session.read_line() == b"N0CALL>APRS:>echo three"
    log = gateway.log()
    assert "probe asked to crash" in log and "starting a new one" in log
    session.send_lines([b"N0DEMO>APRS:>bad send", b"N0DEMO>APRS:>four"])
    assert await session.read_line() == b"N0CALL>APRS:>probe connected"
    assert await session.read_line() == b"N0CALL>APRS:>echo four"
    assert "must be non-empty bytes or str without CR/LF" in gateway.log()


async def test_packets_a_crashed_instance_took_without_acknowledging_go_to_its_replacement(daemon, upstream):
    gateway, session = await linked(daemon, upstream, "--passcode", "13023", "--application", "tests.aprs_apps.batched")
    assert await session.read_line() == b"N0CALL>APRS:>probe connected"
    session.send_lines([b"N0DEMO>APRS:>one", b"N0DEMO>APRS:>crash", b"N0DEMO>APRS:>two"])
    assert await session.read_line() == b"N0CALL>APRS:>echo one #1"
    # "one" was acknowledged; "crash" (taken in the same batch or the next) was not:
    # the replacement gets it, with its number, then "two".
    assert await session.read_line() == b"N0CALL>APRS:>probe connected"
    assert await session.read_line() == b"N0CALL>APRS:>echo crash #2"
    assert await session.read_line() == b"N0CALL>APRS:>echo two #3"
    assert "probe asked to crash" in gateway.log()
    session.send_lines([b"N0DEMO>APRS:>three"])
    assert await session.read_line() == b"N0CALL>APRS:>echo three #4"
    # What the crashed instance's task sends later is not the connection's any more.
    await gateway.until_log("aprs.send from an ended application instance: ignored")
    await gateway.until_log("aprs.ack from an ended application instance: ignored")
    with pytest.raises(asyncio.TimeoutError):  # nothing twice, nothing from the ended instance
        await session.read_line(timeout=1)


async def test_application_can_close_the_link(daemon, upstream):
    gateway, session = await linked(
        daemon, upstream, "--passcode", "13023", "--application", "tests.aprs_apps.application"
    )
    assert await session.read_line() == b"N0CALL>APRS:>probe connected"
    session.send_lines([b"N0DEMO>APRS:>close"])
    await session.until_closed(5)
    await gateway.until_log("closed by the application")
    again = await upstream.next_session()  # the retry policy brings the link back
    again.logresp()
    assert await again.read_line() == b"N0CALL>APRS:>probe connected"


async def test_servers_are_tried_in_turn(daemon, upstream):
    from tests.conftest import free_port

    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    gateway = await daemon("--aprs-server", dead, "--aprs-server", upstream.address).started()
    session = await upstream.next_session()
    session.logresp()
    await gateway.until_log("as N0CALL, unverified")
    log = gateway.log()
    assert f"connection to {dead} failed" in log
    assert log.index(f"connecting to {dead}") < log.index(f"connecting to {upstream.address}")

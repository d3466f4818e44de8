"""The APRS-IS server port for iGates, through the real daemon and real TCP clients."""

import asyncio
import json
import time

import pytest
import websockets

from tests.conftest import free_port
from tests.feedclient import FeedClient, raw_bytes
from tests.igateclient import IGateClient
from tests.test_daemon import uplink_flags


async def igate_daemon(daemon, *flags, env=None):
    port = free_port()
    gateway = await daemon("--igate-port", str(port), *flags, env=env).started()
    await gateway.until_log("APRS-IS server port for iGates on")
    gateway.igate_port = port
    return gateway


async def feed_packets(feed, count, timeout=10):
    """The raw lines of the next ``count`` packets on a websocket feed client."""
    lines = []
    while len(lines) < count:
        frame = await feed.frame(timeout)
        if frame["type"] == "packets":
            lines += [raw_bytes(item) for item in frame["packets"]]
    return lines


async def test_login_logresp_and_keepalive(daemon):
    gateway = await igate_daemon(daemon, env={"IGATE_KEEPALIVE_INTERVAL": "0.5", "IGATE_SERVER_ID": "T2LOCAL"})
    client, logresp = await IGateClient.logged_in(gateway.igate_port, "N0IGT-10")
    assert logresp == b"# logresp N0IGT-10 verified, server T2LOCAL"
    keepalive = await client.read_line(timeout=3)
    assert keepalive.startswith(b"# aprs-gateway ") and keepalive.endswith(b" T2LOCAL")
    other, logresp = await IGateClient.logged_in(gateway.igate_port, "N1ABC", verified=False)
    assert logresp == b"# logresp N1ABC unverified, server T2LOCAL"
    status = await gateway.get_json("/api/status")
    assert status["igate"]["clients"] == 2 and status["igate"]["verified"] == 1


async def test_login_rules(daemon):
    gateway = await igate_daemon(daemon, env={"IGATE_LOGIN_TIMEOUT": "1"})
    # no login within the timeout: disconnected
    silent = await IGateClient.connect(gateway.igate_port)
    assert b"# closing: no login within 1 s" in await silent.until_closed(5)
    # callsign over 9 characters, then garbage, then a bad character: three bad commands
    client = await IGateClient.connect(gateway.igate_port)
    await client.read_line()
    client.send("user ABCDEFG-10 pass -1 vers x 1", "hello there", "user N0/CALL pass -1 vers x 1")
    said = await client.until_closed(5)
    assert b"# login refused: invalid callsign 'ABCDEFG-10': 1 to 9 letters, digits or -" in said
    assert b"# login refused: login line must be" in said
    assert b"# login refused: invalid callsign 'N0/CALL'" in said
    assert b"# closing: 3 bad commands" in said
    # a filter part that cannot be read is named, the others apply, the login stands
    lenient, logresp = await IGateClient.logged_in(gateway.igate_port, "n0lib", filter_="m/50 z/1 b/N0LIB")
    assert logresp.startswith(b"# logresp n0lib verified")  # echoed as given: aprslib compares it
    (error,) = lenient.said_before_logresp
    assert error.startswith(b"# Parse errors on filter spec: 'z/1': unknown filter type (supported: a, b, d, e, f, g,")
    lenient.send("#filter ?")
    assert await lenient.read_line() == b"# filter m/50 b/N0LIB active"
    lenient.send("#filter default")
    assert await lenient.read_line() == b"# User filters reset to default"
    # an HTTP request closes at once
    browser = await IGateClient.connect(gateway.igate_port)
    await browser.read_line()
    browser.send("GET / HTTP/1.0")
    assert b"# closing: an HTTP request on an APRS-IS port" in await browser.until_closed(5)
    # a second verified login with the same callsign replaces the first
    first, _ = await IGateClient.logged_in(gateway.igate_port, "N0IGT-10")
    second, logresp = await IGateClient.logged_in(gateway.igate_port, "N0IGT-10")
    assert logresp.startswith(b"# logresp N0IGT-10 verified")
    assert b"replaced by a new login of N0IGT-10" in await first.until_closed(5)
    second.send("N0IGT-10>APRS,TCPIP*:>still here")
    feed = await FeedClient.connect(gateway.ws_url)
    await feed.subscribe("b/N0IGT-10")
    second.send("N0IGT-10>APRS,TCPIP*:>second login")
    assert await feed_packets(feed, 1) == [b"N0IGT-10>APRS,TCPIP*,qAC,APRSGW:>second login"]


async def test_uploads_get_q_constructs_and_lose_what_aprsc_drops(daemon):
    gateway = await igate_daemon(daemon, env={"IGATE_SERVER_ID": "T2LOCAL"})
    feed = await FeedClient.connect(gateway.ws_url)
    await feed.subscribe("")
    igate, _ = await IGateClient.logged_in(gateway.igate_port, "N0IGT-10")
    stranger, _ = await IGateClient.logged_in(gateway.igate_port, "N1ABC", verified=False)
    stranger.send("N1ABC>APRS,TCPIP*:>unverified upload")
    igate.send(
        b"N1ABC-9>APRS,WIDE1-1:!4903.50N/07201.75W>mobile \xb0\xff",  # RF, bytes kept
        b"N1ABC-9>APRS,WIDE2*:!4903.50N/07201.75W>mobile \xb0\xff",  # the same heard again
        b"N1ABC-8>APRS,NOGATE:>not for the internet",
        b"N1ABC-7>APRS:" + b"x" * 600,  # over 512 bytes
        b"N0IGT-10>APDW16,WIDE2-1:>own status",
        b"N1ABC-6>APRS,WIDE1-1,qAO,N0IGT-10:>direwolf style",
    )
    assert await feed_packets(feed, 3) == [
        b"N1ABC-9>APRS,WIDE1-1,qAS,N0IGT-10:!4903.50N/07201.75W>mobile \xb0\xff",
        b"N0IGT-10>APDW16,TCPIP*,qAC,T2LOCAL:>own status",
        b"N1ABC-6>APRS,WIDE1-1,qAO,N0IGT-10:>direwolf style",
    ]
    status = await gateway.get_json("/api/status")
    assert status["igate"]["accepted"] == 3
    assert status["igate"]["refused"] == {"unverified login": 1, "duplicate": 1, "nogate": 1, "over 512 bytes": 1}
    metrics = (await gateway.get("/metrics")).decode()
    assert 'aprs_gateway_igate_packets_refused_total{reason="unverified login"} 1.0' in metrics


async def test_clients_get_what_their_filter_passes_but_not_their_own(daemon):
    gateway = await igate_daemon(daemon)
    watcher, _ = await IGateClient.logged_in(gateway.igate_port, "N0CALL-1", filter_="b/N1ABC*")
    gate, _ = await IGateClient.logged_in(gateway.igate_port, "N0CALL-2", filter_="b/N1ABC*")
    await gateway.until_log("filter 'b/N1ABC*'", count=2)
    gate.send("N1ABC>APRS,WIDE1-1:>one", "N2XYZ>APRS:>not wanted", "N1ABC-5>APRS:>two")
    assert await watcher.read_packet() == b"N1ABC>APRS,WIDE1-1,qAS,N0CALL-2:>one"
    assert await watcher.read_packet() == b"N1ABC-5>APRS,qAS,N0CALL-2:>two"
    # #filter replaces it live; a part that cannot be read is named, the rest applies (aprsc)
    watcher.send("#filter b/N3*")
    assert await watcher.read_line() == b"# filter b/N3* active"
    watcher.send("#filter q/xx b/N2XYZ")
    assert (await watcher.read_line()).startswith(b"# Parse errors on filter spec: 'q/xx': expected q/letters")
    assert await watcher.read_line() == b"# filter b/N2XYZ active"
    gate.send("N1ABC>APRS:>three", "N2XYZ>APRS:>four")
    assert await watcher.read_packet() == b"N2XYZ>APRS,qAS,N0CALL-2:>four"
    # the uploader never got its own packets back
    with pytest.raises(asyncio.TimeoutError):
        await gate.read_packet(timeout=1)


async def test_local_packets_go_up_to_aprs_is_once(daemon, upstream):
    port = free_port()
    gateway = await daemon(*uplink_flags(upstream, "--passcode", "13023"), "--igate-port", str(port)).started()
    session = await upstream.next_session()
    session.logresp()
    await gateway.until_log("aprs application started for aprs-is")
    igate, _ = await IGateClient.logged_in(port, "N0IGT-10")
    igate.send("N1ABC>APRS,WIDE1-1:>gated", "N1ABC>APRS,WIDE2-1:>gated")
    assert await session.read_line() == b"N1ABC>APRS,WIDE1-1,qAS,N0IGT-10:>gated"
    # from APRS-IS back to us: a local iGate's copy of it now is a duplicate, not sent up again
    session.send_lines([b"N2XYZ>APRS,TCPIP*,qAC,T2TEST:>from the internet"])
    await gateway.until_log(") logged in, ")
    await asyncio.sleep(0.5)
    igate.send("N2XYZ>APRS,WIDE1-1:>from the internet", "N1ABC>APRS:>next")
    assert await session.read_line() == b"N1ABC>APRS,qAS,N0IGT-10:>next"


async def test_slow_tcp_client_is_disconnected(daemon, upstream):
    port = free_port()
    # 13 MB in under a second: the fast reader gets kernel room for that burst (the slow one
    # has a 4 KB receive buffer, so it still backs up)
    env = {"FEED_CLIENT_BACKLOG": "20000", "FEED_CLIENT_BUFFER": "100", "FEED_SOCKET_BUFFER": str(4 << 20)}
    gateway = await daemon(*uplink_flags(upstream), "--igate-port", str(port), env=env).started()
    session = await upstream.next_session()
    session.logresp()
    slow = await IGateClient.connect(port, receive_buffer=4096)
    await slow.read_line()
    slow.send("user N0CALL-5 pass -1 vers sleepy 1 filter t/poimqstunw")
    fast, _ = await IGateClient.logged_in(port, "N0CALL-6", filter_="t/poimqstunw")
    await gateway.until_log("logged in", count=2)
    received = 0

    async def keep_reading():
        nonlocal received
        while True:
            received += (await fast.reader.read(1 << 16)).count(b"\n")

    reading = asyncio.ensure_future(keep_reading())
    # long lines: the kernel buffers several MB for a socket before the daemon sees a backlog
    lines = [b"N1ABC>APRS:>status %06d %s" % (i, b"y" * 450) for i in range(30000)]
    for start in range(0, len(lines), 500):
        session.send_lines(lines[start : start + 500])
        await session.drain()
        await asyncio.sleep(0.01)
    await gateway.until_log("(N0CALL-5) dropped: too slow: ", timeout=30)
    await asyncio.sleep(1)
    reading.cancel()
    status = await gateway.get_json("/api/status")
    assert status["igate"]["clients"] == 1  # the slow one is gone, the fast one stays
    assert received > 10000
    assert "(N0CALL-6) dropped" not in gateway.log()


async def test_web_message_goes_to_the_igate_that_heard_the_station_and_its_ack_settles_it(daemon):
    from tests.test_chat_daemon import log_in, next_of
    from tests.test_outbox import HAM, outbox_state

    daemon.manage("migrate", "--noinput")
    daemon.manage("shell", "-c", HAM.format(verified=True))
    gateway = await igate_daemon(daemon)
    near, _ = await IGateClient.logged_in(gateway.igate_port, "N0IGT-10")
    far, _ = await IGateClient.logged_in(gateway.igate_port, "N0CALL-11")
    near.send("N0DEMO-9>APRS,WIDE1-1:>on the air")
    await gateway.until_log(") logged in, ", count=2)
    cookie = await asyncio.to_thread(log_in, gateway.url, "ham", "ham-secret-1")
    socket = await websockets.connect(
        gateway.ws_url + "/chat/", origin=gateway.url, additional_headers={"Cookie": cookie}
    )
    await next_of(socket, "joined")
    await socket.send(json.dumps({"type": "aprs_message", "to": "N0DEMO-9", "text": "hello rf"}))
    assert await near.read_packet() == b"N0HAM>APRS,TCPIP*,qAC,APRSGW::N0DEMO-9 :hello rf{1"
    near.send("N0DEMO-9>APRS,WIDE1-1::N0HAM    :ack1")
    assert (await outbox_state(socket, "acked"))["tries"] == 1
    with pytest.raises(asyncio.TimeoutError):
        await far.read_packet(timeout=1)  # it never heard N0DEMO-9


async def test_the_login_filter_is_live_before_the_logresp(daemon):
    gateway = await igate_daemon(daemon)
    gate, _ = await IGateClient.logged_in(gateway.igate_port, "N0GATE-1")
    for n in range(10):  # a packet sent the moment the logresp arrives is never missed
        watcher, _ = await IGateClient.logged_in(gateway.igate_port, f"N0W{n}", filter_=f"b/N1LIVE-{n}")
        gate.send(f"N1LIVE-{n}>APRS:>right after the logresp")
        assert await watcher.read_packet(timeout=5) == f"N1LIVE-{n}>APRS,qAS,N0GATE-1:>right after the logresp".encode()
        watcher.close()


async def test_filter_commands_are_found_anywhere_in_a_comment_line(daemon):
    gateway = await igate_daemon(daemon)
    client, _ = await IGateClient.logged_in(gateway.igate_port, "N0CMD")
    client.send("#blaa FILTER b/N1ABC")
    assert await client.read_line() == b"# filter b/N1ABC active"


async def test_messages_reach_the_login_and_stations_it_heard_with_a_courtesy_position(daemon):
    gateway = await igate_daemon(daemon)
    home, _ = await IGateClient.logged_in(gateway.igate_port, "N0HOME")  # no filter at all
    other, _ = await IGateClient.logged_in(gateway.igate_port, "N0AWAY", filter_="b/NOBODY")
    home.send("N1RF-7>APRS,WIDE1-1:>heard on home's radio")
    other.send(
        "N0AWAY>APRS,TCPIP*:!4903.50N/07201.75W-before the message: not sent along",
        "N0AWAY>APRS,TCPIP*::N0HOME   :for the login{1",
        "N0AWAY>APRS,TCPIP*::N1RF-7   :for a station home heard{2",
        "N0AWAY>APRS,TCPIP*::N9ELSE   :for nobody here{3",
        "N0AWAY>APRS,TCPIP*:!4903.51N/07201.75W-the next position: sent once",
        "N0AWAY>APRS,TCPIP*:!4903.52N/07201.75W-and no more",
    )
    # filter.c / config.c (courtesy_list_storetime): a client given a station's message gets that
    # station's *next* position, once, within 30 minutes; not its last one before the message
    assert [await home.read_packet() for _ in range(3)] == [
        b"N0AWAY>APRS,TCPIP*,qAC,APRSGW::N0HOME   :for the login{1",
        b"N0AWAY>APRS,TCPIP*,qAC,APRSGW::N1RF-7   :for a station home heard{2",
        b"N0AWAY>APRS,TCPIP*,qAC,APRSGW:!4903.51N/07201.75W-the next position: sent once",
    ]
    home.send("N0HOME>APRS,TCPIP*::N0AWAY   :ack1")  # the ack goes back: N0AWAY is a login too
    assert await other.read_packet() == b"N0HOME>APRS,TCPIP*,qAC,APRSGW::N0AWAY   :ack1"
    with pytest.raises(asyncio.TimeoutError):
        await home.read_packet(timeout=1)  # not the message for N9ELSE, not its own ack


async def test_messages_to_server_are_commands_acked_and_answered(daemon):
    gateway = await igate_daemon(daemon, env={"IGATE_SERVER_ID": "T2LOCAL"})
    client, _ = await IGateClient.logged_in(gateway.igate_port, "n0cmd")
    feed = await FeedClient.connect(gateway.ws_url)
    await feed.subscribe("")
    client.send("N0CMD>APRS,TCPIP*::SERVER   :filter b/N1*{42")
    ack, answer = await client.read_packet(), await client.read_packet()
    assert ack == b"SERVER>APZGWY,TCPIP*,qAZ,T2LOCAL::n0cmd    :ack42"
    assert answer.startswith(b"SERVER>APZGWY,TCPIP*,qAZ,T2LOCAL::n0cmd    :filter b/N1* active{")
    client.send("N0CMD>APRS,TCPIP*::SERVER   :filter?{43", "N0CMD>APRS,TCPIP*::SERVER   :reboot{44")
    replies = [await client.read_packet() for _ in range(4)]
    assert replies[1].startswith(b"SERVER>APZGWY,TCPIP*,qAZ,T2LOCAL::n0cmd    :filter b/N1* active{")
    assert replies[3].startswith(b"SERVER>APZGWY,TCPIP*,qAZ,T2LOCAL::n0cmd    :Unknown command{")
    uploader, _ = await IGateClient.logged_in(gateway.igate_port, "N0UP")
    uploader.send("N1ZZZ>APRS,WIDE1-1:>now the filter passes it")
    assert await client.read_packet() == b"N1ZZZ>APRS,WIDE1-1,qAS,N0UP:>now the filter passes it"
    # a message to SERVER is never gated nor shown: the feed's first packet is N1ZZZ's
    assert await feed_packets(feed, 1) == [b"N1ZZZ>APRS,WIDE1-1,qAS,N0UP:>now the filter passes it"]
    assert (await gateway.get_json("/api/status"))["igate"]["accepted"] == 1


async def test_my_range_and_friend_range_follow_the_last_positions_heard(daemon):
    gateway = await igate_daemon(daemon)
    me, _ = await IGateClient.logged_in(gateway.igate_port, "N0ME", filter_="m/10 f/N0FRND/5")
    gate, _ = await IGateClient.logged_in(gateway.igate_port, "N0GATE")
    me.send("N0ME>APRS,TCPIP*:!4903.00N/07201.00W-home")  # where "my range" is
    await asyncio.sleep(0.5)  # the hub has it before the others arrive
    gate.send(
        "N1NEAR>APRS,WIDE1-1:!4904.00N/07202.00W>3 km from N0ME",
        "N1FAR>APRS,WIDE1-1:!4000.00N/07000.00W>far away",
        "N1NEAR>APRS,WIDE1-1:>status: no position, but its station is near",
        "N0FRND>APRS,WIDE1-1:!1000.00N/01000.00E-the friend",
        "N1BUDDY>APRS,WIDE1-1:!1001.00N/01000.00E>2 km from the friend",
    )
    got = [await me.read_packet() for _ in range(4)]
    assert got == [
        b"N1NEAR>APRS,WIDE1-1,qAS,N0GATE:!4904.00N/07202.00W>3 km from N0ME",
        b"N1NEAR>APRS,WIDE1-1,qAS,N0GATE:>status: no position, but its station is near",
        b"N0FRND>APRS,WIDE1-1,qAS,N0GATE:!1000.00N/01000.00E-the friend",
        b"N1BUDDY>APRS,WIDE1-1,qAS,N0GATE:!1001.00N/01000.00E>2 km from the friend",
    ]
    with pytest.raises(asyncio.TimeoutError):
        await me.read_packet(timeout=1)


async def test_a_login_with_a_300_part_filter_of_8_kb_is_taken_and_every_part_applies(daemon):
    """aprsc reads a login (and #filter) line up to its 8 kB input buffer; packets keep 512
    bytes. A login over 510 bytes was dropped as an over-long packet: any filter of ~470
    characters failed (aprsc's 38filter-verylong)."""
    gateway = await igate_daemon(daemon, env={"IGATE_MAX_PER_ADDRESS": "400", "IGATE_MAX_CLIENTS": "400"})
    ranges = [f"r/{-60 + n * 0.4:.4f}/{-170 + n:.4f}/10.00" for n in range(299)]  # the 151st: 0/-20
    text = " ".join([*ranges, "b/N1LAST"])
    assert 7_000 < len(text) < 8_100
    big, logresp = await IGateClient.logged_in(gateway.igate_port, "N0BIG", filter_=text)
    assert logresp.startswith(b"# logresp N0BIG verified") and not big.said_before_logresp
    gate, _ = await IGateClient.logged_in(gateway.igate_port, "N0GATE")
    far = "N1FAR>APRS,WIDE1-1:!0000.00N/00000.00E>nowhere near"
    first = "N1ONE>APRS,WIDE1-1:!6000.00S/17000.00W>in the first range"
    middle = "N1MID>APRS,WIDE1-1:!0000.00N/02000.00W>in the 151st"
    gate.send(far, first, "N1LAST>APRS,WIDE1-1:>the last part", middle)
    got = [await big.read_packet() for _ in range(3)]
    assert [line.split(b">")[0] for line in got] == [b"N1ONE", b"N1LAST", b"N1MID"]
    began = time.monotonic()
    for n in range(300):
        client, logresp = await IGateClient.logged_in(gateway.igate_port, f"N{n:03d}FLT", filter_=text)
        assert logresp.startswith(b"# logresp"), logresp
        client.writer.close()
    took = time.monotonic() - began
    print(f"300 logins with a {len(text):,}-character filter: {took:.1f} s")
    assert took < 60


async def test_a_login_as_pass_is_refused_as_aprsc_refuses_it(daemon):
    """login.c: "pass" is on aprsc's built-in list of calls that may not log in (a client that
    wrote its words in the wrong order); IGATE_DISALLOW_LOGIN takes globs."""
    gateway = await igate_daemon(daemon, env={"IGATE_DISALLOW_LOGIN": "*DROP"})
    for call in ("pass", "N1DROP"):
        client, answer = await IGateClient.logged_in(gateway.igate_port, call, verified=False)
        assert answer.startswith(b"# login refused: ") and b"may not log in here" in answer, answer
        client.writer.close()
    client, answer = await IGateClient.logged_in(gateway.igate_port, "N1KEEP", verified=False)
    assert answer.startswith(b"# logresp N1KEEP unverified")


async def test_a_receive_only_clients_own_position_centres_its_my_range(daemon):
    """incoming.c: aprsc puts an unverified client's own position in its history before it drops
    the packet, so m/ works for pass -1 clients. Ours refused the packet and m/ passed nothing."""
    gateway = await igate_daemon(daemon)
    listener, logresp = await IGateClient.logged_in(gateway.igate_port, "N0RO", verified=False, filter_="m/20")
    assert logresp.startswith(b"# logresp N0RO unverified")
    listener.send("N0RO>APRS,TCPIP*:!4903.00N/07201.00W-receive-only, here")
    gate, _ = await IGateClient.logged_in(gateway.igate_port, "N0GATE")
    await asyncio.sleep(0.3)
    gate.send("N1FAR>APRS,WIDE1-1:!1000.00N/01000.00E>far away", "N1NEAR>APRS,WIDE1-1:!4904.00N/07202.00W>near")
    assert await listener.read_packet() == b"N1NEAR>APRS,WIDE1-1,qAS,N0GATE:!4904.00N/07202.00W>near"
    status = await gateway.get_json("/api/status")
    assert status["igate"]["refused"]["unverified login"] == 1  # still not passed on


async def test_a_message_is_where_its_addressee_station_is_else_where_its_sender_is(daemon):
    """aprsc: a message is placed at its addressee's last position when the addressee is a
    station in its history (parse_aprs.c); any packet still without a position gets its
    sender's (filter.c, filter_postprocess_dupefilter). Objects are not stations: a message
    to one is where its sender is (we had placed it at the object)."""
    gateway = await igate_daemon(daemon)
    me, _ = await IGateClient.logged_in(gateway.igate_port, "N0ME", filter_="r/49.05/-72.03/10")
    gate, _ = await IGateClient.logged_in(gateway.igate_port, "N0GATE")
    gate.send(
        "N1NEAR>APRS,WIDE1-1:!4904.00N/07202.00W>near",
        "N1FAR>APRS,WIDE1-1:!4000.00N/07000.00W>far",
        "N1FAR>APRS,WIDE1-1:;FARNET   *041200z4000.10N/07000.10WrFar object",
        "N1NEAR>APRS,WIDE1-1:;NEARNET  *041200z4904.10N/07202.10WrNear object",
    )
    assert (await me.read_packet()).endswith(b">near")
    assert (await me.read_packet()).endswith(b"Near object")
    await asyncio.sleep(0.3)
    gate.send(
        "N1FAR>APRS,WIDE1-1::N1NEAR   :to a near station{1",  # at its addressee: passes
        "N1NEAR>APRS,WIDE1-1::FARNET   :to a far object{2",  # at its sender (near): passes
        "N1FAR>APRS,WIDE1-1::NEARNET  :to a near object{3",  # at its sender (far): not passed
        "N1NEAR>APRS,WIDE1-1::N1NOBODY :to nobody known{4",  # at its sender (near): passes
    )
    got = [await me.read_packet() for _ in range(3)]
    assert [line.rsplit(b"{", 1)[1] for line in got] == [b"1", b"2", b"4"]
    with pytest.raises(asyncio.TimeoutError):
        await me.read_packet(timeout=1)


async def test_a_qai_trace_from_aprs_is_grows_for_our_clients_and_the_feed_keeps_the_bytes(daemon, upstream):
    """The q algorithm's trace: a server passing a qAI packet on appends the server it came
    from and its own ID. Our server port's clients get that; the feed and archive keep the
    line exactly as APRS-IS sent it."""
    port = free_port()
    env = {"IGATE_SERVER_ID": "T2LOCAL"}
    gateway = await daemon(*uplink_flags(upstream), "--igate-port", str(port), env=env).started()
    session = await upstream.next_session()
    session.logresp(server_id="T2UPSTRM")
    await gateway.until_log("aprs application started for aprs-is")
    client, _ = await IGateClient.logged_in(port, "N0IGT-5", filter_="b/SR7NRQ*")
    feed = await FeedClient.connect(gateway.ws_url)
    await feed.subscribe("b/SR7NRQ*")
    traced = b"SR7NRQ-10>APD225,TCPIP*,qAI,SR7NRQ-10,T2POLAND:!5057.35NI02121.62E&iGate"
    plain = b"SR7NRQ-10>APD225,TCPIP*,qAC,T2POLAND:>no trace"
    session.send_lines([traced, plain])
    assert await client.read_packet() == traced.replace(b"T2POLAND:", b"T2POLAND,T2UPSTRM,T2LOCAL:")
    assert await client.read_packet() == plain
    assert await feed_packets(feed, 2) == [traced, plain]


async def test_internet_packets_of_a_station_the_igate_heard_reach_it_whatever_its_filter(daemon):
    """aprsc (client heard list; hessu/aprsc#67): a station a client gated from its radio is
    heard there, and the station's packets sent on the internet side (TCPIP*) go to that client
    whatever its filter, so that a TX iGate knows the station is on the internet. Before, they
    were not passed."""
    gateway = await igate_daemon(daemon)
    home, _ = await IGateClient.logged_in(gateway.igate_port, "N0HOME", filter_="b/NOBODY")
    other, _ = await IGateClient.logged_in(gateway.igate_port, "N0AWAY", filter_="b/NOBODY")
    home.send("N1RF-7>APRS,WIDE1-1:>heard on home's radio")
    await asyncio.sleep(0.3)
    other.send(
        "N1RF-7>APDR16,TCPIP*:>now on the internet",
        "N1RF-7>APRS,WIDE1-1:>heard again, on away's radio: not internet traffic",
        "N9ELSE>APDR16,TCPIP*:>a station nobody here heard",
    )
    assert await home.read_packet() == b"N1RF-7>APDR16,TCPIP*,qAS,N0AWAY:>now on the internet"
    with pytest.raises(asyncio.TimeoutError):
        await home.read_packet(timeout=1)
    with pytest.raises(asyncio.TimeoutError):
        await other.read_packet(timeout=0.5)  # its own uploads never come back

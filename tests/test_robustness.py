"""What the network and the users throw at a running daemon (issue: survive it).

Each test names the attack it answers; all run against the real daemon, with real
TCP, websocket and HTTP clients and a real Redis."""

import asyncio
import json
import re
import subprocess
import sys

import pytest
import websockets

from tests.conftest import REPO, RedisServer
from tests.feedclient import FeedClient
from tests.igateclient import IGateClient
from tests.test_daemon import linked, send_paced
from tests.test_igate import igate_daemon


def metric(text, name):
    """The sum of a metric's samples in Prometheus text (0 if absent)."""
    return sum(float(value) for value in re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M))


async def test_a_lone_surrogate_gets_an_error_frame_and_the_socket_lives(daemon):
    gateway = await daemon("--no-aprs").started()
    feed = await FeedClient.connect(gateway.ws_url)
    await feed.send('{"type":"subscribe","filter":"b/\\ud800"}')
    refusal = await feed.frame()
    assert refusal["type"] == "error" and "lone surrogate" in refusal["reason"]
    await feed.subscribe("b/N0CALL")  # still open, still answering
    chat = await websockets.connect(f"{gateway.ws_url}/chat/", origin=gateway.url)
    while json.loads(await chat.recv())["type"] != "joined":
        pass
    await chat.send('{"type":"message","text":"\\udfff","id":"\\ud800"}')
    assert "lone surrogate" in json.loads(await chat.recv())["reason"]
    await chat.close()
    assert "Traceback" not in gateway.log() and "ERROR" not in gateway.log()


async def test_too_many_bad_frames_close_with_1008_and_no_error_log(daemon):
    gateway = await daemon("--no-aprs").started()
    feed = await FeedClient.connect(gateway.ws_url)
    for _ in range(20):
        await feed.send("not json")
    try:
        while True:
            await feed.frame(5)
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd.code == 1008
    assert "Traceback" not in gateway.log() and "ERROR" not in gateway.log()


async def test_an_upload_that_outgrows_510_bytes_with_its_q_construct_is_refused(daemon):
    gateway = await igate_daemon(daemon)
    client, _ = await IGateClient.logged_in(gateway.igate_port, "N0IGT")
    client.send("N0SQ1>APRS,WIDE1-1:" + "0" * 490)  # 509 bytes; with ,qAS,N0IGT 519
    client.send("N0SQ1>APRS,WIDE1-1:>after")
    await gateway.until_log("(N0IGT) logged in")
    for _ in range(100):
        status = await gateway.get_json("/api/status")
        if status["igate"]["accepted"] == 1:
            break
        await asyncio.sleep(0.05)
    assert status["igate"]["refused"] == {"over 512 bytes with the q-construct": 1}
    assert "starting a new one" not in gateway.log() and "Traceback" not in gateway.log()


async def test_cr_alone_ends_a_line_from_upstream(daemon, upstream):
    gateway, session = await linked(daemon, upstream)
    feed = await FeedClient.connect(gateway.ws_url)
    await feed.subscribe("")
    session.send_raw(b"N0ONE>APRS:>one\rN0TWO>APRS:>two\rN0THR>APRS:>three\r")
    items = await feed.packets(3)
    assert [item["text"] for item in items] == ["N0ONE>APRS:>one", "N0TWO>APRS:>two", "N0THR>APRS:>three"]


async def test_the_workers_wait_out_a_redis_outage_and_the_archive_catches_up(daemon, upstream, tmp_path):
    redis = RedisServer(tmp_path / "redis", durable=True)
    (tmp_path / "redis").mkdir()
    redis.start()
    env = {"REDIS_URL": redis.url, "ARCHIVE_ENABLED": "true", "ARCHIVE_FLUSH_INTERVAL": "0.2"}
    gateway, session = await linked(daemon, upstream, env=env)
    await gateway.until_log("worker: consuming")

    def packets(tag, count):
        return [f"N0R{n % 10}>APRS:>{tag} {n}".encode() for n in range(count)]

    async def counts():
        text = (await gateway.get("/metrics")).decode()
        return (
            metric(text, "aprs_gateway_packets_received_total"),
            metric(text, "aprs_gateway_archive_packets_stored_total"),
            metric(text, "aprs_gateway_archive_packets_dropped_total"),
            metric(text, "aprs_gateway_task_restarts_total"),
        )

    async def settled(timeout=40):
        """Until everything received is stored or counted as dropped."""
        for _ in range(timeout * 10):
            received, stored, dropped, restarts = await counts()
            if received and stored + dropped >= received:
                return received, stored, dropped, restarts
            await asyncio.sleep(0.1)
        raise AssertionError(f"not settled: {await counts()}\n{gateway.log()}")

    await send_paced(session, packets("before", 200))
    assert (await settled())[1] == 200
    redis.kill()  # SIGKILL: what Redis accepted is on disk (appendfsync always)
    await gateway.until_log("worker aprs-archive: channel layer unavailable")
    status, body = await gateway.request("/readyz")
    assert status == 503 and json.loads(body)["checks"]["channel_layer"]["ok"] is False
    await asyncio.sleep(2)
    redis.start()
    session = await upstream.next_session(timeout=30)  # the uplink's lease came back
    session.logresp()
    await send_paced(session, packets("after", 200))
    received, stored, dropped, restarts = await settled()
    assert received >= 400 and stored >= 400, (received, stored, dropped, gateway.log()[-3000:])
    await gateway.until_log("worker aprs-archive: channel layer back")
    assert "Traceback" not in gateway.log(), gateway.log()
    for _ in range(100):
        status, body = await gateway.request("/readyz")
        if status == 200:
            break
        await asyncio.sleep(0.2)
    assert status == 200, body
    redis.kill()


def cli(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_deploy_check_is_clean_behind_a_tls_proxy():
    import os

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "k" * 20 + "-production-secret-that-is-long-enough-0123456789",
        "ALLOWED_HOSTS": "aprs.example.org",
        "BEHIND_TLS_PROXY": "true",
    }
    result = cli("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    insecure = cli("check", "--deploy", "--fail-level", "WARNING", env={**env, "BEHIND_TLS_PROXY": "false"})
    assert insecure.returncode != 0 and "SECURE_HSTS_SECONDS" in insecure.stdout + insecure.stderr


async def test_metrics_through_a_proxy_need_the_token(daemon):
    gateway = await daemon("--no-aprs", env={"METRICS_TOKEN": "t0ken"}).started()
    assert (await gateway.request("/metrics"))[0] == 200  # a direct local scrape
    assert (await gateway.request("/metrics", {"X-Forwarded-For": "203.0.113.9"}))[0] == 403
    authorised = await gateway.request("/metrics", {"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer t0ken"})
    assert authorised[0] == 200


async def test_connection_caps_for_websockets_and_the_server_port(daemon):
    env = {"MAX_CONNECTIONS_PER_ADDRESS": "3", "IGATE_MAX_PER_ADDRESS": "2"}
    gateway = await igate_daemon(daemon, env=env)
    feeds = [await FeedClient.connect(gateway.ws_url) for _ in range(3)]
    try:
        await FeedClient.connect(gateway.ws_url)
        raise AssertionError("a fourth websocket from one address was let in")
    except websockets.InvalidStatus as refused:
        assert refused.response.status_code == 403
    status, body = await gateway.request("/api/status")
    assert status == 503 and b"too many connections from your address" in body
    for feed in feeds:
        await feed.close()
    await asyncio.sleep(0.2)
    assert (await gateway.request("/api/status"))[0] == 200  # freed with the sockets

    first = await IGateClient.connect(gateway.igate_port)
    second = await IGateClient.connect(gateway.igate_port)
    third = await IGateClient.connect(gateway.igate_port)
    assert await third.until_closed(5) == b""  # closed at once, without a greeting
    assert (await first.read_line()).startswith(b"# aprs-gateway")
    second.close()
    status = await gateway.get_json("/api/status")
    assert status["igate"]["connections_refused"] == 1
    assert "refused: 2 clients, 2 from there" in gateway.log()


async def test_a_request_body_over_the_cap_is_refused_before_it_is_read(daemon):
    gateway = await daemon("--no-aprs", env={"MAX_REQUEST_BODY": "100000"}).started()
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50000000\r\n\r\n")
    writer.write(b"x" * 65536)  # only the start of the 50 MB it announced
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    assert response.startswith(b"HTTP/1.1 413 ") and b"request body over 100000 bytes" in response
    writer.close()
    # chunked, with no length given: cut off once it passes the cap
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(4):
        writer.write(b"8000\r\n" + b"y" * 0x8000 + b"\r\n")
    await writer.drain()
    assert (await asyncio.wait_for(reader.read(), 10)).startswith(b"HTTP/1.1 413 ")
    writer.close()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


async def test_non_reading_clients_meet_the_slow_client_rule_and_memory_stays_bounded(daemon, upstream, corpus):
    gateway, session = await linked(daemon, upstream)
    stuck = []
    for _ in range(50):  # clients that never read, with small receive buffers as a real slow link has
        client = await FeedClient.slow_reader(gateway.ws_url, gateway.port)
        await client.subscribe("")
        stuck.append(client)
    sndbuf = subprocess.run(
        ["ss", "-tmn", "state", "established", f"sport = :{gateway.port}"], capture_output=True, text=True
    ).stdout
    assert "tb131072" in sndbuf  # FEED_SOCKET_BUFFER (64 KiB, doubled by Linux) on the daemon's sockets
    start = rss_mib(gateway.process.pid)
    lines = [line for lines in corpus.values() for line in lines]
    await send_paced(session, lines + lines, chunk=500, pause=0.02)
    await gateway.until_log("feed hub", timeout=1)  # still alive and logging
    grown = rss_mib(gateway.process.pid) - start
    assert grown < 120, f"RSS grew {grown:.0f} MiB for 50 stuck clients"  # 50 x (1,000 packets buffered) at most
    received = await stuck[0].packets(2 * len(lines), timeout=60)  # now it reads: told what it lost
    assert stuck[0].dropped > 0 and len(received) + stuck[0].dropped == 2 * len(lines)


async def test_300_uploading_igates_for_60_s_keep_memory_flat(daemon):
    gateway = await igate_daemon(daemon, env={"IGATE_MAX_PER_ADDRESS": "400"})
    clients = [(await IGateClient.logged_in(gateway.igate_port, f"N{n:03d}IG"))[0] for n in range(300)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = 0
    for second in range(60):  # one round a second; a slow round is not skipped, only late
        for n, client in enumerate(clients):
            client.send(f"N{n:03d}RF>APRS,WIDE1-1:>seen at second {second}")
            sent += 1
        if second == 15:
            warm = rss_mib(gateway.process.pid)
        await asyncio.sleep(max(0.0, started + second + 1 - loop.time()))
    end = rss_mib(gateway.process.pid)
    status = await gateway.get_json("/api/status")
    assert status["igate"]["clients"] == 300
    assert status["igate"]["accepted"] >= sent * 0.95
    assert end - warm < 0.15 * warm, f"RSS {warm:.0f} -> {end:.0f} MiB while 300 iGates uploaded"
    for client in clients:
        client.close()


async def test_nobody_logs_in_or_uploads_as_this_gateway(daemon):
    gateway = await igate_daemon(daemon, env={"IGATE_SERVER_ID": "T2LOCAL", "APRS_CALLSIGN": "N0GW"})
    impostor = await IGateClient.connect(gateway.igate_port)
    await impostor.read_line()
    impostor.send("user T2LOCAL pass 17219 vers x 1")
    assert (await impostor.read_line()) == b"# login refused: T2LOCAL is this server's ID"
    client, _ = await IGateClient.logged_in(gateway.igate_port, "N0IGT")
    client.send("N0GW>APRS,WIDE1-1:>pretending to be the gateway", "T2LOCAL>APRS:>or its server")
    client.send("N1ABC>APRS,qAI,T2FAR:>traced")
    for _ in range(100):
        status = await gateway.get_json("/api/status")
        if status["igate"]["accepted"] == 1:
            break
        await asyncio.sleep(0.05)
    assert status["igate"]["refused"] == {"source is this gateway's callsign": 2}


ANY_SHAPE = [
    '{"type":["subscribe"]}',
    '{"type":{"a":1}}',
    "[" * 600 + "]" * 600,  # 1.2 KB, nested 600 deep
    '{"type":"subscribe","filter":' + "[" * 300 + "]" * 300 + "}",
    '{"type":"delete","id":Infinity}',
    '{"type":"mute","user":"x","minutes":NaN}',
    '{"type":"announce","room":{"x":1}}',
    '{"type":"message","text":[[["deep"]]],"id":{"a":[]}}',
    '{"type":"send","to":' + "9" * 4000 + "}",
    '{"type":"subscribe","recent":-1e999}',
    "null",
    '"type"',
]
"""Frames that crashed a consumer (1011, a 105 KB traceback each) before one schema checked
every frame: a type that is no string, deep nesting, numbers past what JSON should carry."""


async def test_frames_of_any_shape_get_an_error_frame_never_1011_nor_a_traceback(daemon):
    from tests.test_chat_daemon import CREATE_USERS, log_in

    daemon.manage("migrate", "--noinput")
    daemon.manage("shell", "-c", CREATE_USERS)
    gateway = await daemon("--no-aprs").started()
    mod = await asyncio.to_thread(log_in, gateway.url, "mod", "mod-secret-1")
    endpoints = [
        ("/ws/aprs/", None, '{"type":"unsubscribe"}', "unsubscribed"),
        ("/chat/", None, '{"type":"ping"}', "pong"),
        ("/chat/admin/", mod, '{"type":"online"}', "done"),
        ("/ws/messages/", mod, '{"type":"conversations"}', "conversations"),
    ]
    for path, cookie, good, answer in endpoints:
        headers = {"Cookie": cookie} if cookie else {}
        socket = await websockets.connect(gateway.ws_url + path, origin=gateway.url, additional_headers=headers)
        await socket.recv()  # hello, joined, admin
        for frame in ANY_SHAPE:
            await socket.send(frame)
            while (reply := json.loads(await asyncio.wait_for(socket.recv(), 5)))["type"] == "presence":
                pass
            assert reply["type"] == "error" and reply["code"] == "bad_frame", (path, frame[:40], reply)
        await socket.send(good)  # the connection lives on
        while (reply := json.loads(await asyncio.wait_for(socket.recv(), 5)))["type"] == "presence":
            pass
        assert reply["type"] == answer, (path, reply)
        await socket.close()
    log = gateway.log()
    assert "Traceback" not in log and "ERROR" not in log
    assert log.count("a bad frame") == len(endpoints)  # once per connection, however many
    metrics_text = (await gateway.get("/metrics")).decode()
    assert metric(metrics_text, "aprs_gateway_websocket_bad_frames_total") == len(endpoints) * len(ANY_SHAPE)


async def test_invalid_utf8_closes_with_1007_and_an_oversized_message_with_1009(daemon):
    gateway = await daemon("--no-aprs").started()
    for payload, code in ((b'{"type":"ping","x":"\xff\xfe"}', 1007), (b"x" * 70_000, 1009)):
        for path in ("/ws/aprs/", "/chat/"):
            socket = await websockets.connect(gateway.ws_url + path, origin=gateway.url, max_size=None)
            await socket.recv()
            await socket.send(payload, text=True)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), 10)
            assert closed.value.rcvd is not None, f"{path}: dropped without a close frame"
            assert closed.value.rcvd.code == code, (path, closed.value.rcvd)
    assert "Traceback" not in gateway.log()


async def test_a_thousand_igate_logins_do_not_flood_the_log(daemon):
    """Four INFO lines per iGate connection, and no limit on lines of one kind: 1,000 logins
    grew the log by 372 KB. Now two lines a connection, and 20 a minute of each kind."""
    env = {"IGATE_MAX_PER_ADDRESS": "2000", "IGATE_MAX_CLIENTS": "2000"}
    gateway = await igate_daemon(daemon, "--no-aprs", env=env)
    before = len(gateway.log())
    gate = asyncio.Semaphore(100)

    async def log_in_and_leave(n):
        async with gate:
            client, logresp = await IGateClient.logged_in(gateway.igate_port, f"NL{n:04d}")
            assert logresp.startswith(b"# logresp")
            client.writer.close()

    await asyncio.gather(*(log_in_and_leave(n) for n in range(1000)))
    await gateway.until_log("disconnected", count=21)
    await asyncio.sleep(1)
    grown = gateway.log()[before:]
    assert len(grown) < 20_000, f"{len(grown)} bytes for 1,000 logins:\n{grown[:2000]}"
    assert grown.count("logged in, verified") == 21  # 20, then the one that says the rest are held back
    assert "more lines like this are held back for up to 60 s" in grown

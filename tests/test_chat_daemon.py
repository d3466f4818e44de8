"""Chat through the real daemon: real logins, restarts, and two nodes over Redis."""

import asyncio
import http.cookiejar
import itertools
import json
import re
import urllib.parse
import urllib.request

import pytest
import websockets

CREATE_USERS = (
    "from django.contrib.auth.models import User; "
    "User.objects.create_user('ann', password='ann-secret-1'); "
    "User.objects.create_user('mod', password='mod-secret-1', is_staff=True)"
)


def log_in(base_url, username, password):
    """Log in through Django's login page (CSRF and all); return the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + "/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/"}
    ).encode()
    opener.open(
        urllib.request.Request(
            base_url + "/accounts/login/", data=form, headers={"Referer": base_url + "/accounts/login/"}
        )
    )
    cookies = {cookie.name: cookie.value for cookie in jar}
    assert "sessionid" in cookies, "login failed"
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def chat(gateway, path="/chat/", cookie=None):
    headers = {"Cookie": cookie} if cookie else {}
    socket = await websockets.connect(gateway.ws_url + path, origin=gateway.url, additional_headers=headers)
    joined = json.loads(await socket.recv())
    return socket, joined


async def next_of(socket, kind, timeout=5):
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] == kind:
            return frame


async def started(daemon, env=None):
    return await daemon("--no-aprs", env=env).started()


async def test_logged_in_user_speaks_under_their_name_and_history_survives_a_restart(daemon):
    daemon.manage("migrate", "--noinput")
    daemon.manage("shell", "-c", CREATE_USERS)
    first = await started(daemon)
    cookie = await asyncio.to_thread(log_in, first.url, "ann", "ann-secret-1")
    socket, joined = await chat(first, cookie=cookie)
    assert joined["you"]["name"] == "ann" and joined["history"] == []
    await socket.send(json.dumps({"type": "message", "text": "<b>73</b> de ann", "id": "a1"}))
    ack = await next_of(socket, "ack")
    await socket.close()
    first.stop()
    second = await started(daemon)
    reader, joined = await chat(second)  # anonymous readers see the lobby
    assert [(m["id"], m["name"], m["text"]) for m in joined["history"]] == [
        (ack["message_id"], "ann", "<b>73</b> de ann")
    ]
    await reader.close()


async def test_admin_chat_refuses_anonymous_and_non_staff_but_takes_staff(daemon):
    daemon.manage("migrate", "--noinput")
    daemon.manage("shell", "-c", CREATE_USERS)
    gateway = await started(daemon)
    with pytest.raises(websockets.exceptions.InvalidStatus) as anonymous:
        await chat(gateway, "/chat/admin/")
    assert anonymous.value.response.status_code == 403
    ann = await asyncio.to_thread(log_in, gateway.url, "ann", "ann-secret-1")
    with pytest.raises(websockets.exceptions.InvalidStatus) as non_staff:
        await chat(gateway, "/chat/admin/", cookie=ann)
    assert non_staff.value.response.status_code == 403
    mod = await asyncio.to_thread(log_in, gateway.url, "mod", "mod-secret-1")
    socket, hello = await chat(gateway, "/chat/admin/", cookie=mod)
    assert hello == {"type": "admin", "you": "mod", "rooms": ["lobby"]}
    await socket.close()


async def test_two_daemons_share_the_chat_over_redis(daemon, redis_url):
    daemon.manage("migrate", "--noinput")
    env = {"REDIS_URL": redis_url.rsplit("/", 1)[0] + "/1", "CHAT_ALLOW_GUESTS": "true"}
    node_a = await started(daemon, env)
    node_b = await started(daemon, env)
    alice, _ = await chat(node_a)
    bob, _ = await chat(node_b)
    for socket, nick in ((alice, "alice"), (bob, "bob")):
        await socket.send(json.dumps({"type": "nick", "nick": nick}))
        await next_of(socket, "nick")
    await next_of(alice, "presence")  # bob's arrival, announced across nodes
    await alice.send(json.dumps({"type": "message", "text": "hello from node A", "id": "x1"}))
    message = (await next_of(bob, "message"))["message"]
    assert (message["name"], message["text"]) == ("alice", "hello from node A")
    await bob.send(json.dumps({"type": "message", "text": "and back from B", "id": "y1"}))
    assert (await next_of(alice, "message"))["message"]["text"] == "hello from node A"  # her own
    assert (await next_of(alice, "message"))["message"]["text"] == "and back from B"
    for socket in (alice, bob):
        await socket.close()


async def test_150_guests_choosing_their_nicks_at_once_on_redis_all_get_them(daemon, redis_url):
    """Each choice is announced to the room: 150 at once once ran redis-py's pool of 100
    connections dry, and the rest were closed with 1011 (internal error)."""
    daemon.manage("migrate", "--noinput")
    env = {"REDIS_URL": redis_url.rsplit("/", 1)[0] + "/1", "CHAT_ALLOW_GUESTS": "true"}
    gateway = await started(daemon, {**env, "MAX_CONNECTIONS_PER_ADDRESS": "1000"})

    async def guest(n):
        socket, _ = await chat(gateway)
        try:
            await socket.send(json.dumps({"type": "nick", "nick": f"guest{n:03d}"}))
            return (await next_of(socket, "nick", timeout=30))["you"]["name"]
        finally:
            await socket.close()

    names = await asyncio.gather(*(guest(n) for n in range(150)))
    assert sorted(names) == [f"guest{n:03d}" for n in range(150)]
    assert "Exception inside application" not in gateway.log()


async def test_a_room_shared_by_two_nodes_speaks_again_after_redis_restarts_empty(daemon, redis):
    """A restarted Redis has forgotten every group: each node's room hub joins its rooms again;
    members' connections wait the outage out instead of failing (1011); nothing is lost."""
    daemon.manage("migrate", "--noinput")
    env = {"REDIS_URL": redis.url, "CHAT_ALLOW_GUESTS": "true"}
    node_a, node_b = await started(daemon, env), await started(daemon, env)
    alice, _ = await chat(node_a)
    bob, _ = await chat(node_b)
    await alice.send(json.dumps({"type": "nick", "nick": "alice"}))
    await next_of(alice, "nick")
    redis.kill()
    await asyncio.sleep(1)
    redis.start()
    deadline = asyncio.get_running_loop().time() + 15
    sent = []
    for n in itertools.count():  # one a second until bob hears one
        sent.append(f"after the restart {n}")
        await alice.send(json.dumps({"type": "message", "text": sent[-1], "id": f"r{n}"}))
        try:
            heard = [(await next_of(bob, "message", timeout=1))["message"]["text"]]
            break
        except asyncio.TimeoutError:
            assert asyncio.get_running_loop().time() < deadline, "the room did not come back within 15 s"
    assert heard[0].startswith("after the restart")
    # Said before bob's node was back in the room's group (a restarted Redis knows no group
    # until the hubs join again), a message may miss him live; none is lost from the history.
    reader, joined = await chat(node_b)
    assert set(sent) <= {message["text"] for message in joined["history"]}
    await reader.close()
    for socket in (alice, bob):
        await socket.close()

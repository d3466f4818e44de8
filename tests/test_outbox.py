"""APRS messages from the web, through the real daemon and a scripted APRS-IS server."""

import asyncio
import json

import pytest
import websockets

from tests.test_chat_daemon import log_in, next_of

HAM = (
    "from django.contrib.auth.models import User; from gateway.models import Profile; "
    "u = User.objects.create_user('ham', password='ham-secret-1'); "
    "Profile.objects.create(user=u, callsign='N0HAM', callsign_verified={verified})"
)


async def ham_chat(daemon, upstream, passcode, verified=True, env=None):
    daemon.manage("migrate", "--noinput")
    daemon.manage("shell", "-c", HAM.format(verified=verified))
    gateway = await daemon(
        "--aprs-server", upstream.address, "--passcode", passcode, env={"OUTBOX_RETRY": "1", **(env or {})}
    ).started()
    session = await upstream.next_session()
    session.logresp()
    await gateway.until_log("aprs application started")
    if verified:  # APRS-IS is asked for the web user's messages
        assert await session.read_line() == b"#filter g/N0HAM"
    cookie = await asyncio.to_thread(log_in, gateway.url, "ham", "ham-secret-1")
    socket = await websockets.connect(
        gateway.ws_url + "/chat/", origin=gateway.url, additional_headers={"Cookie": cookie}
    )
    await next_of(socket, "joined")
    return gateway, session, socket


async def outbox_state(socket, state):
    while True:
        frame = await next_of(socket, "outbox")
        if frame["message"]["state"] == state:
            return frame["message"]


async def test_message_is_sent_retried_and_settled_by_the_ack(daemon, upstream):
    gateway, session, socket = await ham_chat(daemon, upstream, "13023")
    await socket.send(json.dumps({"type": "aprs_message", "to": "n0demo-9", "text": "hello from the web"}))
    queued = await outbox_state(socket, "queued")
    line = b"N0HAM>APRS,TCPIP*::N0DEMO-9 :hello from the web{" + queued["msgno"].encode()
    assert await session.read_line() == line
    assert (await outbox_state(socket, "sent"))["tries"] == 1
    assert await session.read_line(timeout=5) == line  # no ack yet: sent again after OUTBOX_RETRY
    assert (await outbox_state(socket, "sent"))["tries"] == 2
    session.send_lines([b"N0DEMO-9>APRS,TCPIP*::N0HAM    :ack" + queued["msgno"].encode()])
    assert (await outbox_state(socket, "acked"))["tries"] == 2
    with pytest.raises(asyncio.TimeoutError):
        await session.read_line(timeout=2.5)  # settled: no more tries


async def test_unanswered_message_fails_after_its_tries(daemon, upstream):
    gateway, session, socket = await ham_chat(daemon, upstream, "13023", env={"OUTBOX_TRIES": "2"})
    await socket.send(json.dumps({"type": "aprs_message", "to": "N0DEMO-9", "text": "anyone?"}))
    for _ in range(2):
        assert (await session.read_line(timeout=5)).endswith(b":anyone?{1")
    failed = await outbox_state(socket, "failed")
    assert failed["tries"] == 2


async def test_nothing_is_transmitted_for_an_unverified_login(daemon, upstream):
    gateway, session, socket = await ham_chat(daemon, upstream, "-1", env={"OUTBOX_ROUTE_WAIT": "1"})
    await socket.send(json.dumps({"type": "aprs_message", "to": "N0DEMO-9", "text": "hello"}))
    await outbox_state(socket, "queued")
    await outbox_state(socket, "no_route")  # the uplink login is not verified: nothing may transmit it
    with pytest.raises(asyncio.TimeoutError):
        await session.read_line(timeout=2)


async def test_nothing_is_accepted_from_an_unverified_callsign(daemon, upstream):
    gateway, session, socket = await ham_chat(daemon, upstream, "13023", verified=False)
    await socket.send(json.dumps({"type": "aprs_message", "to": "N0DEMO-9", "text": "hello"}))
    error = await next_of(socket, "error")
    assert error["code"] == "callsign_unverified"
    with pytest.raises(asyncio.TimeoutError):
        await session.read_line(timeout=2)


async def test_messages_to_the_gateway_are_acknowledged(daemon, upstream):
    gateway = await daemon("--aprs-server", upstream.address, "--passcode", "13023").started()
    session = await upstream.next_session()
    session.logresp()
    await gateway.until_log("aprs application started")
    session.send_lines([b"N0DEMO-9>APRS,TCPIP*::N0CALL   :are you there?{42"])
    assert await session.read_line() == b"N0CALL>APRS,TCPIP*::N0DEMO-9 :ack42"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "to, text, code",
    [
        ("not a call", "hi", "bad_destination"),
        ("N0DEMO-9", "", "bad_text"),
        ("N0DEMO-9", "x" * 68, "bad_text"),
        ("N0DEMO-9", "pipe | here", "bad_text"),
        ("N0DEMO-9", "brace {here", "bad_text"),
        ("N0DEMO-9", "ünïcode", "bad_text"),
    ],
)
def test_submit_refuses_what_aprs_cannot_carry(to, text, code):
    from django.contrib.auth.models import User

    from gateway import outbox
    from gateway.chat import ChatError
    from gateway.models import Profile

    user = User.objects.create_user("ham")
    Profile.objects.create(user=user, callsign="N0HAM", callsign_verified=True)
    with pytest.raises(ChatError) as refused:
        outbox.submit(user, to, text)
    assert refused.value.code == code


@pytest.mark.django_db
def test_submit_numbers_messages_and_limits_each_user():
    from django.contrib.auth.models import User

    from gateway import outbox
    from gateway.chat import ChatError
    from gateway.models import Profile

    outbox.per_user.buckets.clear()
    user = User.objects.create_user("ham")
    Profile.objects.create(user=user, callsign="N0HAM", callsign_verified=True)
    numbers = [outbox.submit(user, "N0DEMO-9", f"m{n}").msgno for n in range(3)]
    assert numbers == ["1", "2", "3"]
    with pytest.raises(ChatError) as limited:
        outbox.submit(user, "N0DEMO-9", "one too many")
    assert limited.value.code == "rate_limited"

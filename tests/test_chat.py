"""Chat in one process: consumers, database and the in-memory layer, real frames."""

import asyncio
import json

import pytest
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User

from config.asgi import websocket_routes
from consumers import chat as chat_consumers
from consumers.frames import MAX_BAD_FRAMES, MAX_FRAME
from gateway.layers import InMemoryChannelLayer
from gateway.models import Message, ModerationAction, Profile, Room, Sanction
from gateway.names import room_group

pytestmark = pytest.mark.django_db(transaction=True)
APP = URLRouter(websocket_routes)


@pytest.fixture(autouse=True)
def fresh_state():
    Room.objects.get_or_create(name="lobby")  # the migration's room; flushed between tests
    channel_layers.backends.clear()
    chat_consumers.rate_limit.buckets.clear()
    yield
    channel_layers.backends.clear()


def make_user(name, staff=False, callsign=""):
    user = User.objects.create_user(name, password="pw-" + name, is_staff=staff)
    Profile.objects.create(user=user, callsign=callsign)
    return user


class Member:
    """A chat connection through the real router."""

    def __init__(self, communicator):
        self.ws = communicator

    @classmethod
    async def join(cls, user=None, path="/chat/", expect="joined"):
        communicator = WebsocketCommunicator(APP, path)
        communicator.scope["user"] = user or AnonymousUser()
        communicator.scope["client"] = ["127.0.0.1", 5000]
        connected, _ = await communicator.connect()
        assert connected
        member = cls(communicator)
        if expect:
            member.first = await member.next(expect)
        return member

    async def next(self, kind=None, timeout=2):
        frame = await self.ws.receive_json_from(timeout)
        if kind is not None:
            assert frame["type"] == kind, frame
        return frame

    async def say(self, text, client_id=None):
        await self.ws.send_json_to({"type": "message", "text": text, "id": client_id})

    async def quiet(self):
        return await self.ws.receive_nothing(0.2)

    async def close(self):
        await self.ws.disconnect()


async def test_history_on_join_is_the_last_50_in_order():
    lobby = await Room.objects.aget(name="lobby")
    for n in range(60):
        await Message.objects.acreate(room=lobby, name="old", text=f"m{n}", sender_key="user:0")
    member = await Member.join(await User.objects.acreate(username="ann"))
    assert [m["text"] for m in member.first["history"]] == [f"m{n}" for n in range(10, 60)]
    await member.close()


async def test_presence_join_and_leave():
    from asgiref.sync import sync_to_async

    ann = await Member.join(await sync_to_async(make_user)("ann", callsign="N0ANN"))
    bob = await Member.join(await sync_to_async(make_user)("bob"))
    assert {p["name"] for p in bob.first["presence"]} == {"ann", "bob"}
    assert bob.first["you"] == {"name": "bob", "callsign": "", "guest": False}
    assert (await ann.next("presence")) == {
        "type": "presence",
        "event": "join",
        "who": {"name": "bob", "callsign": "", "guest": False},
    }
    await bob.close()
    assert (await ann.next("presence"))["event"] == "leave"
    await ann.close()


async def test_message_is_stored_before_ack_and_broadcast_once_per_id():
    ann = await Member.join(await User.objects.acreate(username="ann"))
    bob = await Member.join(await User.objects.acreate(username="bob"))
    await ann.next("presence")
    await ann.say("hello <script>alert(1)</script>", "c-1")
    got = await ann.next()  # ann sees her own message, then the ack (or the reverse)
    frames = [got, await ann.next()]
    ack = next(f for f in frames if f["type"] == "ack")
    stored = await Message.objects.aget(pk=ack["message_id"])
    assert ack["id"] == "c-1" and stored.text == "hello <script>alert(1)</script>"
    message = (await bob.next("message"))["message"]
    assert message["text"] == "hello <script>alert(1)</script>"  # text, as sent
    assert message["name"] == "ann" and message["id"] == stored.pk
    await ann.say("hello <script>alert(1)</script>", "c-1")  # a retry
    assert (await ann.next("ack"))["message_id"] == stored.pk
    assert await bob.quiet()
    assert await Message.objects.filter(sender_key=stored.sender_key).acount() == 1
    await ann.close()
    await bob.close()


async def test_admin_handshake_refused_for_anonymous_and_non_staff():
    from asgiref.sync import sync_to_async

    for user in (AnonymousUser(), await sync_to_async(make_user)("pleb")):
        communicator = WebsocketCommunicator(APP, "/chat/admin/")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        assert not connected
    staff = WebsocketCommunicator(APP, "/chat/admin/")
    staff.scope["user"] = await sync_to_async(make_user)("mod", staff=True)
    connected, _ = await staff.connect()
    assert connected
    assert (await staff.receive_json_from())["rooms"] == ["lobby"]
    await staff.disconnect()


async def admin():
    from asgiref.sync import sync_to_async

    communicator = WebsocketCommunicator(APP, "/chat/admin/")
    communicator.scope["user"] = await sync_to_async(make_user)("mod", staff=True)
    assert (await communicator.connect())[0]
    await communicator.receive_json_from()
    return communicator


async def command(moderator, frame):
    await moderator.send_json_to(frame)
    return await moderator.receive_json_from(2)


async def test_moderation_is_seen_by_members_and_logged():
    from asgiref.sync import sync_to_async

    mod = await admin()
    ann = await Member.join(await sync_to_async(make_user)("ann"))
    bob = await Member.join(await sync_to_async(make_user)("bob"))
    await ann.next("presence")
    done = await command(mod, {"type": "announce", "room": "lobby", "text": "net at 20:00"})
    assert done["type"] == "done"
    for member in (ann, bob):
        message = (await member.next("message"))["message"]
        assert message["announcement"] and message["text"] == "net at 20:00"
    await ann.say("spam", "s1")
    frames = [await ann.next(), await ann.next()]
    message_id = next(f["message_id"] for f in frames if f["type"] == "ack")
    await bob.next("message")
    assert (await command(mod, {"type": "delete", "id": message_id}))["id"] == message_id
    for member in (ann, bob):
        assert await member.next("deleted") == {"type": "deleted", "id": message_id}
    online = await command(mod, {"type": "online"})
    assert {p["name"] for p in online["online"]} == {"ann", "bob"}
    # mute: told, then refused with the time it ends
    muted = await command(mod, {"type": "mute", "user": "ann", "minutes": 10})
    assert (await ann.next("muted"))["until"] == muted["until"]
    await ann.say("still here?", "s2")
    refused = await ann.next("error")
    assert refused["code"] == "muted" and refused["until"] == muted["until"]
    # ban: closed now, refused on the next connect
    await command(mod, {"type": "ban", "user": "bob"})
    assert (await bob.next("error"))["code"] == "banned"
    assert (await bob.ws.receive_output(2)) == {"type": "websocket.close", "code": 4003}
    again = await Member.join(await User.objects.aget(username="bob"), expect="error")
    assert again.first["code"] == "banned"
    actions = [a async for a in ModerationAction.objects.order_by("created_at").values_list("action", flat=True)]
    assert actions == ["announce", "delete", "mute", "ban"]
    assert await command(mod, {"type": "unban", "user": "bob"}) == {"type": "done", "action": "unban", "user": "bob"}
    await (await Member.join(await User.objects.aget(username="bob"))).close()
    lobby = await Member.join(await User.objects.aget(username="bob"))
    assert message_id not in [m["id"] for m in lobby.first["history"]]
    await mod.disconnect()


async def test_admin_errors_are_frames():
    mod = await admin()
    assert (await command(mod, {"type": "mute", "user": "nobody", "minutes": 5}))["code"] == "unknown_user"
    assert (await command(mod, {"type": "mute", "user": "mod", "minutes": -1}))["code"] == "bad_minutes"
    assert (await command(mod, {"type": "delete", "id": 999}))["code"] == "unknown_message"
    assert (await command(mod, {"type": "announce", "room": "nowhere", "text": "x"}))["code"] == "unknown_room"
    assert (await command(mod, {"type": "dance"}))["code"] == "bad_frame"
    await mod.disconnect()


async def test_rate_limit_says_when_to_retry():
    ann = await Member.join(await User.objects.acreate(username="ann"))
    for n in range(5):
        await ann.say(f"m{n}", f"r{n}")
        await ann.next()
        await ann.next()
    await ann.say("one too many", "r5")
    error = await ann.next("error")
    assert error["code"] == "rate_limited" and 0 < error["retry_after"] <= 1.0 and error["id"] == "r5"
    assert not await Message.objects.filter(text="one too many").aexists()
    await ann.close()


@pytest.mark.parametrize(
    "frame, code, reason",
    [
        ("x" * (MAX_FRAME + 1), "bad_frame", "larger than"),
        ("{not json", "bad_frame", "bad JSON"),
        (json.dumps({"type": "shout"}), "bad_frame", "unknown type"),
        (json.dumps({"type": "message", "text": "   "}), "bad_text", "empty"),
        (json.dumps({"type": "message", "text": "x" * 1001}), "bad_text", "longer than 1000"),
        (json.dumps({"type": "message", "text": "bell\x07"}), "bad_text", "control characters"),
        (json.dumps({"type": "message", "text": 5}), "bad_text", "must be a string"),
        (json.dumps({"type": "message", "text": "ok", "id": "x" * 65}), "bad_id", "1 to 64"),
        (json.dumps({"type": "message", "text": "pay \u202egnp.exe"}), "bad_text", "direction overrides"),
        (json.dumps({"type": "message", "text": "zero\u200bwidth"}), "bad_text", "invisible"),
        ('{"type": "message", "text": "\\ud800"}', "bad_frame", "lone surrogate"),
    ],
)
async def test_bad_input_gets_a_reason_and_the_connection_stays(frame, code, reason):
    ann = await Member.join(await User.objects.acreate(username="ann"))
    await ann.ws.send_to(text_data=frame)
    error = await ann.next("error")
    assert error["code"] == code and reason in error["reason"]
    await ann.say("still open", "ok-1")
    assert {(await ann.next())["type"], (await ann.next())["type"]} == {"ack", "message"}
    await ann.close()


async def test_twenty_bad_frames_close_the_connection():
    ann = await Member.join(await User.objects.acreate(username="ann"))
    for _ in range(MAX_BAD_FRAMES):
        await ann.ws.send_to(text_data="nope")
        await ann.next("error")
    assert await ann.ws.receive_output(2) == {"type": "websocket.close", "code": 1008}


async def test_unknown_room_and_named_rooms():
    lost = await Member.join(path="/chat/nowhere/", expect="error")
    assert lost.first["code"] == "unknown_room"
    assert await lost.ws.receive_output(2) == {"type": "websocket.close", "code": 4404}
    bad = await Member.join(path="/chat/Bad_Name!/", expect="error")
    assert bad.first["code"] == "bad_room"
    await Room.objects.acreate(name="contest")
    ann = await Member.join(await User.objects.acreate(username="ann"), path="/chat/contest/")
    lobby = await Member.join(await User.objects.acreate(username="bob"))
    await ann.say("in contest", "k1")
    await ann.next()
    await ann.next()
    assert await lobby.quiet()  # rooms do not leak into each other
    await ann.close()
    await lobby.close()


async def test_guests_read_and_speak_only_when_allowed(settings):
    make = User.objects.acreate
    await make(username="Registered")
    await Profile.objects.acreate(user=await make(username="ham"), callsign="OH2ABC")
    reader = await Member.join()
    assert reader.first["you"] == {"name": "", "callsign": "", "guest": True}
    assert reader.first["may_speak"] is False
    await reader.ws.send_json_to({"type": "nick", "nick": "Bob"})
    assert (await reader.next("error"))["code"] == "guests_off"
    await reader.say("hi", "g0")
    assert (await reader.next("error"))["code"] == "no_nick"
    settings.CHAT_ALLOW_GUESTS = True
    for taken in ("registered", "oh2abc", "OH2ABC-9", "K1ABC"):
        await reader.ws.send_json_to({"type": "nick", "nick": taken})
        assert (await reader.next("error"))["code"] == "nick_taken", taken
    await reader.ws.send_json_to({"type": "nick", "nick": "Bob"})
    assert (await reader.next("nick"))["you"] == {"name": "Bob", "callsign": "", "guest": True}
    await reader.say("hi from a guest", "g1")
    frames = [await reader.next(), await reader.next()]
    message = next(f["message"] for f in frames if f["type"] == "message")
    assert message["guest"] is True and message["name"] == "Bob"
    mod = await admin()
    await command(mod, {"type": "ban", "user": "guest:bob"})
    assert (await reader.next("error"))["code"] == "banned"
    sanction = await Sanction.objects.aget(guest_nick="bob")
    assert sanction.address == "127.0.0.1"  # the guest's address is banned with the nick
    again = await Member.join(expect="error")
    assert again.first["code"] == "banned"
    await mod.disconnect()


@pytest.mark.parametrize("path", ["/ws/echo/sync/", "/ws/echo/async/"])
async def test_echo_consumers(path):
    communicator = WebsocketCommunicator(APP, path)
    assert (await communicator.connect())[0]
    await communicator.send_to(text_data="ping ü")
    assert await communicator.receive_from() == "ping ü"
    await communicator.send_to(bytes_data=b"\x00\xff")
    assert await communicator.receive_from() == b"\x00\xff"
    await communicator.disconnect()


async def test_a_stored_message_reaches_its_room_once_the_layer_is_back():
    class AwayOnce(InMemoryChannelLayer):
        away = True

        async def group_send(self, group, message):
            if self.away:
                self.away = False
                raise OSError("Redis away")
            await super().group_send(group, message)

    layer = AwayOnce()
    await layer.group_add(room_group("lobby"), "hub.reader")
    await chat_consumers.announce(layer, "lobby", {"id": 7, "text": "said during the outage"})
    event = await asyncio.wait_for(layer.receive("hub.reader"), 5)  # tried again after 1 s
    assert event == {"type": "chat.message", "room": "lobby", "message": {"id": 7, "text": "said during the outage"}}

"""The chat rooms' hub: one group membership per process, one frame built per event."""

import asyncio
import json

import pytest

from gateway.feed.wsframe import text_frame
from gateway.layers import InMemoryChannelLayer
from gateway.names import room_group
from gateway.room_hub import TRY_AGAIN_LATER, Listener, RoomHub


class Socket:
    """What a member's socket was given, as our daphne server's extensions see it."""

    def __init__(self, backlog=0):
        self.frames, self.closed, self.unsent = [], None, backlog

    def write(self, wire):
        self.frames.append(wire)
        return True

    def close(self, code, reason):
        self.closed = code, reason

    def listener(self, channel):
        return Listener(channel, None, write_frame=self.write, backlog=lambda: self.unsent, close=self.close)

    def texts(self):
        return [json.loads(wire[2:]) for wire in self.frames]  # frames under 126 bytes: 2-byte header


@pytest.fixture
async def hub():
    hub = RoomHub(InMemoryChannelLayer())
    hub.start()
    yield hub


async def until(condition, timeout=2.0):
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_room_event_reaches_each_local_member_once_as_one_prebuilt_frame(hub):
    layer = hub.layer
    ann, bob, cat = Socket(), Socket(), Socket()
    for room, socket, channel in (("lobby", ann, "c.ann"), ("lobby", bob, "c.bob"), ("hams", cat, "c.cat")):
        listener = socket.listener(channel)
        await hub.add(room, listener)
        await hub.ready(listener)
    assert list(layer.groups[room_group("lobby")]) == [hub.channel]  # one member for the process
    message = {"id": 1, "room": "lobby", "text": "73"}
    await layer.group_send(room_group("lobby"), {"type": "chat.message", "room": "lobby", "message": message})
    await layer.group_send(
        room_group("lobby"),
        {"type": "chat.presence", "room": "lobby", "event": "join", "who": {"name": "bob"}, "channel": "c.bob"},
    )
    await until(lambda: len(ann.frames) == 2)
    assert ann.texts() == [
        {"type": "message", "message": message},
        {"type": "presence", "event": "join", "who": {"name": "bob"}},
    ]
    assert bob.texts() == [{"type": "message", "message": message}]  # not told of its own arrival
    assert ann.frames[0] is bob.frames[0]  # built once
    assert cat.frames == []


async def test_what_comes_before_joined_waits_for_it_and_keeps_its_order(hub):
    layer = hub.layer
    ann = Socket()
    listener = ann.listener("c.ann")
    await hub.add("lobby", listener)
    for n in (1, 2):
        await layer.group_send(room_group("lobby"), {"type": "chat.deleted", "room": "lobby", "id": n})
    await until(lambda: len(listener.held) == 2)
    assert ann.frames == []  # the consumer has not sent "joined" yet
    ann.frames.append(text_frame('{"type":"joined"}'))
    await hub.ready(listener)
    await layer.group_send(room_group("lobby"), {"type": "chat.deleted", "room": "lobby", "id": 3})
    await until(lambda: len(ann.frames) == 4)
    assert [frame.get("id") for frame in ann.texts()] == [None, 1, 2, 3]


async def test_a_member_too_slow_to_follow_is_closed_and_the_others_carry_on(hub, settings):
    settings.FEED_CLIENT_BACKLOG = 1000
    layer = hub.layer
    slow, quick = Socket(backlog=1001), Socket()
    for socket, channel in ((slow, "c.slow"), (quick, "c.quick")):
        listener = socket.listener(channel)
        await hub.add("lobby", listener)
        await hub.ready(listener)
    for n in (1, 2):
        await layer.group_send(room_group("lobby"), {"type": "chat.deleted", "room": "lobby", "id": n})
    await until(lambda: len(quick.frames) == 2)
    assert slow.closed == (TRY_AGAIN_LATER, "too slow to follow the room") and slow.frames == []
    assert len(hub.rooms["lobby"]) == 1  # forgotten after the first: not closed twice


async def test_the_hub_leaves_a_room_with_its_last_local_member():
    layer = InMemoryChannelLayer()
    hub = RoomHub(layer)
    ann, bob = Socket().listener("c.ann"), Socket().listener("c.bob")
    await asyncio.gather(hub.add("lobby", ann), hub.add("lobby", bob))
    assert hub.channel in layer.groups[room_group("lobby")]
    await hub.remove("lobby", ann)
    assert hub.channel in layer.groups[room_group("lobby")]
    await hub.remove("lobby", bob)
    assert hub.channel not in layer.groups.get(room_group("lobby"), {}) and hub.rooms == {}

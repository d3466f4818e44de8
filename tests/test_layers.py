"""Our in-memory channel layer: capacities, and each receiver's own copy of a message."""

import time

import pytest
from channels.exceptions import ChannelFull

from gateway.layers import CLEAN_EVERY, InMemoryChannelLayer


async def test_the_receiver_gets_its_own_copy_of_the_message():
    layer = InMemoryChannelLayer()
    message = {"type": "feed.packets", "packets": [["{}", {"from": "N0CALL", "raw": b"\xb0"}]], "fence": None}
    await layer.send("archive", message)
    message["packets"][0][1]["from"] = "CHANGED"
    received = await layer.receive("archive")
    assert received == {"type": "feed.packets", "packets": [["{}", {"from": "N0CALL", "raw": b"\xb0"}]], "fence": None}


async def test_groups_copy_per_member_and_capacities_hold():
    layer = InMemoryChannelLayer(channel_capacity={"aprs-archive": 1})
    await layer.group_add("feed", "hub.a")
    await layer.group_add("feed", "hub.b")
    await layer.group_send("feed", {"type": "feed.packets", "packets": [1]})
    first, second = await layer.receive("hub.a"), await layer.receive("hub.b")
    assert first == second == {"type": "feed.packets", "packets": [1]} and first is not second
    await layer.send("aprs-archive", {"type": "archive.packets"})
    with pytest.raises(ChannelFull):
        await layer.send("aprs-archive", {"type": "archive.packets"})


async def test_expired_messages_are_swept_at_most_once_a_second():
    layer = InMemoryChannelLayer(expiry=0)  # every message is expired as soon as it is sent
    await layer.send("chat.a", {"type": "chat.message"})
    await layer.send("chat.b", {"type": "chat.message"})
    await layer.group_add("room", "chat.a")
    layer.cleaned_at = time.monotonic()  # swept just now: the next send keeps what it finds
    await layer.group_send("room", {"type": "chat.message"})
    assert "chat.b" in layer.channels and "chat.a" in layer.groups["room"]
    layer.cleaned_at -= CLEAN_EVERY  # a second later
    await layer.group_send("room", {"type": "chat.message"})
    assert "chat.b" not in layer.channels and "chat.a" not in layer.groups.get("room", {})

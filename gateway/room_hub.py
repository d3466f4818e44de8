"""The chat rooms' hub: in each process, the one member of each room's group.

When every chat connection was a member of its room's group, a message was
copied by the channel layer once per member (on Redis, a command per member),
and each copy went through its consumer's dispatch, was serialised and framed
on its own: about 200 µs of server CPU a copy, and a 100-member room held 25
messages/s (docs/fanout.md). Like the feed hub (gateway/feed/hub.py), this hub
joins a room's group once per process, when the first local member enters,
builds each frame once, and puts it on every local member's socket
(gateway/feed/wsframe.py). Events for one person (muted, banned, outbox
states) still go to that connection's own channel.

A member whose socket holds more than ``FEED_CLIENT_BACKLOG`` unsent bytes
cannot follow the room: it is closed with 1013 (try again later), and its page
reconnects and starts again from the room's history.
"""

import asyncio
import logging
import uuid

from channels.layers import get_channel_layer
from django.conf import settings

from gateway import members
from gateway.feed.wsframe import dumps, text_frame
from gateway.hubs import LayerHub
from gateway.layers import LAYER_ERRORS
from gateway.loops import PerLoop
from gateway.names import ROOM_HUB_CHANNEL_PREFIX, room_group

logger = logging.getLogger("gateway.chat")

TRY_AGAIN_LATER = 1013

FRAMES = {
    "chat.message": lambda event: {"type": "message", "message": event["message"]},
    "chat.deleted": lambda event: {"type": "deleted", "id": event["id"]},
    "chat.presence": lambda event: {"type": "presence", "event": event["event"], "who": event["who"]},
}
"""Room events (each with its ``room``) and the frame every member gets for one."""

_hubs = PerLoop(lambda: RoomHub(get_channel_layer()))


def get_room_hub():
    """The hub of the running event loop, started on first use."""
    return _hubs.get()


def running_room_hub():
    """The running event loop's hub if one was started (someone chatted here), else None."""
    return _hubs.running()


class Listener:
    """A member's connection, as the hub writes to it.

    ``send`` (async, frame text) is used where the server offers no frame
    writer; ``channel`` is the member's own, so its own arrival is not
    announced back to it. Frames that come before the member's ``joined``
    frame went out wait in ``held`` until ``RoomHub.ready``.
    """

    def __init__(self, channel, send, write_frame=None, backlog=None, close=None):
        self.channel = channel
        self.send = send
        self.write_frame = write_frame
        self.backlog = backlog or (lambda: 0)
        self.close = close
        self.held = []

    async def deliver(self, text, wire):
        if self.held is not None:
            self.held.append((text, wire))
        else:
            await self.write(text, wire)

    async def write(self, text, wire):
        if self.write_frame is None:
            await self.send(text)
        elif self.backlog() > settings.FEED_CLIENT_BACKLOG:
            if self.close is not None:
                self.close(TRY_AGAIN_LATER, "too slow to follow the room")
            raise ConnectionError("too slow to follow the room")
        elif not self.write_frame(wire):
            raise ConnectionError("the websocket is closed")


class RoomHub(LayerHub):
    name = "room hub"

    def __init__(self, channel_layer):
        super().__init__(channel_layer, f"{ROOM_HUB_CHANNEL_PREFIX}{uuid.uuid4().hex}")
        self.rooms = {}  # room name -> {Listener: None}, in order of arrival
        self.joined = set()  # rooms whose group the hub is in
        self.membership = asyncio.Lock()  # one group_add / group_discard at a time

    async def add(self, room, listener):
        """Add a member; once this returns, the hub is in the room's group (nothing sent
        to the room after it is missed). Raises what the layer raises if it cannot join."""
        self.rooms.setdefault(room, {})[listener] = None
        try:
            async with self.membership:
                if room not in self.joined:
                    await self.layer.group_add(room_group(room), self.channel)
                    self.joined.add(room)
                    await self._note()
        except BaseException:
            self._forget(room, listener)
            raise

    async def ready(self, listener):
        """The member has its ``joined`` frame: what came meanwhile goes out, then live."""
        while listener.held:
            await listener.write(*listener.held.pop(0))
        listener.held = None

    async def remove(self, room, listener):
        """Remove a member; the hub leaves the room's group with the last one."""
        self._forget(room, listener)
        async with self.membership:
            if room in self.joined and room not in self.rooms:
                self.joined.discard(room)
                try:
                    await self.layer.group_discard(room_group(room), self.channel)
                except LAYER_ERRORS as exc:
                    logger.warning("room hub could not leave %s's group (%s)", room, exc)

    def _forget(self, room, listener):
        listeners = self.rooms.get(room, {})
        listeners.pop(listener, None)
        if not listeners:
            self.rooms.pop(room, None)

    async def _note(self):
        """The groups just changed: say so now, not at the next beat (gateway/members.py)."""
        try:
            await members.note(self.channel, self.groups())
        except LAYER_ERRORS as exc:
            logger.warning("room hub could not note its groups in Redis (%s)", exc)

    def groups(self):
        return [room_group(room) for room in self.joined]

    async def join(self):
        """Back in every room's group (Redis may have restarted empty meanwhile)."""
        async with self.membership:
            await super().join()

    async def handle(self, event):
        frame = FRAMES.get(event.get("type"))
        if frame is not None:
            await self.dispatch(event, frame(event))

    async def dispatch(self, event, frame):
        """One frame, built once, to every local member of the event's room."""
        text = dumps(frame)
        wire = text_frame(text)
        skip = event.get("channel")  # a member's own presence event
        for listener in list(self.rooms.get(event["room"], ())):
            if listener.channel == skip:
                continue
            try:
                await listener.deliver(text, wire)
            except Exception as exc:  # noqa: BLE001  (one member's failure is never the others')
                if not isinstance(exc, ConnectionError):
                    logger.error("dropping a chat member after an unexpected error", exc_info=exc)
                self._forget(event["room"], listener)

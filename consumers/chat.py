"""Web chat: PublicChatConsumer at ``chat/`` and ``chat/<room>/``, AdminChatConsumer at ``chat/admin/``.

Every frame is in docs/chat.md. The rules (who may speak, what is stored,
what moderators may do) live in ``gateway.chat``; these classes only carry
frames and group events. What is said in a room reaches its members through
the process's room hub (gateway/room_hub.py), not through each member's
channel.
"""

import asyncio
import logging
import time
import uuid
from typing import Literal

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext

from consumers.dispatch import NoDatabaseEvents
from consumers.frames import POLICY_VIOLATION, BadFrames, Frame, FrameError, FrameSchema, Text, Value, close_for_policy
from consumers.language import InTheirLanguage
from consumers.messages import queue_aprs_message
from consumers.patience import PatientReceive
from gateway import chat, metrics
from gateway.feed.wsframe import dumps
from gateway.layers import LAYER_ERRORS, RETRY_MAX
from gateway.models import LOBBY, Room, Sanction
from gateway.names import BACKLOG_EXTENSION, CLOSE_EXTENSION, FRAME_EXTENSION, room_group
from gateway.room_hub import TRY_AGAIN_LATER, Listener, get_room_hub
from protocols.backoff import Backoff

logger = logging.getLogger("gateway.chat")

CLOSE_UNKNOWN_ROOM = 4404
CLOSE_BANNED = 4003
PRESENCE_REFRESH = 60.0
ANNOUNCE_FOR = 300.0
_announcing = set()  # messages waiting for the channel layer (the loop holds tasks weakly)
rate_limit = chat.RateLimit(settings.CHAT_RATE_BURST, settings.CHAT_RATE_PERIOD)  # per sender, per process


async def announce(layer, room, payload):
    """A stored message to its room. While the channel layer is away it is tried again
    in the background, for up to ``ANNOUNCE_FOR`` seconds (the room's history has it
    anyway); its sender has its ``ack``: it was stored."""
    event = {"type": "chat.message", "room": room, "message": payload}
    try:
        await layer.group_send(room_group(room), event)
    except LAYER_ERRORS as exc:
        logger.warning(
            "chat: message %s stored; the room is told when the channel layer is back (%s)", payload["id"], exc
        )
        task = asyncio.ensure_future(announce_later(layer, event))
        _announcing.add(task)
        task.add_done_callback(_announcing.discard)


async def announce_later(layer, event):
    backoff, give_up_at = Backoff(1.0, RETRY_MAX), time.monotonic() + ANNOUNCE_FOR
    while time.monotonic() < give_up_at:
        await asyncio.sleep(backoff.next())
        try:
            return await layer.group_send(room_group(event["room"]), event)
        except LAYER_ERRORS:
            continue
    logger.error("chat: message %s never reached its room live (it is in the history)", event["message"]["id"])


# --- the frames each consumer takes (docs/chat.md) ----------------------------------
class Say(Frame):
    type: Literal["message"]
    text: Value = None
    id: Value = None


class Nick(Frame):
    type: Literal["nick"]
    nick: Value = None


class Ping(Frame):
    type: Literal["ping"]


class APRSMessage(Frame):
    type: Literal["aprs_message"]
    to: Value = None
    text: Value = None


class Announce(Frame):
    type: Literal["announce"]
    room: Text = LOBBY
    text: Value = None


class Delete(Frame):
    type: Literal["delete"]
    id: Value = None


class Mute(Frame):
    type: Literal["mute"]
    user: Value = None
    minutes: Value = None


class Ban(Frame):
    type: Literal["ban"]
    user: Value = None


class Unban(Frame):
    type: Literal["unban"]
    user: Value = None


class Online(Frame):
    type: Literal["online"]


MEMBER_FRAMES = FrameSchema(Say, Nick, Ping, APRSMessage)
ADMIN_FRAMES = FrameSchema(Announce, Delete, Mute, Ban, Unban, Online)


def unavailable():
    return chat.ChatError("unavailable", gettext("the chat is unavailable for a moment; try again"))


def client_address(scope):
    client = scope.get("client")
    return client[0] if client else None


class PublicChatConsumer(PatientReceive, InTheirLanguage, NoDatabaseEvents, AsyncWebsocketConsumer):
    """A member of one room.

    The room's messages, presence and deletions reach its socket through the
    room hub; its own channel carries what is for this person alone (muted,
    banned, outbox and inbox), which needs no thread, so those events skip
    Channels' per-event database housekeeping. Its few database calls (join,
    post) go through ``database_sync_to_async``.
    """

    NO_DATABASE = frozenset({"chat.muted", "outbox.state", "inbox.message"})

    counted = None

    async def connect(self):
        self.bad_frames = BadFrames("chat")
        self.counted = metrics.websocket_clients.labels("chat")
        self.counted.inc()
        self.identity = await database_sync_to_async(chat.identity_of)(
            self.scope.get("user"), client_address(self.scope), connection=uuid.uuid4().hex
        )
        self.room = self.listener = None
        self.groups_joined = []
        await self.accept()
        room_name = self.scope["url_route"]["kwargs"].get("room", LOBBY)
        try:
            self.room = await database_sync_to_async(chat.get_room)(room_name)
            if await database_sync_to_async(chat.sanction_of)(self.identity, Sanction.BAN):
                raise chat.ChatError("banned", gettext("you are banned from this chat"))
        except chat.ChatError as exc:
            await self.send_json(exc.frame())
            return await self.close(CLOSE_BANNED if exc.code == "banned" else CLOSE_UNKNOWN_ROOM)
        extensions = self.scope.get("extensions", {})
        listener = Listener(
            self.channel_name,
            self.send,
            write_frame=extensions.get(FRAME_EXTENSION, {}).get("write"),
            backlog=extensions.get(BACKLOG_EXTENSION, {}).get("bytes"),
            close=extensions.get(CLOSE_EXTENSION, {}).get("close"),
        )
        try:
            await get_room_hub().add(self.room.name, listener)  # before the history: nothing is missed
            self.listener = listener
            if self.identity.group:
                await self.join_group(self.identity.group)
        except LAYER_ERRORS as exc:
            logger.warning("chat: a member could not join (channel layer: %s)", exc)
            await self.send_json(unavailable().frame())
            return await self.close(TRY_AGAIN_LATER)  # the page comes back with backoff
        joined = await database_sync_to_async(self.enter_room)()
        await self.send_json(joined)
        await get_room_hub().ready(self.listener)
        await self.announce_presence("join")
        self.refresher = asyncio.ensure_future(self.refresh_presence())

    def enter_room(self):
        chat.enter(self.channel_name, self.room, self.identity)
        return {
            "type": "joined",
            "room": self.room.name,
            "you": self.identity.public(),
            "may_speak": bool(self.identity.name) or settings.CHAT_ALLOW_GUESTS,
            "history": chat.history(self.room),
            "presence": chat.online(self.room.name),
        }

    async def disconnect(self, code):
        if self.counted:
            self.counted.dec()
        if getattr(self, "refresher", None):
            self.refresher.cancel()
        if self.listener is not None:
            await get_room_hub().remove(self.room.name, self.listener)
            await database_sync_to_async(chat.leave)(self.channel_name)
            await self.announce_presence("leave")
        for group in self.groups_joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except LAYER_ERRORS:
                pass  # the layer is away: the membership expires there

    async def join_group(self, group):
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def refresh_presence(self):
        while True:
            await asyncio.sleep(PRESENCE_REFRESH)
            await database_sync_to_async(chat.still_here)(self.channel_name)

    async def announce_presence(self, event):
        """Best effort: during a channel-layer outage nobody is told, and nothing else fails."""
        if not self.identity.name:
            return
        try:
            await self.channel_layer.group_send(
                room_group(self.room.name),
                {
                    "type": "chat.presence",
                    "room": self.room.name,
                    "event": event,
                    "who": self.identity.public(),
                    "channel": self.channel_name,  # the hub does not tell a member of itself
                },
            )
        except LAYER_ERRORS as exc:
            logger.warning("chat: %s of %s not announced (channel layer: %s)", event, self.identity.name, exc)

    # --- frames from the client -------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = MEMBER_FRAMES.parse(text_data, bytes_data)
            if frame.type == "message":
                await self.post(frame)
            elif frame.type == "nick":
                await self.choose_nick(frame.nick)
            elif frame.type == "aprs_message":
                await self.send_aprs_message(frame)
            else:
                await self.send_json({"type": "pong"})
        except FrameError as exc:
            await self.refuse({"type": "error", "code": "bad_frame", "reason": str(exc)})
        except chat.ChatError as exc:
            await self.refuse(exc.frame())
        except LAYER_ERRORS as exc:
            logger.warning("chat: channel layer unavailable (%s)", exc)
            await self.refuse(unavailable().frame())

    async def post(self, frame):
        wait = rate_limit.retry_after(self.identity.sender_key)
        if wait:
            raise chat.ChatError(
                "rate_limited",
                gettext("too many messages; retry in %(s)s s") % {"s": number_format(wait, 1)},
                retry_after=round(wait, 1),
                id=frame.id,
            )
        payload, created = await database_sync_to_async(chat.post_message)(
            self.room, self.identity, frame.text, frame.id
        )
        if created:  # stored first; a retried id is acknowledged, not sent twice
            await announce(self.channel_layer, self.room.name, payload)
        await self.send_json({"type": "ack", "id": frame.id, "message_id": payload["id"]})

    async def send_aprs_message(self, frame):
        """Queue an APRS message to a station; its state changes come as "outbox" frames."""
        await queue_aprs_message(self, self.scope.get("user"), frame.to, frame.text)

    async def outbox_state(self, event):
        await self.send_json({"type": "outbox", "message": event["message"]})

    async def inbox_message(self, event):
        """An APRS message for this user's callsign (the Messages page shows the conversation)."""
        await self.send_json({"type": "inbox", "message": event["message"]})

    async def choose_nick(self, nick):
        old_group = self.identity.group
        await database_sync_to_async(chat.choose_nick)(self.identity, nick)
        if old_group:
            await self.channel_layer.group_discard(old_group, self.channel_name)
            self.groups_joined.remove(old_group)
        await self.join_group(self.identity.group)
        await database_sync_to_async(chat.enter)(self.channel_name, self.room, self.identity)
        await self.send_json({"type": "nick", "you": self.identity.public()})
        await self.announce_presence("join")

    async def refuse(self, frame):
        await self.send_json(frame)
        if frame["code"] not in ("rate_limited", "muted", "unavailable") and self.bad_frames.refused(frame["code"]):
            logger.warning("closing a chat client after %d bad frames", self.bad_frames.count)
            if not close_for_policy(self.scope):
                await self.close(POLICY_VIOLATION)

    # --- events for this person ----------------------------------------------------
    async def chat_muted(self, event):
        await self.send_json({"type": "muted", "until": event["until"]})

    async def chat_banned(self, event):
        await self.send_json({"type": "error", "code": "banned", "reason": gettext("you are banned from this chat")})
        await self.close(CLOSE_BANNED)

    async def send_json(self, content):
        await self.send(text_data=dumps(content))


class AdminChatConsumer(PatientReceive, InTheirLanguage, WebsocketConsumer):
    """Staff moderation: announce, delete, mute, ban, unban, who is online.

    Synchronous, because every command is database work (find the target,
    record the sanction, log the action) for a handful of staff connections:
    running it in Channels' worker thread keeps the code straight, and
    nothing here is on the hot path of a busy room.
    """

    counted = None

    def disconnect(self, code):
        if self.counted:
            self.counted.dec()

    def connect(self):
        user = self.scope.get("user")
        if not (user and user.is_authenticated and user.is_staff):
            return self.close()  # before accept: the handshake is refused (HTTP 403)
        self.bad_frames = BadFrames("chat-admin")
        self.user = user
        self.accept()
        self.counted = metrics.websocket_clients.labels("chat-admin")
        self.counted.inc()
        self.send_json(
            {"type": "admin", "you": user.get_username(), "rooms": list(Room.objects.values_list("name", flat=True))}
        )

    def receive(self, text_data=None, bytes_data=None):
        try:
            frame = ADMIN_FRAMES.parse(text_data, bytes_data)
            result = getattr(self, "do_" + frame.type)(frame)
            self.send_json({"type": "done", "action": frame.type, **(result or {})})
        except FrameError as exc:
            self.refuse({"type": "error", "code": "bad_frame", "reason": str(exc)})
        except chat.ChatError as exc:
            self.refuse(exc.frame())
        except LAYER_ERRORS as exc:  # done and logged in the database; the rooms not told
            logger.warning("chat admin: channel layer unavailable (%s)", exc)
            self.refuse(unavailable().frame())

    def do_announce(self, frame):
        payload = chat.announce(self.user, frame.room, frame.text)
        room = payload["room"]
        self.group_send(room_group(room), {"type": "chat.message", "room": room, "message": payload})
        return {"message_id": payload["id"]}

    def do_delete(self, frame):
        room, message_id = chat.delete_message(self.user, frame.id)
        self.group_send(room_group(room), {"type": "chat.deleted", "room": room, "id": message_id})
        return {"id": message_id}

    def do_mute(self, frame):
        group, until = chat.mute(self.user, frame.user, frame.minutes)
        self.group_send(group, {"type": "chat.muted", "until": until})
        return {"user": frame.user, "until": until}

    def do_ban(self, frame):
        group = chat.ban(self.user, frame.user)
        self.group_send(group, {"type": "chat.banned"})
        return {"user": frame.user}

    def do_unban(self, frame):
        chat.unban(self.user, frame.user)
        return {"user": frame.user}

    def do_online(self, frame):
        return {"online": chat.online()}

    def group_send(self, group, event):
        async_to_sync(self.channel_layer.group_send)(group, event)

    def refuse(self, frame):
        self.send_json(frame)
        if (
            frame["code"] != "unavailable"
            and self.bad_frames.refused(frame["code"])
            and not close_for_policy(self.scope)
        ):
            self.close(POLICY_VIOLATION)

    def send_json(self, content):
        self.send(text_data=dumps(content))

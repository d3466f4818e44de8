"""MessagesConsumer (``ws/messages/``): a logged-in user's APRS conversations, live.

Frames from the page: ``{"type": "send", "to": CALL, "text": ...}`` (a message,
through the outbox), ``{"type": "thread", "station": CALL}`` (the conversation,
marked read), ``{"type": "conversations"}``, ``{"type": "complete", "prefix":
...}`` (callsigns heard lately that start so). To the page: ``hello`` (who you
are, whether you may send and why not, your conversations, unread count),
``thread``, ``conversations``, ``stations``, ``outbox`` (a sent message's
state: queued, sent, acked, rejected, failed, no_route), ``inbox`` (a message
received), ``error``. docs/messaging.md has the whole life of a message.
"""

import itertools
from typing import Literal

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils.translation import gettext

from consumers.dispatch import NoDatabaseEvents
from consumers.frames import POLICY_VIOLATION, BadFrames, Frame, FrameError, FrameSchema, Value, close_for_policy
from consumers.language import InTheirLanguage
from consumers.patience import PatientReceive
from gateway import chat, inbox, metrics, outbox
from gateway.feed.hub import get_hub
from gateway.feed.wsframe import dumps
from gateway.names import OUTBOX_CHANNEL, user_group
from protocols.aprs.login import LoginError, validate_callsign

CLOSE_LOGIN_REQUIRED = 4401


class Send(Frame):
    type: Literal["send"]
    to: Value = None
    text: Value = None


class Thread(Frame):
    type: Literal["thread"]
    station: Value = None


class Conversations(Frame):
    type: Literal["conversations"]


class Complete(Frame):
    type: Literal["complete"]
    prefix: Value = None


FRAMES = FrameSchema(Send, Thread, Conversations, Complete)


async def queue_aprs_message(consumer, user, to, text):
    """Queue a web user's APRS message (gateway/outbox.py), tell the sender, wake the outbox."""
    message = await database_sync_to_async(outbox.submit)(user, to, text)
    await consumer.send_json({"type": "outbox", "message": outbox.state_payload(message)})
    await consumer.channel_layer.send(OUTBOX_CHANNEL, {"type": "outbox.wake"})


class MessagesConsumer(PatientReceive, InTheirLanguage, NoDatabaseEvents, AsyncWebsocketConsumer):
    NO_DATABASE = frozenset({"outbox.state", "inbox.message"})
    COMPLETIONS = 20
    counted = None

    async def connect(self):
        self.user = self.scope.get("user")
        await self.accept()
        if self.user is None or not self.user.is_authenticated:
            await self.send_json(
                {"type": "error", "code": "login_required", "reason": gettext("log in to see your messages")}
            )
            return await self.close(CLOSE_LOGIN_REQUIRED)
        self.bad_frames = BadFrames("messages")
        self.counted = metrics.websocket_clients.labels("messages")
        self.counted.inc()
        self.group = user_group(self.user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(await database_sync_to_async(self.hello)())

    def hello(self):
        refused = outbox.refusal(self.user)
        profile = getattr(self.user, "profile", None)
        return {
            **self.conversations(),
            "type": "hello",
            "you": profile.callsign if profile else "",
            "may_send": refused is None,
            "reason": refused.reason if refused else "",
        }

    async def disconnect(self, code):
        if self.counted:
            self.counted.dec()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = FRAMES.parse(text_data, bytes_data)
            if frame.type == "send":
                await queue_aprs_message(self, self.user, frame.to, frame.text)
            elif frame.type == "thread":
                await self.send_json(await database_sync_to_async(self.open_thread)(frame.station))
            elif frame.type == "complete":
                await self.send_json({"type": "stations", "stations": self.stations_heard(frame.prefix)})
            else:
                await self.send_json(await database_sync_to_async(self.conversations)())
        except FrameError as exc:
            await self.refuse({"type": "error", "code": "bad_frame", "reason": str(exc)})
        except chat.ChatError as exc:
            await self.refuse(exc.frame())

    def conversations(self):
        return {
            "type": "conversations",
            "conversations": inbox.conversations(self.user),
            "unread": inbox.unread(self.user),
        }

    def stations_heard(self, prefix):
        """Callsigns this node heard lately (the hub's last positions) that start with ``prefix``."""
        prefix = str(prefix or "").upper()[:9]
        if not prefix:
            return []
        found = (name for name in reversed(get_hub().positions) if name.startswith(prefix))
        return sorted(itertools.islice(found, self.COMPLETIONS))

    def open_thread(self, station):
        try:
            station = validate_callsign(str(station or ""))
        except LoginError:
            raise chat.ChatError("bad_station", gettext("%(call)r is not a callsign") % {"call": station}) from None
        inbox.mark_read(self.user, station)
        return {
            "type": "thread",
            "station": station,
            "messages": inbox.thread(self.user, station),
            "unread": inbox.unread(self.user),
        }

    async def refuse(self, frame):
        await self.send_json(frame)
        if self.bad_frames.refused(frame["code"]) and not close_for_policy(self.scope):
            await self.close(code=POLICY_VIOLATION)

    async def outbox_state(self, event):
        await self.send_json({"type": "outbox", "message": event["message"]})

    async def inbox_message(self, event):
        await self.send_json({"type": "inbox", "message": event["message"]})

    async def send_json(self, content):
        await self.send(text_data=dumps(content))

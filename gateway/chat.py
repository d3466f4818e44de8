"""Chat rules, on the database: who may speak, what is stored, what moderators do.

Plain synchronous functions: the public consumer calls them through
``database_sync_to_async``, the admin consumer directly (it is synchronous).
Every function that changes something returns what the consumers must
broadcast; none of them talks to the channel layer.
"""

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from gateway.models import ROOM_NAME, Message, ModerationAction, Presence, Profile, Room, Sanction
from gateway.names import guest_group, user_group

HISTORY = 50
MAX_TEXT = 1000
INVISIBLE = set("\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff")
"""Characters that reorder or hide text (bidi overrides, zero-width space, word joiner, BOM):
they make a message read differently from what it says. ZWJ/ZWNJ, which scripts and
emoji need, stay allowed."""
PRESENCE_TTL = timedelta(seconds=150)
GUEST_NICK = re.compile(r"^[A-Za-z0-9_-]{2,20}$")


class ChatError(Exception):
    """Refused: ``code`` for programs, the message for people."""

    def __init__(self, code, reason, **extra):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.extra = extra

    def frame(self):
        return {"type": "error", "code": self.code, "reason": self.reason, **self.extra}


@dataclass
class Identity:
    """Who is on the other end of a chat connection."""

    name: str = ""  # "" for a guest who has not chosen a nick yet
    callsign: str = ""
    guest: bool = True
    user_id: int = None
    address: str = None
    connection: str = ""  # a guest's stable key for this connection

    @property
    def sender_key(self):
        return f"user:{self.user_id}" if self.user_id else f"guest:{self.connection}"

    @property
    def group(self):
        """The channel-layer group of every connection of this identity."""
        if self.user_id:
            return user_group(self.user_id)
        return guest_group(self.name) if self.name else None

    def public(self):
        return {"name": self.name, "callsign": self.callsign, "guest": self.guest}


def identity_of(user, address=None, connection=""):
    if user is not None and user.is_authenticated:
        profile = getattr(user, "profile", None)
        return Identity(
            name=user.get_username(),
            callsign=profile.callsign if profile else "",
            guest=False,
            user_id=user.pk,
            address=address,
        )
    return Identity(address=address, connection=connection)


# --- rooms and history ---------------------------------------------------------


def get_room(name):
    if not ROOM_NAME.match(name or ""):
        raise ChatError("bad_room", gettext("%(name)r is not a room name") % {"name": name})
    try:
        return Room.objects.get(name=name)
    except Room.DoesNotExist:
        raise ChatError("unknown_room", gettext("there is no room %(name)r") % {"name": name}, room=name) from None


def message_payload(message):
    return {
        "id": message.pk,
        "room": message.room.name,
        "name": message.name,
        "callsign": message.callsign,
        "guest": message.guest,
        "announcement": message.announcement,
        "text": message.text,
        "created": message.created_at.isoformat(),
    }


def history(room):
    messages = (
        Message.objects.filter(room=room, deleted_at=None)
        .select_related("room")
        .order_by("-created_at", "-pk")[:HISTORY]
    )
    return [message_payload(m) for m in reversed(messages)]


# --- speaking -------------------------------------------------------------------


def clean_text(text):
    if not isinstance(text, str):
        raise ChatError("bad_text", gettext("'text' must be a string"))
    if not text.strip():
        raise ChatError("bad_text", gettext("empty message"))
    if len(text) > MAX_TEXT:
        raise ChatError(
            "bad_text",
            gettext("message longer than %(most)s characters (%(length)s)") % {"most": MAX_TEXT, "length": len(text)},
        )
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ChatError("bad_text", gettext("control characters are not allowed"))
    if INVISIBLE & set(text):
        raise ChatError("bad_text", gettext("direction overrides and invisible characters are not allowed"))
    return text


def clean_client_id(client_id):
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        raise ChatError("bad_id", gettext("'id' must be a string of 1 to 64 characters"))
    return client_id


def choose_nick(identity, nick):
    """Give a guest a nick that cannot pass for a registered user or callsign."""
    if not identity.guest:
        raise ChatError("not_guest", gettext("you speak under your username"))
    if not settings.CHAT_ALLOW_GUESTS:
        raise ChatError("guests_off", gettext("guests may read but not speak here; log in to chat"))
    if not isinstance(nick, str) or not GUEST_NICK.match(nick):
        raise ChatError("bad_nick", gettext("a nick is 2-20 characters of letters, digits, '_' and '-'"))
    taken = (
        get_user_model().objects.filter(username__iexact=nick).exists()
        or Profile.objects.filter(callsign__iexact=nick.split("-")[0]).exists()
    )
    if taken or _is_callsign_like(nick):
        raise ChatError(
            "nick_taken", gettext("%(nick)r belongs to a registered user or looks like a callsign") % {"nick": nick}
        )
    identity.name = nick
    if sanction_of(identity, Sanction.BAN):
        identity.name = ""
        raise ChatError("banned", gettext("you are banned from this chat"))
    return identity


def _is_callsign_like(nick):
    """Guests may not pose as a station: no nick shaped like an amateur callsign."""
    return re.fullmatch(r"[A-Za-z0-9]{1,2}[0-9][A-Za-z]{1,4}(-[0-9]{1,2})?", nick) is not None


def sanction_of(identity, kind):
    """The sanction of this kind in force for the identity, or None."""
    now = timezone.now()
    active = Sanction.objects.filter(kind=kind, lifted_at=None).filter(Q(until=None) | Q(until__gt=now))
    if identity.user_id:
        return active.filter(user_id=identity.user_id).first()
    matches = Q(pk__in=[])
    if identity.name:
        matches |= Q(guest_nick=identity.name.lower())
    if identity.address and kind == Sanction.BAN:
        matches |= Q(address=identity.address)
    return active.filter(matches).first()


def check_may_speak(identity):
    if not identity.name:
        raise ChatError("no_nick", gettext('choose a nick first: {"type": "nick", "nick": "..."}'))
    if sanction_of(identity, Sanction.BAN):
        raise ChatError("banned", gettext("you are banned from this chat"))
    mute = sanction_of(identity, Sanction.MUTE)
    if mute:
        raise ChatError("muted", gettext("you are muted"), until=mute.until.isoformat())  # the page shows till when


def post_message(room, identity, text, client_id=None):
    """Store a message; return (payload, created). The same client id twice is one message."""
    text = clean_text(text)
    client_id = clean_client_id(client_id)
    check_may_speak(identity)
    if client_id is not None:
        existing = Message.objects.filter(sender_key=identity.sender_key, client_id=client_id).first()
        if existing:
            return message_payload(existing), False
    try:
        with transaction.atomic():
            message = Message.objects.create(
                room=room,
                author_id=identity.user_id,
                name=identity.name,
                callsign=identity.callsign,
                guest=identity.guest,
                text=text,
                sender_key=identity.sender_key,
                client_id=client_id,
            )
    except IntegrityError:  # the same retry raced in on another connection
        message = Message.objects.get(sender_key=identity.sender_key, client_id=client_id)
        return message_payload(message), False
    return message_payload(message), True


# --- presence -------------------------------------------------------------------


def enter(channel_name, room, identity):
    Presence.objects.update_or_create(
        channel_name=channel_name,
        defaults={
            "room": room.name,
            "name": identity.name,
            "callsign": identity.callsign,
            "guest": identity.guest,
            "user_id": identity.user_id,
            "address": identity.address,
            "seen_at": timezone.now(),
        },
    )


def still_here(channel_name):
    Presence.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def leave(channel_name):
    Presence.objects.filter(channel_name=channel_name).delete()


def online(room=None):
    """Who is connected, by room (connections not heard from in 150 s are gone)."""
    Presence.objects.filter(seen_at__lt=timezone.now() - PRESENCE_TTL).delete()
    rows = Presence.objects.exclude(name="").order_by("room", "name")  # silent readers are not listed
    if room is not None:
        rows = rows.filter(room=room)
    return [{"room": p.room, "name": p.name, "callsign": p.callsign, "guest": p.guest} for p in rows]


# --- moderation -----------------------------------------------------------------


def _log(actor, action, target="", room="", **details):
    ModerationAction.objects.create(actor=actor, action=action, target=target, room=room, details=details)


def announce(actor, room_name, text):
    room = get_room(room_name)
    text = clean_text(text)
    message = Message.objects.create(
        room=room, author=actor, name=actor.get_username(), text=text, announcement=True, sender_key=f"user:{actor.pk}"
    )
    _log(actor, "announce", room=room.name, text=text, message=message.pk)
    return message_payload(message)


def delete_message(actor, message_id):
    try:
        message = Message.objects.select_related("room").get(pk=int(message_id), deleted_at=None)
    except (Message.DoesNotExist, TypeError, ValueError):
        raise ChatError("unknown_message", gettext("no message %(id)r to delete") % {"id": message_id}) from None
    message.deleted_at = timezone.now()
    message.deleted_by = actor
    message.save(update_fields=["deleted_at", "deleted_by"])
    _log(actor, "delete", target=message.name, room=message.room.name, message=message.pk, text=message.text)
    return message.room.name, message.pk


def _target(name):
    """A registered user by name, or ("guest", nick) for ``guest:NICK``."""
    if not isinstance(name, str) or not name:
        raise ChatError("bad_target", gettext("name a user, or guest:NICK for a guest"))
    if name.lower().startswith("guest:"):
        return None, name[6:].lower()
    try:
        return get_user_model().objects.get(username__iexact=name), None
    except get_user_model().DoesNotExist:
        raise ChatError("unknown_user", gettext("no user %(name)r") % {"name": name}) from None


def _target_group(user, nick):
    return user_group(user.pk) if user else guest_group(nick)


def mute(actor, name, minutes):
    if not isinstance(minutes, (int, float)) or not 0 < minutes <= 7 * 24 * 60:
        raise ChatError("bad_minutes", gettext("'minutes' must be a number from 1 to 10080"))
    user, nick = _target(name)
    until = timezone.now() + timedelta(minutes=minutes)
    Sanction.objects.create(kind=Sanction.MUTE, user=user, guest_nick=nick or "", until=until, created_by=actor)
    _log(actor, "mute", target=name, minutes=minutes, until=until.isoformat())
    return _target_group(user, nick), until.isoformat()


def ban(actor, name):
    user, nick = _target(name)
    address = None
    if nick:
        seen = Presence.objects.filter(guest=True, name__iexact=nick).first()
        address = seen.address if seen else None
    Sanction.objects.create(kind=Sanction.BAN, user=user, guest_nick=nick or "", address=address, created_by=actor)
    _log(actor, "ban", target=name, address=address)
    return _target_group(user, nick)


def unban(actor, name):
    user, nick = _target(name)
    bans = Sanction.objects.filter(kind=Sanction.BAN, lifted_at=None)
    bans = bans.filter(user=user) if user else bans.filter(guest_nick=nick)
    lifted = bans.update(lifted_at=timezone.now())
    if not lifted:
        raise ChatError("not_banned", gettext("%(name)r is not banned") % {"name": name})
    _log(actor, "unban", target=name)


class RateLimit:
    """Token bucket per sender: ``burst`` messages, refilled over ``per`` seconds."""

    def __init__(self, burst=5, per=5.0):
        self.burst = burst
        self.rate = burst / per
        self.buckets = {}  # key -> (tokens, at)

    def retry_after(self, key, now=None):
        """0 if the sender may send now (and takes a token), else seconds to wait."""
        now = time.monotonic() if now is None else now
        tokens, at = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if len(self.buckets) > 10000:  # forget senders whose bucket has refilled
            self.buckets = {k: v for k, v in self.buckets.items() if v[0] + (now - v[1]) * self.rate < self.burst}
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            return 0.0
        self.buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate

"""The database: chat (rooms, profiles, messages, sanctions, moderation, presence), the
packet archive (packets, stations) and the outbox of web users' APRS messages."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

ROOM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
RESERVED_ROOMS = {"admin"}
LOBBY = "lobby"


def validate_room_name(name):
    if not ROOM_NAME.match(name) or name in RESERVED_ROOMS:
        raise ValidationError(
            "room names are 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit; 'admin' is reserved"
        )


class Room(models.Model):
    name = models.CharField(max_length=32, unique=True, validators=[validate_room_name])
    title = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class Profile(models.Model):
    """What a registered user adds to Django's User: an optional callsign."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    callsign = models.CharField(max_length=9, blank=True, default="")
    callsign_verified = models.BooleanField(
        default=False, help_text="staff checked that this user holds the callsign: may send APRS messages"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["callsign"], condition=~models.Q(callsign=""), name="unique_callsign")
        ]

    def __str__(self):
        return f"{self.user} ({self.callsign or 'no callsign'})"


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=150, help_text="username or guest nick, as shown")
    callsign = models.CharField(max_length=9, blank=True, default="")
    guest = models.BooleanField(default=False)
    announcement = models.BooleanField(default=False)
    text = models.TextField()
    # The sender's identity and its own message id: a retry with the same pair
    # is the same message, never a second one.
    sender_key = models.CharField(max_length=80)
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sender_key", "client_id"], name="one_message_per_client_id")]
        indexes = [models.Index(fields=["room", "-created_at"])]

    def __str__(self):
        return f"{self.name} in {self.room}: {self.text[:40]}"


class Sanction(models.Model):
    """A mute (with an end) or a ban (until lifted) of a user or a guest nick."""

    MUTE, BAN = "mute", "ban"
    kind = models.CharField(max_length=4, choices=[(MUTE, "mute"), (BAN, "ban")])
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="sanctions"
    )
    guest_nick = models.CharField(max_length=20, blank=True, default="", help_text="lower case")
    address = models.GenericIPAddressField(null=True, blank=True, help_text="a banned guest's address")
    until = models.DateTimeField(null=True, blank=True, help_text="empty: until lifted")
    lifted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.kind} {self.user or 'guest ' + self.guest_nick}"


class ModerationAction(models.Model):
    """Who did what, when: every staff action, for the Django admin."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20)
    target = models.CharField(max_length=200, blank=True)
    room = models.CharField(max_length=32, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.actor} {self.action} {self.target}"


class Presence(models.Model):
    """One open chat connection, so every node can list who is online."""

    channel_name = models.CharField(max_length=200, unique=True)
    room = models.CharField(max_length=32, db_index=True)
    name = models.CharField(max_length=150)
    callsign = models.CharField(max_length=9, blank=True, default="")
    guest = models.BooleanField(default=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    address = models.GenericIPAddressField(null=True, blank=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)


class Packet(models.Model):
    """One received APRS line, decoded or not, as the archive keeps it."""

    received_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=12, help_text="upper case, with SSID")
    destination = models.CharField(max_length=12, blank=True, default="")
    path = models.CharField(max_length=200, blank=True, default="")
    format = models.CharField(max_length=24, help_text="aprslib's format, or 'unknown'")
    raw = models.BinaryField(help_text="the line exactly as received")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True, default="", help_text="why it did not decode")
    data = models.JSONField(default=dict, help_text="the decoded packet")
    delivery = models.CharField(
        max_length=40,
        null=True,
        blank=True,
        unique=True,
        help_text="the archive message's id: a message the channel layer delivers twice is stored once",
    )

    class Meta:
        indexes = [
            models.Index(fields=["source", "received_at"]),
            models.Index(fields=["format", "received_at"]),
        ]

    def __str__(self):
        return f"{self.source} {self.format} {self.received_at:%Y-%m-%d %H:%M:%S}"


class Station(models.Model):
    """The last known state of a station (or an object/item, by its name)."""

    callsign = models.CharField(max_length=12, unique=True)
    first_heard = models.DateTimeField()
    last_heard = models.DateTimeField(db_index=True)
    packet_count = models.PositiveIntegerField(default=0)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)
    symbol = models.CharField(max_length=2, blank=True, default="")
    course = models.FloatField(null=True, blank=True)
    speed = models.FloatField(null=True, blank=True)
    altitude = models.FloatField(null=True, blank=True)
    comment = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(max_length=300, blank=True, default="")
    weather = models.JSONField(null=True, blank=True)
    weather_at = models.DateTimeField(null=True, blank=True)
    last_path = models.CharField(max_length=200, blank=True, default="")
    device = models.CharField(max_length=80, blank=True, default="", help_text="the radio or software it sends with")

    class Meta:
        indexes = [models.Index(fields=["latitude", "longitude"])]

    def __str__(self):
        return self.callsign


class OutboxMessage(models.Model):
    """An APRS message a user sends from the web, and what became of it: ``no_route`` when
    no transmitter could reach the addressee, ``failed`` when its tries went unanswered."""

    QUEUED, SENT, ACKED, REJECTED, FAILED, NO_ROUTE = "queued", "sent", "acked", "rejected", "failed", "no_route"
    STATES = [(s, s) for s in (QUEUED, SENT, ACKED, REJECTED, FAILED, NO_ROUTE)]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outbox")
    source = models.CharField(max_length=9)
    destination = models.CharField(max_length=9)
    text = models.CharField(max_length=67)
    msgno = models.CharField(max_length=5)
    reply_ack = models.CharField(
        max_length=5, blank=True, default="", help_text="APRS 1.1 reply-ack: the station's last message number we got"
    )
    state = models.CharField(max_length=8, choices=STATES, default=QUEUED, db_index=True)
    tries = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.source}>{self.destination} {{{self.msgno} {self.state}"

    @property
    def line(self):
        """The APRS-IS line, as it goes on the wire (without CRLF); ``{MM}AA`` with a reply-ack."""
        number = f"{self.msgno}}}{self.reply_ack}" if self.reply_ack else self.msgno
        return f"{self.source}>APRS,TCPIP*::{self.destination:<9}:{self.text}{{{number}".encode("ascii")


class InboxMessage(models.Model):
    """An APRS message a station sent to a web user's callsign."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox")
    source = models.CharField(max_length=9, db_index=True)
    destination = models.CharField(max_length=9)
    text = models.CharField(max_length=200)
    msgno = models.CharField(max_length=5, blank=True, default="")
    reply_acks = models.BooleanField(default=False, help_text="sent as {MM}AA: the station understands reply-acks")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.source}>{self.destination} {{{self.msgno}"

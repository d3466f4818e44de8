"""APRS messages to web users: who receives them, each stored once, conversations.

A message from the air or APRS-IS addressed to a web user's verified callsign
is stored for that user (``receive``); the outbox worker (consumers/outbox.py)
acks it on the user's behalf every time it is heard (a station repeats until
acked) but stores and shows it once. A conversation is everything between one
user and one station, both directions (gateway/outbox.py sends).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from gateway.models import InboxMessage, OutboxMessage, Profile
from gateway.outbox import state_payload

REPEAT_WINDOW = timedelta(hours=1)
"""A message with the same number and text from the same station within this is a repeat."""


def recipients():
    """{callsign: user id} of every verified callsign: who may receive messages."""
    return dict(Profile.objects.filter(callsign_verified=True).exclude(callsign="").values_list("callsign", "user_id"))


def payload(message):
    return {
        "id": message.pk,
        "from": message.source,
        "to": message.destination,
        "text": message.text,
        "msgno": message.msgno,
        "received": message.received_at.timestamp(),
        "read": message.read_at is not None,
    }


def receive(user_id, source, destination, text, msgno, reply_acks):
    """Store a message for a user; None when it repeats one already stored."""
    with transaction.atomic():
        repeat = InboxMessage.objects.filter(
            user_id=user_id,
            source=source,
            destination=destination,
            msgno=msgno,
            text=text,
            received_at__gte=timezone.now() - REPEAT_WINDOW,
        ).exists()
        if repeat:
            return None
        return InboxMessage.objects.create(
            user_id=user_id, source=source, destination=destination, text=text, msgno=msgno, reply_acks=reply_acks
        )


def conversations(user):
    """Each station the user has written with: the last message, when, and how many unread."""
    found = {}
    for message in InboxMessage.objects.filter(user=user).order_by("received_at"):
        entry = found.setdefault(message.source, {"station": message.source, "unread": 0})
        entry.update(last=message.text, at=message.received_at.timestamp(), incoming=True)
        entry["unread"] += message.read_at is None
    for message in OutboxMessage.objects.filter(user=user).order_by("created_at"):
        entry = found.setdefault(message.destination, {"station": message.destination, "unread": 0})
        if message.created_at.timestamp() >= entry.get("at", 0):
            entry.update(last=message.text, at=message.created_at.timestamp(), incoming=False)
    return sorted(found.values(), key=lambda entry: entry["at"], reverse=True)


def thread(user, station):
    """The conversation with one station, oldest first: received and sent messages, with states."""
    received = [
        {"direction": "in", "at": message.received_at.timestamp(), **payload(message)}
        for message in InboxMessage.objects.filter(user=user, source=station)
    ]
    sent = [
        {"direction": "out", "at": message.created_at.timestamp(), **state_payload(message)}
        for message in OutboxMessage.objects.filter(user=user, destination=station)
    ]
    return sorted(received + sent, key=lambda entry: entry["at"])


def mark_read(user, station):
    InboxMessage.objects.filter(user=user, source=station, read_at=None).update(read_at=timezone.now())


def unread(user):
    return InboxMessage.objects.filter(user=user, read_at=None).count()

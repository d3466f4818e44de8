"""APRS messages from the web: who may send, numbering, retries, acks.

A user may send when staff has verified the callsign on their profile. The
message is stored as ``queued``; the outbox worker (consumers/outbox.py)
transmits it through every transmitter that may send (the verified APRS-IS
uplink, verified iGates on our server port, a KISS TNC with transmitting on),
retries it ``OUTBOX_TRIES`` times ``OUTBOX_RETRY`` seconds apart, and settles
it as ``acked``/``rejected`` when the answer arrives, or ``failed``.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gateway.chat import ChatError, RateLimit
from gateway.models import OutboxMessage
from protocols.aprs.login import LoginError, validate_callsign

TEXT = re.compile(r"^[\x20-\x7e]{1,67}$")  # printable ASCII, no more than APRS allows
FORBIDDEN = set("|~{")
per_user = RateLimit(burst=3, per=60.0)
everyone = RateLimit(burst=30, per=60.0)


def state_payload(message):
    return {
        "id": message.pk,
        "to": message.destination,
        "text": message.text,
        "msgno": message.msgno,
        "state": message.state,
        "tries": message.tries,
    }


def submit(user, destination, text):
    """Queue a message from a verified user; raise ChatError saying why not."""
    profile = getattr(user, "profile", None) if user and user.is_authenticated else None
    if profile is None or not profile.callsign:
        raise ChatError("no_callsign", "log in with a callsign on your profile to send APRS messages")
    if not profile.callsign_verified:
        raise ChatError("callsign_unverified", "staff has not verified your callsign yet")
    try:
        destination = validate_callsign(str(destination or ""))
    except LoginError:
        raise ChatError("bad_destination", f"{destination!r} is not a callsign") from None
    if not isinstance(text, str) or not TEXT.match(text) or FORBIDDEN & set(text):
        raise ChatError("bad_text", "APRS message text: 1-67 printable ASCII characters, without | ~ {")
    wait = per_user.retry_after(user.pk) or everyone.retry_after("all")
    if wait:
        raise ChatError("rate_limited", f"too many APRS messages; retry in {wait:.0f} s", retry_after=round(wait, 1))
    with transaction.atomic():
        count = OutboxMessage.objects.select_for_update().filter(source=profile.callsign).count()
        return OutboxMessage.objects.create(
            user=user, source=profile.callsign, destination=destination, text=text, msgno=str(count % 99999 + 1)
        )


def due(now=None):
    """Messages to transmit now: new ones and unanswered ones whose retry time came."""
    now = now or timezone.now()
    return list(
        OutboxMessage.objects.filter(
            state__in=[OutboxMessage.QUEUED, OutboxMessage.SENT], next_try_at__lte=now
        ).order_by("created_at")
    )


def transmitted(message):
    """Record one transmission; False (and ``failed``) when the tries are used up."""
    if message.tries >= settings.OUTBOX_TRIES:
        message.state = OutboxMessage.FAILED
    else:
        message.tries += 1
        message.state = OutboxMessage.SENT
        message.next_try_at = timezone.now() + timedelta(seconds=settings.OUTBOX_RETRY)
    message.updated_at = timezone.now()
    message.save()
    return message.state == OutboxMessage.SENT


def answered(source, destination, msgno, accepted):
    """An ack/rej from ``destination`` to ``source``: settle the message; None if none waits."""
    message = OutboxMessage.objects.filter(
        source=source, destination=destination, msgno=msgno, state=OutboxMessage.SENT
    ).first()
    if message is None:
        return None
    message.state = OutboxMessage.ACKED if accepted else OutboxMessage.REJECTED
    message.updated_at = timezone.now()
    message.save()
    return message

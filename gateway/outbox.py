"""APRS messages from the web: who may send, numbering, retries, acks.

Messaging is on when ``APRS_MESSAGING`` is; a user may send when staff has
verified the callsign on their profile. The message is stored as ``queued``;
the outbox worker (consumers/outbox.py) hands it to every transmitter (the
verified APRS-IS uplink, iGates on our server port, a KISS TNC with
transmitting on), each of which sends it only if its part of the network can
reach the addressee and says so: the message is ``sent`` once one did, or
``no_route`` when none did. It is retried up to ``OUTBOX_TRIES`` times, the
first retry ``OUTBOX_RETRY`` seconds later and each next one twice as late,
and settles as ``acked``/``rejected`` when the answer arrives (a reply-ack
``{MM}AA`` counts), or ``failed``. docs/messaging.md tells the whole life.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext

from gateway.chat import ChatError, RateLimit
from gateway.models import InboxMessage, OutboxMessage
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
        "at": message.created_at.timestamp(),
    }


def refusal(user):
    """Why ``user`` may not send APRS messages (a ChatError), or None if they may."""
    if not settings.APRS_MESSAGING:
        return ChatError(
            "messaging_off", gettext("APRS messaging is off on this gateway (its operator sets APRS_MESSAGING)")
        )
    profile = getattr(user, "profile", None) if user and user.is_authenticated else None
    if profile is None or not profile.callsign:
        return ChatError("no_callsign", gettext("log in with a callsign on your profile to send APRS messages"))
    if not profile.callsign_verified:
        return ChatError("callsign_unverified", gettext("staff has not verified your callsign yet"))
    return None


def submit(user, destination, text):
    """Queue a message from a verified user; raise ChatError saying why not."""
    refused = refusal(user)
    if refused is not None:
        raise refused
    profile = user.profile
    try:
        destination = validate_callsign(str(destination or ""))
    except LoginError:
        raise ChatError("bad_destination", gettext("%(call)r is not a callsign") % {"call": destination}) from None
    if not isinstance(text, str) or not TEXT.match(text) or FORBIDDEN & set(text):
        raise ChatError("bad_text", gettext("APRS message text: 1-67 printable ASCII characters, without | ~ {"))
    wait = per_user.retry_after(user.pk) or everyone.retry_after("all")
    if wait:
        raise ChatError(
            "rate_limited",
            gettext("too many APRS messages; retry in %(s)s s") % {"s": number_format(wait, 0)},
            retry_after=round(wait, 1),
        )
    with transaction.atomic():
        count = OutboxMessage.objects.select_for_update().filter(source=profile.callsign).count()
        reply_ack = reply_ack_for(user, destination)
        return OutboxMessage.objects.create(
            user=user,
            source=profile.callsign,
            destination=destination,
            text=text,
            # APRS 1.1 reply-acks number messages with exactly two characters
            msgno=f"{count % 99 + 1:02d}" if reply_ack else str(count % 99999 + 1),
            reply_ack=reply_ack,
        )


def reply_ack_for(user, station):
    """What our next message to ``station`` carries as its reply-ack (APRS 1.1), or "":
    the number of its last message to us, when it writes reply-acks itself."""
    last = InboxMessage.objects.filter(user=user, source=station).order_by("-received_at").first()
    if last is None or not last.reply_acks or not last.msgno:
        return ""
    return last.msgno[:2]


def due(now=None):
    """Messages to transmit now: new ones and unanswered ones whose retry time came."""
    now = now or timezone.now()
    return list(
        OutboxMessage.objects.filter(
            state__in=[OutboxMessage.QUEUED, OutboxMessage.SENT], next_try_at__lte=now
        ).order_by("created_at")
    )


def transmitted(message):
    """Count one try and schedule the next; False (``failed``, or ``no_route`` if no
    transmitter ever took it) when the tries are used up."""
    if message.tries >= settings.OUTBOX_TRIES:
        message.state = OutboxMessage.FAILED if message.state == OutboxMessage.SENT else OutboxMessage.NO_ROUTE
    else:
        message.tries += 1
        delay = settings.OUTBOX_RETRY * 2 ** (message.tries - 1)
        message.next_try_at = timezone.now() + timedelta(seconds=delay)
    message.updated_at = timezone.now()
    message.save()
    return message.state in (OutboxMessage.QUEUED, OutboxMessage.SENT)


def delivered_here(message):
    """A message to another web user of this gateway: delivered, so acked, with one try."""
    message.tries = 1
    message.state = OutboxMessage.ACKED
    message.updated_at = timezone.now()
    message.save()
    return message


def routed(pk):
    """A transmitter sent the message: ``sent``. The message, or None if nothing changed."""
    changed = OutboxMessage.objects.filter(pk=pk, state=OutboxMessage.QUEUED).update(
        state=OutboxMessage.SENT, updated_at=timezone.now()
    )
    return OutboxMessage.objects.get(pk=pk) if changed else None


def unrouted(pk):
    """No transmitter took the message's first try: ``no_route``. The message, or None."""
    changed = OutboxMessage.objects.filter(pk=pk, state=OutboxMessage.QUEUED).update(
        state=OutboxMessage.NO_ROUTE, updated_at=timezone.now()
    )
    return OutboxMessage.objects.get(pk=pk) if changed else None


def answered(source, destination, msgno, accepted):
    """An ack/rej from ``destination`` to ``source``: settle the message; None if none waits."""
    message = (
        OutboxMessage.objects.filter(source=source, destination=destination, msgno=msgno)
        .exclude(state__in=[OutboxMessage.ACKED, OutboxMessage.REJECTED])
        .order_by("-created_at")
        .first()
    )
    if message is None:
        return None
    message.state = OutboxMessage.ACKED if accepted else OutboxMessage.REJECTED
    message.updated_at = timezone.now()
    message.save()
    return message

"""APRSNewsConsumer: the ``aprs`` application of the uplink to APRS-IS (source ``aprs-is``).

Besides what every source does (consumers/aprs/base.py, messaging.py), it is
the one member of ``UPLINK_GROUP``: packets that local iGates and the TNC
gate (``uplink.gate``) go up to APRS-IS through it, it acks messages
addressed to our own login, and it asks APRS-IS for web users' messages: the
outbox tells it their callsigns (``uplink.recipients``), which it adds to the
server-side filter as ``g/`` (``aprs.filter``, docs/aprs-asgi.md).
"""

import logging

from django.conf import settings

from consumers.aprs.base import APRSConsumer
from consumers.aprs.messaging import Messaging
from gateway import metrics
from gateway.names import UPLINK_GROUP
from protocols.aprs.tnc2 import message_addressee

logger = logging.getLogger("aprs.news")


class APRSNewsConsumer(Messaging, APRSConsumer):
    GROUP_FILTER_CALLS = 20  # callsigns per g/ part
    GROUP_FILTER_MAX = 400  # characters of g/ parts: the login line must stay inside 512 bytes
    group_filter = ""  # the g/ parts the server-side filter has now

    async def aprs_connect(self, event):
        # What APRS-IS sends us and we pass on to our server port's clients: a qAI trace gets the
        # server it came from (its logresp's ID) and ours, as a server passing it on does.
        self.trace_via = (self.scope.get("server_id") or "", settings.IGATE_SERVER_ID)
        await super().aprs_connect(event)

    async def start_messaging(self):
        await self.channel_layer.group_add(UPLINK_GROUP, self.channel_name)
        await super().start_messaging()
        await self.to_outbox({"type": "outbox.recipients"}, "a question for web users' callsigns")

    async def uplink_recipients(self, event):
        """Web users' callsigns: APRS-IS is to send us the messages for them."""
        calls = event["callsigns"]
        parts = [calls[at : at + self.GROUP_FILTER_CALLS] for at in range(0, len(calls), self.GROUP_FILTER_CALLS)]
        text = ""
        for part in ("g/" + "/".join(part) for part in parts):
            if len(text) + len(part) + 1 > self.GROUP_FILTER_MAX:
                logger.warning("more web users than an APRS-IS filter can name: some get messages only from RF")
                break
            text = f"{text} {part}".strip()
        if text != self.group_filter:
            self.group_filter = text
            await self.send({"type": "aprs.filter", "filter": text})

    async def stop_messaging(self):
        await super().stop_messaging()
        await self.channel_layer.group_discard(UPLINK_GROUP, self.channel_name)

    async def uplink_gate(self, event):
        """Packets a local iGate or the TNC heard, for APRS-IS."""
        if self.scope["verified"]:
            for line in event["lines"]:
                await self.send({"type": "aprs.send", "line": line})
            metrics.igate_forwarded.inc(len(event["lines"]))

    async def message_received(self, event):
        """Besides acks for the outbox: a message to our login gets its ack."""
        await super().message_received(event)
        packet = event["packet"]
        addressee = (message_addressee(event["raw"]) or "").upper()
        if (
            addressee == self.scope["login"].upper()
            and packet.get("msgNo")
            and self.scope["verified"]
            and packet.get("response") not in ("ack", "rej")
        ):
            line = f"{self.scope['login']}>APRS,TCPIP*::{packet['from']:<9}:ack{packet['msgNo']}"
            await self.send({"type": "aprs.send", "line": line.encode("ascii", "replace")})

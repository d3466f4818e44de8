"""APRSNewsConsumer: the ``aprs`` application of the uplink to APRS-IS (source ``aprs-is``).

Besides what every source does (consumers/aprs/base.py, messaging.py), it is
the one member of ``UPLINK_GROUP``: packets that local iGates and the TNC
gate (``uplink.gate``) go up to APRS-IS through it, and it acks messages
addressed to our own login.
"""

from consumers.aprs.base import APRSConsumer
from consumers.aprs.messaging import Messaging
from gateway.daemon import metrics
from gateway.names import UPLINK_GROUP
from protocols.aprs.tnc2 import message_addressee


class APRSNewsConsumer(Messaging, APRSConsumer):
    async def start_messaging(self):
        await self.channel_layer.group_add(UPLINK_GROUP, self.channel_name)
        await super().start_messaging()

    async def stop_messaging(self):
        await super().stop_messaging()
        await self.channel_layer.group_discard(UPLINK_GROUP, self.channel_name)

    async def uplink_gate(self, event):
        """A packet a local iGate or the TNC heard, for APRS-IS."""
        if self.scope["verified"]:
            await self.send({"type": "aprs.send", "line": event["line"]})
            metrics.igate_forwarded.inc()

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

"""Messaging: how an ``aprs`` application works with the outbox worker (consumers/outbox.py).

Every instance is a member of ``TRANSMIT_GROUP``. The outbox sends each web
user's message (and each ack it sends for them) to the whole group as
``transmitter.send``; an instance that may transmit and whose part of the
network reaches the addressee (``transmit_line``) sends it and says so to the
outbox (``outbox.sent``), the others let it pass. Every node's instances are
in the group, so any worker of a cluster reaches all of them. Each instance
hands the messages it hears to the outbox: acks and rejects
(``outbox.reply``), and the others (``outbox.incoming``: the outbox keeps
those for web users).
"""

from gateway.layers import LAYER_ERRORS
from gateway.names import OUTBOX_CHANNEL, TRANSMIT_GROUP
from protocols.aprs.tnc2 import message_addressee, message_parts


class Messaging:
    """Mixin for an ``APRSConsumer``: the hooks ``start_messaging``, ``stop_messaging``
    and ``message_received``, and the ``transmitter.send`` event."""

    async def start_messaging(self):
        await self.channel_layer.group_add(TRANSMIT_GROUP, self.channel_name)

    async def stop_messaging(self):
        await self.channel_layer.group_discard(TRANSMIT_GROUP, self.channel_name)

    def may_transmit(self):
        """Whether the server carries out this connection's ``aprs.send`` (a verified login)."""
        return self.scope["verified"]

    async def transmitter_send(self, event):
        """A web user's message (or an ack for one) from the outbox: sent as this source
        sends it, or not at all."""
        line = self.transmit_line(event["line"]) if self.may_transmit() else None
        if line is not None:
            await self.send({"type": "aprs.send", "line": line})
            if event.get("id") is not None:
                await self.to_outbox({"type": "outbox.sent", "id": event["id"]}, "a message's route")

    def transmit_line(self, line):
        """The line to send for a web user's message, or None if it is not for this connection."""
        return line

    async def message_received(self, event):
        """Acks and rejects go to the outbox, which settles our web users' messages with
        them; other messages too, which it keeps for web users (their callsigns)."""
        packet = event["packet"]
        addressee = (message_addressee(event["raw"]) or "").upper()
        source = packet.get("from", "").upper()
        if packet.get("response") in ("ack", "rej"):
            if packet.get("msgNo"):
                reply = {
                    "type": "outbox.reply",
                    "source": addressee,
                    "destination": source,
                    "msgno": packet["msgNo"],
                    "accepted": packet["response"] == "ack",
                }
                await self.to_outbox(reply, "an ack")  # if lost, the message is retried and acked again
            return
        parts = message_parts(event["raw"])
        if not addressee or addressee.startswith(("BLN", "NWS")) or parts is None:
            return
        text, msgno, reply_ack, reply_acks = parts
        incoming = {
            "type": "outbox.incoming",
            "source": source,
            "destination": addressee,
            "text": text,
            "msgno": msgno,
            "reply_ack": reply_ack,
            "reply_acks": reply_acks,
        }
        await self.to_outbox(incoming, "a message")  # if lost, the station repeats it

    async def to_outbox(self, message, what):
        try:
            await self.channel_layer.send(OUTBOX_CHANNEL, message)
        except LAYER_ERRORS as exc:
            self.log_loss(f"channel layer unavailable ({exc}); {what} did not reach the outbox")

"""Messaging: how an ``aprs`` application works with the outbox worker (consumers/outbox.py).

Each instance tells the outbox whether it can transmit (``outbox.transmitter``,
again whenever asked with ``transmitter.query`` on ``TRANSMIT_GROUP``), sends
what the outbox gives it (``transmitter.send``: ``transmit_line`` says how this
source puts a web user's message on its part of the network, and ``outbox.sent``
tells the outbox it did), and hands the messages it hears to the outbox: acks
and rejects (``outbox.reply``), and the others (``outbox.incoming``: the
outbox keeps those for web users).
"""

from gateway.layers import LAYER_ERRORS
from gateway.names import OUTBOX_CHANNEL, TRANSMIT_GROUP
from protocols.aprs.tnc2 import message_addressee, message_parts


class Messaging:
    """Mixin for an ``APRSConsumer``: the hooks ``start_messaging``, ``stop_messaging``
    and ``message_received``, and the ``transmitter.*`` events."""

    async def start_messaging(self):
        await self.channel_layer.group_add(TRANSMIT_GROUP, self.channel_name)
        await self.announce(self.scope["verified"])

    async def stop_messaging(self):
        await self.announce(False)
        await self.channel_layer.group_discard(TRANSMIT_GROUP, self.channel_name)

    async def announce(self, can_send):
        await self.channel_layer.send(
            OUTBOX_CHANNEL, {"type": "outbox.transmitter", "can_send": can_send, "channel": self.channel_name}
        )

    async def transmitter_query(self, event):
        try:
            await self.announce(self.scope["verified"])
        except LAYER_ERRORS as exc:
            self.log_loss(f"channel layer unavailable ({exc}); not announced to the outbox")

    async def transmitter_send(self, event):
        """A web user's message from the outbox: sent as this source sends it (or not at all)."""
        line = self.transmit_line(event["line"])
        if line is not None and self.scope["verified"]:  # the server refuses it unless allowed
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

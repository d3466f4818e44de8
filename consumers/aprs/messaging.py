"""Messaging: how an ``aprs`` application works with the outbox worker (consumers/outbox.py).

Each instance tells the outbox whether it can transmit (``outbox.transmitter``,
again whenever asked with ``transmitter.query`` on ``TRANSMIT_GROUP``), sends
what the outbox gives it (``transmitter.send``: ``transmit_line`` says how this
source puts a web user's message on its part of the network), and hands acks
and rejects it hears to the outbox (``outbox.reply``).
"""

from gateway.layers import LAYER_ERRORS
from gateway.names import OUTBOX_CHANNEL, TRANSMIT_GROUP
from protocols.aprs.tnc2 import message_addressee


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
        if line is not None:
            await self.send({"type": "aprs.send", "line": line})  # the server refuses it unless allowed

    def transmit_line(self, line):
        """The line to send for a web user's message, or None if it is not for this connection."""
        return line

    async def message_received(self, event):
        """Acks and rejects of our web users' messages go to the outbox."""
        packet = event["packet"]
        if packet.get("response") in ("ack", "rej") and packet.get("msgNo"):
            reply = {
                "type": "outbox.reply",
                "source": (message_addressee(event["raw"]) or "").upper(),
                "destination": packet.get("from", "").upper(),
                "msgno": packet["msgNo"],
                "accepted": packet["response"] == "ack",
            }
            try:
                await self.channel_layer.send(OUTBOX_CHANNEL, reply)
            except LAYER_ERRORS as exc:  # the message is retried, and settled by the next ack
                self.log_loss(f"channel layer unavailable ({exc}); an ack did not reach the outbox")

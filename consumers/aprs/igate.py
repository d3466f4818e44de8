"""IGateConsumer: the ``aprs`` application for one iGate connected to our server port.

What every source does (consumers/aprs/base.py, messaging.py), plus: the
packets the iGate uploads go up to APRS-IS (``forward``), it is sent the feed
its filter passes as raw lines through the scope extension
``aprs-gateway.write_lines``, under the feed's buffer and slow-client rules,
and it is sent web users' messages for stations it has heard on RF (aprsc's
rule for messages to an iGate).
"""

import logging
import time

from consumers.aprs.base import APRSConsumer
from consumers.aprs.messaging import Messaging
from gateway.feed.hub import get_hub
from gateway.feed.subscriptions import LineSubscription
from gateway.names import LINES_EXTENSION
from protocols.aprs.filters import parse_filter
from protocols.aprs.qconstruct import with_server_q
from protocols.aprs.tnc2 import message_addressee

logger = logging.getLogger("aprs.igate")

HEARD_FOR = 3600.0
"""Seconds a station the iGate gated stays one it may get messages for."""
HEARD_MAX = 5000


class IGateConsumer(Messaging, APRSConsumer):
    NO_DATABASE = APRSConsumer.NO_DATABASE | {"aprs.filter"}
    subscription = None
    ready_sent = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.heard = {}  # callsign -> monotonic time its packet came through this iGate

    async def aprs_connect(self, event):
        self.via = "igate %s:%d" % tuple(self.scope["client"])
        await super().aprs_connect(event)
        if not self.scope["filter"]:  # else once the login's filter applies (aprs_filter)
            await self.send({"type": "aprs.ready"})

    async def aprs_filter(self, event):
        """A filter from the login or ``#filter`` (checked by the port): an empty one
        sends nothing, as on APRS-IS port 14580."""
        self.unsubscribe()
        if event["filter"]:
            lines = self.scope["extensions"][LINES_EXTENSION]
            self.subscription = LineSubscription(
                lines["write"],
                parse_filter(event["filter"]),
                backlog=lines["backlog"],
                via=self.via,
                too_slow=lines["drop"],
            )
            get_hub().subscribe(self.subscription)
        logger.info("%s: filter %r applied", self.via, event["filter"])
        if not self.ready_sent:
            self.ready_sent = True
            await self.send({"type": "aprs.ready"})

    def unsubscribe(self):
        if self.subscription is not None:
            get_hub().unsubscribe(self.subscription)
            self.subscription = None

    async def aprs_packet(self, event):
        source = event["packet"].get("from")
        if source:
            now = time.monotonic()
            self.heard[source.upper()] = now
            if len(self.heard) > HEARD_MAX:
                self.heard = {call: at for call, at in self.heard.items() if now - at < HEARD_FOR}
        await super().aprs_packet(event)

    def transmit_line(self, line):
        """A web user's message: for this iGate only if it heard the addressee lately."""
        heard_at = self.heard.get((message_addressee(line) or "").upper())
        if heard_at is not None and time.monotonic() - heard_at < HEARD_FOR:
            return with_server_q(line, self.scope["server_id"])
        return None

    async def aprs_disconnect(self, event):
        self.unsubscribe()
        await super().aprs_disconnect(event)

"""IGateConsumer: the ``aprs`` application for one iGate connected to our server port.

What every source does (consumers/aprs/base.py, messaging.py), plus: the
packets the iGate uploads go up to APRS-IS (``forward``), it is sent the feed
its filter passes as raw lines through the scope extension
``aprs-gateway.write_lines``, under the feed's buffer and slow-client rules,
and, as aprsc routes them, messages (from the feed, and web users' through the
outbox) for its login and for stations it has heard within three hours.
"""

import logging
import time

from consumers.aprs.base import APRSConsumer
from consumers.aprs.messaging import Messaging
from gateway.feed.hub import HEARD_FOR, get_hub
from gateway.feed.subscriptions import LineSubscription
from gateway.names import LINES_EXTENSION
from protocols.aprs.filters import PASS_NOTHING, parse_filter
from protocols.aprs.qconstruct import with_server_q
from protocols.aprs.tnc2 import message_addressee

logger = logging.getLogger("aprs.igate")

HEARD_MAX = 5000


class IGateConsumer(Messaging, APRSConsumer):
    NO_DATABASE = APRSConsumer.NO_DATABASE | {"aprs.filter", "aprs.position"}
    subscription = None
    ready_sent = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.heard_at = {}  # callsign -> monotonic time its packet came through this iGate

    async def aprs_connect(self, event):
        self.via = "igate %s:%d" % tuple(self.scope["client"])
        await super().aprs_connect(event)
        self.subscribe("")
        if not self.scope["filter"]:  # else once the login's filter applies (aprs_filter)
            await self.send({"type": "aprs.ready"})

    async def aprs_filter(self, event):
        """A filter from the login or ``#filter`` (the port kept the parts it could read):
        an empty one passes nothing, as on APRS-IS port 14580; messages come all the same."""
        self.subscribe(event["filter"])
        # the login's filter is in the port's "logged in" line; a #filter command is news
        logger.log(
            logging.INFO if self.ready_sent else logging.DEBUG, "%s: filter %r applied", self.via, event["filter"]
        )
        if not self.ready_sent:
            self.ready_sent = True
            await self.send({"type": "aprs.ready"})

    async def aprs_position(self, event):
        """A receive-only client's own position, its packet refused: where it is for m/ (aprsc)."""
        get_hub().note_position(event["call"], event["latitude"], event["longitude"])
        if self.recorder is not None:  # other nodes' hubs learn it through Redis
            self.recorder.note(
                {"from": event["call"], "object": "", "lat": event["latitude"], "lon": event["longitude"]}
            )

    def subscribe(self, text):
        self.unsubscribe()
        hub = get_hub()
        lines = self.scope["extensions"][LINES_EXTENSION]
        self.subscription = LineSubscription(
            lines["write"],
            parse_filter(text, login=self.scope["login"], known=hub, lenient=True) if text else PASS_NOTHING,
            backlog=lines["backlog"],
            via=self.via,
            too_slow=lines["drop"],
            wants_message=self.wants_message,
        )
        hub.subscribe(self.subscription)

    def wants_message(self, addressee):
        """aprsc's routing: messages for the login and for stations heard here lately."""
        if addressee == self.scope["login"].upper():
            return True
        heard_at = self.heard_at.get(addressee)
        return heard_at is not None and time.monotonic() - heard_at < HEARD_FOR

    def unsubscribe(self):
        if self.subscription is not None:
            get_hub().unsubscribe(self.subscription)
            self.subscription = None

    def heard(self, event):
        source = event["packet"].get("from")
        if source:
            now = time.monotonic()
            self.heard_at[source.upper()] = now
            get_hub().note_heard(source.upper(), self.via)
            if len(self.heard_at) > HEARD_MAX:
                self.heard_at = {call: at for call, at in self.heard_at.items() if now - at < HEARD_FOR}

    def may_transmit(self):
        return True  # a logged-in client gets messages for it, verified or not (aprsc)

    def transmit_line(self, line):
        """A web user's message: for this iGate only if it is for its login or a station it heard."""
        if self.wants_message((message_addressee(line) or "").upper()):
            return with_server_q(line, self.scope["server_id"])
        return None

    async def aprs_disconnect(self, event):
        self.unsubscribe()
        await super().aprs_disconnect(event)

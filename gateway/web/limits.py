"""Caps on what one client, and all of them, may hold open.

``ConnectionLimit`` is ASGI middleware around the ``http`` and ``websocket``
applications (config/asgi.py), sharing one count: past ``MAX_CONNECTIONS`` in
all, or ``MAX_CONNECTIONS_PER_ADDRESS`` from one address, a websocket handshake
is refused (403) and an HTTP request answered 503 with the reason. Reaching a
cap is logged, at most once a minute. Request bodies are capped in the web
server (gateway/daemon/webserver.py), before they are read.
"""

import json
import logging
from collections import Counter

from django.conf import settings

from protocols.occasional import Occasionally

logger = logging.getLogger("gateway.limits")

LOG_INTERVAL = 60.0


class ConnectionLimit:
    def __init__(self):
        self.open = Counter()  # address -> open connections
        self.total = 0
        self.log = Occasionally(LOG_INTERVAL)

    def __call__(self, application):
        """The ASGI application ``application`` under this count."""

        async def limited(scope, receive, send):
            address = (scope.get("client") or ("?",))[0]
            refusal = self.refusal(address)
            if refusal:
                return await refuse(scope, receive, send, refusal)
            self.open[address] += 1
            self.total += 1
            try:
                return await application(scope, receive, send)
            finally:
                self.total -= 1
                self.open[address] -= 1
                if not self.open[address]:
                    del self.open[address]

        return limited

    def refusal(self, address):
        if self.total >= settings.MAX_CONNECTIONS:
            reason = f"the server is at its limit of {settings.MAX_CONNECTIONS} connections"
        elif self.open[address] >= settings.MAX_CONNECTIONS_PER_ADDRESS:
            reason = f"too many connections from your address (limit {settings.MAX_CONNECTIONS_PER_ADDRESS})"
        else:
            return None
        if self.log.due():
            logger.warning("connection refused from %s: %s (logged at most once a minute)", address, reason)
        return reason


async def refuse(scope, receive, send, reason):
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close"})  # before accept: the handshake gets 403
        return
    body = json.dumps({"error": reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"10")],
        }
    )
    await send({"type": "http.response.body", "body": body})

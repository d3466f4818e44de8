"""A probe application for the ``aprs`` protocol, run inside the real daemon.

``aprs-gateway run --application tests.aprs_apps.application`` serves it in
place of the gateway's own router, so tests can watch what the protocol
server does with an application's sends, crashes and exits.
"""

import asyncio

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application


class ProbeConsumer(AsyncConsumer):
    """Says hello upstream on connect, echoes packets; crashes, closes or lingers on request."""

    linger = False

    async def aprs_connect(self, event):
        await self.send({"type": "aprs.send", "line": b"N0CALL>APRS:>probe connected"})

    async def aprs_packet(self, event):
        body = event["raw"].partition(b":>")[2]
        if body == b"crash":
            raise RuntimeError("probe asked to crash")
        if body == b"linger":  # take a long time to finish after disconnect
            self.linger = True
            return
        if body == b"close":
            await self.send({"type": "aprs.close"})
            return
        if body == b"bad send":
            await self.send({"type": "aprs.send", "line": b"two\r\nlines"})
        await self.send({"type": "aprs.send", "line": b"N0CALL>APRS:>echo " + body})

    async def aprs_disconnect(self, event):
        if self.linger:
            await asyncio.sleep(60)
        raise StopConsumer()


application = ProtocolTypeRouter({"http": get_asgi_application(), "aprs": ProbeConsumer.as_asgi()})

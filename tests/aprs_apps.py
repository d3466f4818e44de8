"""A probe application for the ``aprs`` protocol, run inside the real daemon.

``aprs-gateway run --application tests.aprs_apps.application`` serves it in
place of the gateway's own router (``tests.aprs_apps.batched``: one that takes
batches and acknowledges them), so tests can watch what the protocol server
does with an application's sends, crashes and exits.
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


class BatchProbeConsumer(ProbeConsumer):
    """Asks for batches, echoes each packet and acknowledges it at once; on the first
    "crash" of the process it dies before acknowledging that packet, leaving behind a task
    that sends a line and acknowledges everything once its replacement runs."""

    crashed = False  # once per process: the replacement gets the same packet again

    async def aprs_connect(self, event):
        await self.send({"type": "aprs.batches", "most": 100})
        await super().aprs_connect(event)

    async def aprs_packets(self, event):
        for packet in event["packets"]:
            body = packet["raw"].partition(b":>")[2]
            if body == b"crash" and not BatchProbeConsumer.crashed:
                BatchProbeConsumer.crashed = True
                self.left_behind = asyncio.ensure_future(self.speak_when_ended())
                raise RuntimeError("probe asked to crash")
            await self.send({"type": "aprs.send", "line": b"N0CALL>APRS:>echo %s #%d" % (body, packet["seq"])})
            await self.send({"type": "aprs.ack", "seq": packet["seq"]})

    async def speak_when_ended(self):
        await asyncio.sleep(2)  # the server replaces a crashed instance within a second
        await self.send({"type": "aprs.send", "line": b"N0CALL>APRS:>left behind"})
        await self.send({"type": "aprs.ack", "seq": 10**9})


application = ProtocolTypeRouter({"http": get_asgi_application(), "aprs": ProbeConsumer.as_asgi()})
batched = ProtocolTypeRouter({"http": get_asgi_application(), "aprs": BatchProbeConsumer.as_asgi()})

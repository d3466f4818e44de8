"""A real KISS-over-TCP TNC for tests: serves frames to whoever connects, records what they send."""

import asyncio

from protocols.aprs.kiss import KISSDecoder
from tests.loopback import LoopbackServer


class FakeTNC(LoopbackServer):
    def __init__(self):
        self.connections = asyncio.Queue()
        self.received = asyncio.Queue()  # AX.25 frames the client sent to transmit
        self.writers = []

    async def _accept(self, reader, writer):
        self.writers.append(writer)
        await self.connections.put(writer)
        decoder = KISSDecoder()
        try:
            while data := await reader.read(4096):
                for _port, frame in decoder.feed(data):
                    await self.received.put(frame)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client went, or the test is over

    async def next_connection(self, timeout=15):
        return await asyncio.wait_for(self.connections.get(), timeout)

    def _close_connections(self):
        for writer in self.writers:
            writer.close()

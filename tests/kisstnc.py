"""A real KISS-over-TCP TNC for tests: serves frames to whoever connects, records what they send."""

import asyncio

from protocols.aprs.kiss import KISSDecoder


class FakeTNC:
    def __init__(self):
        self.connections = asyncio.Queue()
        self.received = asyncio.Queue()  # AX.25 frames the client sent to transmit
        self.writers = []
        self.server = None
        self.port = None

    async def start(self):
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

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

    async def close(self):
        for writer in self.writers:
            writer.close()
        self.server.close()
        await self.server.wait_closed()

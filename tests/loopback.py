"""The part every test server shares: listening on a free loopback port, and closing."""

import asyncio


class LoopbackServer:
    """Subclasses handle each connection in ``_accept(reader, writer)`` and drop what
    they hold in ``_close_connections()``."""

    server = None
    port = None

    async def start(self):
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    async def close(self):
        self._close_connections()
        self.server.close()
        await self.server.wait_closed()

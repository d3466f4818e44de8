"""A real websocket client of the live feed (``ws/aprs/``)."""

import asyncio
import base64
import json
import socket

import websockets


def raw_bytes(item):
    """The line exactly as received upstream, from a feed item."""
    if "raw_b64" in item:
        return base64.b64decode(item["raw_b64"])
    return item["text"].encode("utf-8")


class FeedClient:
    def __init__(self, socket):
        self.socket = socket
        self.dropped = 0

    @classmethod
    async def connect(cls, base_url, path="/ws/aprs/", **options):
        host = base_url.split("//", 1)[1]
        socket = await websockets.connect(base_url + path, origin=f"http://{host}", **options)
        client = cls(socket)
        hello = await client.frame()
        assert hello["type"] == "hello", hello
        return client

    @classmethod
    async def slow_reader(cls, base_url, port):
        """A client that stops reading: websockets stops reading the socket once one frame
        waits, and a small receive buffer keeps the kernel from absorbing megabytes, so
        the server's backlog toward it builds at once, as toward a real slow link."""
        tight = socket.socket()
        tight.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        tight.setblocking(False)
        await asyncio.get_running_loop().sock_connect(tight, ("127.0.0.1", port))
        return await cls.connect(base_url, max_queue=1, sock=tight)

    async def frame(self, timeout=10):
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def send(self, message):
        await self.socket.send(message if isinstance(message, str) else json.dumps(message))

    async def subscribe(self, text=""):
        await self.send({"type": "subscribe", "filter": text})
        reply = await self.frame()
        assert reply["type"] == "subscribed", reply
        return reply

    async def packets(self, count, timeout=20):
        """Collect packet items until ``count`` were received or dropped.

        Drops (the server's slow-client rule) add up in ``self.dropped``, so a
        test that expects none fails on that count instead of waiting.
        """
        items = []
        dropped_before = self.dropped
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(items) + self.dropped - dropped_before < count:
            frame = await self.frame(max(0.01, deadline - loop.time()))
            assert frame["type"] == "packets", frame
            self.dropped += frame["dropped"]
            items.extend(frame["packets"])
        return items

    async def close(self):
        await self.socket.close()

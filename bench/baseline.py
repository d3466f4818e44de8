"""The baseline: a bare ``websockets`` server that broadcasts each packet.

It reads the same APRS-IS stream (from the replay server), builds the same
feed item JSON, and calls ``websockets.broadcast`` once per packet: one frame
per packet per client, no Django, no Channels, no filters.
"""

import asyncio
import sys
import time

from websockets.asyncio.server import broadcast, serve

from consumers.news import feed_item
from protocols.aprs import login
from protocols.aprs.decode import decode_line


async def main(port, upstream_host, upstream_port):
    clients = set()

    async def handler(socket):
        try:
            async for _ in socket:  # a subscribe frame, as the daemon's clients send
                clients.add(socket)
                await socket.send('{"type":"subscribed","filter":""}')
        finally:
            clients.discard(socket)

    async with serve(handler, "127.0.0.1", port, max_size=None):
        while True:  # the bench starts the upstream once every client is in
            try:
                reader, writer = await asyncio.open_connection(upstream_host, upstream_port)
                break
            except OSError:
                await asyncio.sleep(0.2)
        writer.write(login.format_login("N0CALL", "-1", "bench-baseline", "1"))
        while line := await reader.readline():
            raw = line.rstrip(b"\r\n")
            if not raw or raw.startswith(b"#"):
                continue
            item = feed_item(decode_line(raw, time.time()))
            broadcast(clients, '{"type":"packets","dropped":0,"packets":[%s]}' % item)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))

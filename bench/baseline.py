"""The baselines: bare servers that broadcast each packet to every client.

All read the same APRS-IS stream (from the replay server). The websocket one
builds the same feed item JSON and calls ``websockets.broadcast`` once per
packet: one frame per packet per client, no Django, no Channels, no filters.
With ``--batched`` it follows the daemon's batching policy instead: the items
that arrived since the last tick go in one frame per client every
``FLUSH_INTERVAL``, stretched as the daemon does so that clients × ticks/s
stays under ``FRAMES_PER_SECOND`` (the same work as the daemon, minus
Channels, filters and the channel layer).
The TCP one (``--tcp``), for the iGate server port, greets, answers any login
with a logresp, and writes each line to every client: no filters, no q-constructs.
With ``--batched`` it writes the lines of a tick together, on the same clock.
"""

import asyncio
import sys
import time

from websockets.asyncio.server import broadcast, serve

from gateway.feed.items import feed_item
from protocols.aprs import login
from protocols.aprs.decode import decode_line

FLUSH_INTERVAL = 0.02  # the daemon's FEED_FLUSH_INTERVAL default
FRAMES_PER_SECOND = 20000  # and its FEED_FRAMES_PER_SECOND


def packets_frame(items):
    return '{"type":"packets","dropped":0,"packets":[%s]}' % ",".join(items)


async def upstream_lines(upstream_host, upstream_port):
    """The packet lines of the replay server, once it is up (the bench starts it last)."""
    while True:
        try:
            reader, writer = await asyncio.open_connection(upstream_host, upstream_port)
            break
        except OSError:
            await asyncio.sleep(0.2)
    writer.write(login.format_login("N0CALL", "-1", "bench-baseline", "1"))
    while line := await reader.readline():
        raw = line.rstrip(b"\r\n")
        if raw and not raw.startswith(b"#"):
            yield raw


async def main_tcp(port, upstream_host, upstream_port, batched=False):
    clients = set()
    pending = []

    async def tick():
        while True:
            await asyncio.sleep(max(FLUSH_INTERVAL, len(clients) / FRAMES_PER_SECOND))
            if pending:
                lines = b"".join(pending)
                pending.clear()
                for writer in clients:
                    writer.write(lines)

    async def handler(reader, writer):
        writer.write(b"# bench-baseline 1\r\n")
        credentials = login.parse_login((await reader.readline()).rstrip(b"\r\n"))
        writer.write(login.format_logresp(credentials.callsign, credentials.verified, "BASELINE"))
        clients.add(writer)
        try:
            await reader.read()  # until the client goes
        except ConnectionError:
            pass
        finally:
            clients.discard(writer)

    await asyncio.start_server(handler, "127.0.0.1", port)
    ticker = asyncio.ensure_future(tick()) if batched else None
    async for raw in upstream_lines(upstream_host, upstream_port):
        line = raw + b"\r\n"
        if batched:
            pending.append(line)
        else:
            for writer in clients:
                writer.write(line)
    if ticker is not None:
        ticker.cancel()


async def main(port, upstream_host, upstream_port, batched=False):
    clients = set()
    pending = []

    async def tick():
        while True:
            await asyncio.sleep(max(FLUSH_INTERVAL, len(clients) / FRAMES_PER_SECOND))
            if pending:
                broadcast(clients, packets_frame(pending))
                pending.clear()

    async def handler(socket):
        try:
            async for _ in socket:  # a subscribe frame, as the daemon's clients send
                clients.add(socket)
                await socket.send('{"type":"subscribed","filter":""}')
        finally:
            clients.discard(socket)

    async with serve(handler, "127.0.0.1", port, max_size=None):
        ticker = asyncio.ensure_future(tick()) if batched else None
        async for raw in upstream_lines(upstream_host, upstream_port):
            item = feed_item(decode_line(raw, time.time()))
            if batched:
                pending.append(item)
            else:
                broadcast(clients, packets_frame([item]))
        if ticker is not None:
            ticker.cancel()


if __name__ == "__main__":
    port, host, upstream_port, options = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    batched = "--batched" in options
    asyncio.run((main_tcp if "--tcp" in options else main)(port, host, upstream_port, batched=batched))

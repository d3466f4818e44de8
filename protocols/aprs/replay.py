"""A small APRS-IS server that plays recorded lines byte-for-byte.

For demos, offline work and tests: it greets, takes the login line, answers
with a logresp (verified when the passcode matches), sends a ``#`` keepalive
every ``keepalive`` seconds and plays ``lines`` at ``rate`` lines/s to every
client that logs in, each from the start. It runs on any asyncio loop,
including the one twisted's asyncio reactor drives inside the daemon.
"""

import asyncio
import logging
import time

from . import login

logger = logging.getLogger("aprs.replay")

SERVER_NAME = "aprs-gateway-replay"


def read_capture(path):
    """The non-empty lines of a capture file, as bytes without terminators."""
    with open(path, "rb") as capture:
        lines = [line.rstrip(b"\r") for line in capture.read().split(b"\n")]
    return [line for line in lines if line.strip()]


class ReplayServer:
    def __init__(self, lines, rate=10.0, loop=False, server_id="REPLAY", keepalive=20.0, login_timeout=30.0):
        if not lines:
            raise ValueError("nothing to replay: the capture has no lines")
        self.lines = lines
        self.rate = rate
        self.loop = loop
        self.server_id = server_id
        self.keepalive = keepalive
        self.login_timeout = login_timeout
        self.server = None
        self.sessions = set()

    async def start(self, host="127.0.0.1", port=0):
        """Listen; return the (host, port) actually bound."""
        self.server = await asyncio.start_server(self._session, host, port)
        bound = self.server.sockets[0].getsockname()[:2]
        logger.info(
            "replay server listening on %s:%d (%d lines at %g/s%s)",
            *bound,
            len(self.lines),
            self.rate,
            ", looping" if self.loop else "",
        )
        return bound

    async def close(self):
        if self.server is not None:
            self.server.close()
            for task in list(self.sessions):
                task.cancel()
            await self.server.wait_closed()

    async def _session(self, reader, writer):
        task = asyncio.current_task()
        self.sessions.add(task)
        peer = writer.get_extra_info("peername")
        try:
            writer.write(f"# {SERVER_NAME} 1.0\r\n".encode("ascii"))
            raw = await asyncio.wait_for(reader.readline(), self.login_timeout)
            try:
                user = login.parse_login(raw.rstrip(b"\r\n"))
            except login.LoginError as exc:
                writer.write(f"# {exc}\r\n".encode("ascii", "replace"))
                return
            writer.write(login.format_logresp(user.callsign, user.verified, self.server_id))
            logger.info("replay client %s logged in as %s", peer, user.callsign)
            # Read and ignore what the client sends (keepalives, #filter).
            drain = asyncio.ensure_future(self._ignore_input(reader))
            ticker = asyncio.ensure_future(self._send_keepalives(writer))
            play = asyncio.ensure_future(self._play(writer))
            try:
                await asyncio.wait([drain, play], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (drain, play, ticker):
                    task.cancel()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            self.sessions.discard(task)
            writer.close()

    async def _play(self, writer):
        started = time.monotonic()
        sent = 0
        while True:
            for line in self.lines:
                writer.write(line + b"\r\n")
                sent += 1
                delay = started + sent / self.rate - time.monotonic()
                if delay > 0:
                    await writer.drain()
                    await asyncio.sleep(delay)
            if not self.loop:
                await writer.drain()
                # Stay connected like a real server: keepalives go on.
                await asyncio.Event().wait()

    @staticmethod
    async def _ignore_input(reader):
        while await reader.readline():
            pass

    async def _send_keepalives(self, writer):
        while True:
            await asyncio.sleep(self.keepalive)
            stamp = time.strftime("%d %b %Y %H:%M:%S GMT", time.gmtime())
            writer.write(f"# {SERVER_NAME} {stamp}\r\n".encode("ascii"))

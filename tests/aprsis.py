"""A real TCP APRS-IS server whose every session a test scripts.

``ScriptedServer.start()`` listens on a free loopback port; each connection
that sends a login line appears on ``sessions`` as a ``Session``, and the test
decides what the server answers and sends, byte for byte.
"""

import asyncio
import time

from protocols.aprs import login
from tests.loopback import LoopbackServer


class Session:
    def __init__(self, reader, writer, login_line):
        self.reader = reader
        self.writer = writer
        self.login_line = login_line
        self.login = login.parse_login(login_line)
        self.opened = time.monotonic()
        self.finished = asyncio.Event()

    def logresp(self, verified=None, server_id="T2TEST"):
        if verified is None:
            verified = self.login.verified
        self.writer.write(login.format_logresp(self.login.callsign, verified, server_id))

    def send_raw(self, data):
        self.writer.write(data)

    def send_lines(self, lines):
        self.writer.write(b"".join(line + b"\r\n" for line in lines))

    async def drain(self):
        await self.writer.drain()

    async def read_line(self, timeout=10):
        return (await asyncio.wait_for(self.reader.readline(), timeout)).rstrip(b"\r\n")

    async def until_closed(self, timeout=10):
        """Wait for the client to close the connection (reading what it sends)."""

        async def drain_input():
            while await self.reader.read(4096):
                pass

        await asyncio.wait_for(drain_input(), timeout)

    def close(self):
        self.writer.close()
        self.finished.set()


class ScriptedServer(LoopbackServer):
    def __init__(self):
        self.sessions = asyncio.Queue()
        self.all_sessions = []

    async def _accept(self, reader, writer):
        writer.write(b"# aprsc 2.1.19-g730c5c0 (test)\r\n")
        line = await reader.readline()
        session = Session(reader, writer, line.rstrip(b"\r\n"))
        self.all_sessions.append(session)
        await self.sessions.put(session)
        await session.finished.wait()  # the test owns the connection until then

    async def next_session(self, timeout=15):
        return await asyncio.wait_for(self.sessions.get(), timeout)

    def _close_connections(self):
        for session in self.all_sessions:
            session.close()

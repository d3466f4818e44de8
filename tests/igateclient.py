"""A real TCP client of the gateway's APRS-IS server port, as an iGate would be."""

import asyncio
import socket

import aprslib


class IGateClient:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.said_before_logresp = []  # the server's lines between the login and its logresp

    @classmethod
    async def connect(cls, port, receive_buffer=None):
        if receive_buffer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        else:  # a small window, so a client that does not read fills up fast
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
            reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    @classmethod
    async def logged_in(cls, port, callsign, verified=True, filter_="", software="test 1.0"):
        """Connected, greeted and logged in; returns (client, logresp line) (or the line
        that came instead, when the login is refused)."""
        client = await cls.connect(port)
        greeting = await client.read_line()
        assert greeting.startswith(b"# aprs-gateway "), greeting
        passcode = aprslib.passcode(callsign.split("-")[0]) if verified else -1
        client.send(f"user {callsign} pass {passcode} vers {software}" + (f" filter {filter_}" if filter_ else ""))
        while (line := await client.read_line()).startswith(b"# Parse errors"):
            client.said_before_logresp.append(line)
        return client, line

    def send(self, *lines):
        self.writer.write(b"".join((line.encode() if isinstance(line, str) else line) + b"\r\n" for line in lines))

    async def read_line(self, timeout=10):
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            raise ConnectionError("closed by the server")
        return line.rstrip(b"\r\n")

    async def read_packet(self, timeout=10):
        """The next line that is not a # comment."""
        while True:
            line = await self.read_line(timeout)
            if not line.startswith(b"#"):
                return line

    async def until_closed(self, timeout=10):
        """Read until the server closes; returns everything read."""
        data = b""

        async def read_all():
            nonlocal data
            while chunk := await self.reader.read(65536):
                data += chunk

        await asyncio.wait_for(read_all(), timeout)
        return data

    def close(self):
        self.writer.close()

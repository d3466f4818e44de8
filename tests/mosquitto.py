"""A Mosquitto broker of the tests' own, on a free loopback port, with a password file;
it can be killed and started again on the same port. And a subscriber (aiomqtt)
that gathers every message it gets."""

import asyncio
import getpass
import os
import shutil
import socket
import subprocess
import time

import aiomqtt
import pytest

from tests.conftest import free_port, require

USER, PASSWORD = "gateway", "p@ss:word"  # characters a URL must escape


class Mosquitto:
    def __init__(self, workdir):
        self.binary = shutil.which("mosquitto", path="/usr/sbin:/usr/bin:/usr/local/sbin")
        require(self.binary and shutil.which("mosquitto_passwd"), "mosquitto and mosquitto-clients")
        self.port = free_port()
        self.workdir = workdir
        passwords = workdir / "passwords"
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), USER, PASSWORD], check=True)
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\npersistence false\n"
            + (f"user {getpass.getuser()}\n" if os.geteuid() == 0 else "")  # as root it would become "mosquitto",
        )  # which may not read the test's folder
        self.process = None

    @property
    def url(self):
        return f"mqtt://{USER}:p%40ss%3Aword@127.0.0.1:{self.port}"

    def start(self):
        log = open(self.workdir / "mosquitto.log", "ab")
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.kill()
                    pytest.fail(f"mosquitto did not start: {(self.workdir / 'mosquitto.log').read_text()}")
                time.sleep(0.05)

    def kill(self):
        self.process.kill()
        self.process.wait()


class Subscriber:
    """A real MQTT client on ``topics``: ``messages`` holds (topic, payload bytes, retain)."""

    def __init__(self, broker, topics=("#",)):
        self.broker = broker
        self.topics = topics
        self.messages = []
        self.task = None

    async def start(self):
        ready = asyncio.Event()
        self.task = asyncio.ensure_future(self._run(ready))
        await asyncio.wait_for(ready.wait(), 10)
        return self

    async def _run(self, ready):
        async with aiomqtt.Client("127.0.0.1", self.broker.port, username=USER, password=PASSWORD) as client:
            for topic in self.topics:
                await client.subscribe(topic, qos=1)
            ready.set()
            async for message in client.messages:
                self.messages.append((message.topic.value, message.payload, message.retain))

    async def until(self, condition, timeout=15):
        """Wait until ``condition(messages)`` is true; the messages then."""
        deadline = time.monotonic() + timeout
        while not condition(self.messages):
            if time.monotonic() > deadline:
                raise AssertionError(f"not seen in {timeout} s; got {self.messages[-20:]}")
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.05)
        return self.messages

    def on(self, topic):
        return [payload for seen, payload, _ in self.messages if seen == topic]

    async def stop(self):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

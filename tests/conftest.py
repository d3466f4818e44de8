"""Shared fixtures: the corpus, a Redis of our own, the daemon as a subprocess."""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.data import CORPUS_FILES, corpus_lines
from tests.database import migrated_database

REPO = Path(__file__).resolve().parent.parent


def require(condition, what):
    """Fail, never skip, when something the suite needs is missing."""
    if not condition:
        pytest.fail(f"missing {what}; `make test` sets it up")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replay_server(capture, port, rate, loop=False, **popen_options):
    """``aprs-gateway replay``: a small APRS-IS server playing ``capture`` on ``port``."""
    command = [sys.executable, "-m", "gateway.daemon.cli", "replay", str(capture), "--listen", f"127.0.0.1:{port}"]
    return subprocess.Popen([*command, "--rate", str(rate), *(["--loop"] if loop else [])], cwd=REPO, **popen_options)


@pytest.fixture(scope="session")
def corpus():
    return {name: corpus_lines(name) for name in CORPUS_FILES}


class RedisServer:
    """A redis-server of the tests' own, on a free port; it can be killed and restarted."""

    def __init__(self, workdir, durable=False):
        self.binary = shutil.which("redis-server")
        require(self.binary, "redis-server (make test installs it)")
        self.port = free_port()
        self.workdir = workdir
        self.durable = durable  # every write on disk before it is answered: a restart keeps it
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.durable else "no",
                "--appendfsync",
                "always",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.kill()
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)

    def kill(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """One Redis for the session's tests that only need it to be there."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.kill()


@pytest.fixture
def redis(tmp_path):
    """A Redis for one test, which the test may kill and start again."""
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
async def upstream():
    """A scripted APRS-IS server (tests/aprsis.py) on a free loopback port."""
    from tests.aprsis import ScriptedServer

    server = await ScriptedServer().start()
    yield server
    await server.close()


class Daemon:
    """``aprs-gateway run`` in a subprocess, with its log in a file."""

    def __init__(self, process, port, log_path, igate_port=None):
        self.process = process
        self.port = port
        self.log_path = log_path
        self.igate_port = igate_port  # its APRS-IS server port, when it was given one

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}"

    def log(self):
        return self.log_path.read_text(errors="replace")

    async def until_log(self, text, timeout=15, count=1):
        """Wait (without blocking the test's event loop) for a log line."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{text!r} x{count} not in the daemon log:\n{self.log()}")
            await asyncio.sleep(0.05)

    async def started(self, timeout=20):
        """Wait until the daemon accepts HTTP connections, and iGates on its server port
        when it has one (that port opens a moment after the web server)."""
        await self.until_log("serving http://", timeout)
        deadline = time.monotonic() + timeout
        for port in (self.port, self.igate_port):
            while port is not None:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise AssertionError(f"daemon did not listen on {port}:\n{self.log()}") from None
                    await asyncio.sleep(0.05)
        return self

    async def request(self, path, headers=None):
        """GET path: (status, body)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        response = await reader.read()
        writer.close()
        head, _, body = response.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), body

    async def get(self, path):
        """The body of a 200 response to GET path (asserts the status)."""
        status, body = await self.request(path)
        assert status == 200, (status, body)
        return body

    async def get_json(self, path):
        return json.loads(await self.get(path))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Daemons:
    """Spawn daemons sharing one work folder and database: ``daemons(*flags, env={...})``."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.spawned = []
        shutil.copyfile(migrated_database(), workdir / "db.sqlite3")

    def environment(self, env=None):
        merged = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": f"sqlite:///{self.workdir / 'db.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
            "ARCHIVE_ENABLED": "false",  # tests of the archive turn it on (and migrate)
            "APRS_MESSAGING": "true",  # off by default; one test checks what "off" looks like
            **(env or {}),
        }
        return {k: v for k, v in merged.items() if v is not None}

    def manage(self, *args, env=None):
        """``manage.py`` on the daemons' database (migrate, shell -c ...)."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def __call__(self, *flags, env=None, port=None):
        port = port or free_port()
        log_path = self.workdir / f"daemon-{len(self.spawned)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "gateway.daemon.cli", "run", "--port", str(port), *flags],
                cwd=REPO,
                env=self.environment(env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        igate_port = int(flags[flags.index("--igate-port") + 1]) if "--igate-port" in flags else None
        self.spawned.append(Daemon(process, port, log_path, igate_port))
        return self.spawned[-1]

    def stop_all(self):
        for instance in self.spawned:
            instance.stop()


@pytest.fixture
def daemon(tmp_path):
    """Spawn daemons: ``daemon(*flags, env={...})``; each stopped at the end."""
    daemons = Daemons(tmp_path)
    yield daemons
    daemons.stop_all()

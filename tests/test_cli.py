"""The command line: passcode, replay server, and configuration errors."""

import asyncio
import re
import runpy
import subprocess
import sys

import pytest

from protocols.aprs import login
from tests.conftest import REPO, free_port, replay_server


def cli(*args, env=None, **options):
    return subprocess.run(
        [sys.executable, "-m", "gateway.daemon.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        **options,
    )


def test_passcode():
    result = cli("passcode", "n0call-9")
    assert (result.returncode, result.stdout) == (0, "13023\n")
    refused = cli("passcode", "NOT A CALL")
    assert refused.returncode == 2
    assert "invalid callsign" in refused.stderr


@pytest.fixture
def replay(tmp_path, corpus):
    lines = corpus["benjojo_aprstestdata.txt"][:300] + [b"SP8EBC>APRS:>21\xb0C \xff"]
    capture = tmp_path / "capture.txt"
    capture.write_bytes(b"".join(line + b"\r\n" for line in lines))
    port = free_port()
    process = replay_server(capture, port, 5000, stderr=subprocess.PIPE)
    yield port, lines
    process.terminate()
    process.wait(10)


async def open_replay(port):
    for _ in range(100):
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("replay server did not listen")


@pytest.mark.parametrize("passcode, verdict", [("13023", b"verified"), ("-1", b"unverified"), ("1", b"unverified")])
async def test_replay_server_logs_in_and_plays_bytes_exactly(replay, passcode, verdict):
    port, lines = replay
    reader, writer = await open_replay(port)
    assert (await reader.readline()).startswith(b"# aprs-gateway-replay ")
    writer.write(login.format_login("N0CALL-1", passcode, "test", "1.0"))
    assert await reader.readline() == b"# logresp N0CALL-1 " + verdict + b", server REPLAY\r\n"
    received = []
    while len(received) < len(lines):
        line = await asyncio.wait_for(reader.readline(), 5)
        if not line.startswith(b"#"):
            received.append(line)
    assert received == [line + b"\r\n" for line in lines]
    writer.close()


async def test_replay_server_refuses_a_bad_login(replay):
    port, _ = replay
    reader, writer = await open_replay(port)
    await reader.readline()
    writer.write(b"hello there\r\n")
    assert b"login line must be" in await reader.readline()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed


@pytest.mark.parametrize(
    "args, env, message",
    [
        ((), {"SECRET_KEY": "", "DEBUG": "false"}, "SECRET_KEY (or SECRET_KEY_FILE) must be set"),
        (("--aprs-server", "example.org:http"), {}, "APRS_SERVERS: 'example.org:http': port must be a number"),
        (("--stale-timeout", "soon"), {}, "APRS_STALE_TIMEOUT='soon': expected a number"),
        ((), {"DEBUG": "maybe"}, "DEBUG='maybe': expected true/false"),
        (("--kiss", "127.0.0.1:99999"), {}, "KISS_SERVER: '127.0.0.1:99999': port out of range"),
        ((), {"KISS_SERVER": "a:1,b:2"}, "KISS_SERVER: one HOST:PORT"),
    ],
)
def test_bad_configuration_fails_at_start_with_one_line(args, env, message):
    import os

    environment = {**os.environ, "DEBUG": "true", **env}
    result = cli("run", "--port", str(free_port()), *args, env=environment)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"aprs-gateway: error: {message}")


def test_run_refuses_a_database_that_was_never_migrated_and_migrate_makes_it(tmp_path):
    import os

    database = tmp_path / "state" / "db.sqlite3"  # its folder does not exist yet
    environment = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{database}"}
    refused = cli("run", "--port", str(free_port()), "--no-aprs", env=environment)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("aprs-gateway: error: cannot open the database")
    assert "aprs-gateway migrate" in line

    migrated = cli("migrate", "--noinput", env=environment)
    assert migrated.returncode == 0, migrated.stderr
    assert database.exists()
    purged = cli("purge-archive", "--days", "1", env=environment)
    assert (purged.returncode, purged.stdout) == (0, "purged 0 packets older than 1 days\n")


def test_run_names_unapplied_migrations(tmp_path):
    import os

    database = tmp_path / "db.sqlite3"
    environment = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{database}"}
    assert cli("migrate", "--noinput", env=environment).returncode == 0
    *_, before_last, _ = sorted(path.name[:4] for path in (REPO / "gateway" / "migrations").glob("0*.py"))
    assert cli("migrate", "gateway", before_last, "--noinput", env=environment).returncode == 0  # one step back
    refused = cli("run", "--port", str(free_port()), "--no-aprs", env=environment)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "aprs-gateway: error: the database has 1 unapplied migrations: run `aprs-gateway migrate` first"
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({"REDIS_URL": "redis//nohost"}, "REDIS_URL='redis//nohost': expected redis://HOST"),
        ({"REDIS_URL": "redis://127.0.0.1:99999/0"}, "REDIS_URL='redis://127.0.0.1:99999/0': Port out of range"),
        ({"KISS_SERVER": "host:99999"}, "KISS_SERVER: 'host:99999': port out of range"),
        ({"APRS_SERVERS": "a.example:14580,b.example:x"}, "APRS_SERVERS: 'b.example:x': port must be a number"),
        ({"DATABASE_URL": "mysql//nohost"}, "DATABASE_URL: Scheme '://' is unknown"),
        ({"ROLES": "web,cook"}, "ROLES='web,cook': expected some of web, ingest, worker"),
        ({"IGATE_PORT": "70000"}, "IGATE_PORT='70000': must be a number from 0 to 65535"),
        ({"FEED_FLUSH_INTERVAL": "inf"}, "FEED_FLUSH_INTERVAL='inf': must be a number from 0.001 to 10"),
        ({"FEED_FLUSH_INTERVAL": "nan"}, "FEED_FLUSH_INTERVAL='nan': must be a number from 0.001 to 10"),
        ({"APRS_STALE_TIMEOUT": "nan"}, "APRS_STALE_TIMEOUT='nan': must be a number from 1 to 3600"),
        ({"APRS_SERVERS": ",,,"}, "APRS_SERVERS=',,,': no HOST:PORT in it"),
        ({"APRS_SERVERS": "[::1:14580"}, "APRS_SERVERS: '[::1:14580': an IPv6 address goes in brackets"),
        ({"APRS_SERVERS": "h a s:14580"}, "APRS_SERVERS: 'h a s:14580': 'h a s' is not an IP address or a host name"),
        ({"KISS_SERVER": "::::"}, "KISS_SERVER: '::::': not HOST:PORT"),
        ({"REDIS_URL": "redis://host/abc"}, "REDIS_URL='redis://host/abc': the database after the host is a number"),
        ({"PORT": "99999"}, "PORT='99999': must be a number from 1 to 65535"),
        ({"BIND": "h a"}, "BIND: 'h a': not an IP address or a host name"),
        ({"ARCHIVE_BATCH": "1.5"}, "ARCHIVE_BATCH='1.5': must be a whole number from 1 to 100000"),
        ({"MQTT_URL": "http://broker"}, "MQTT_URL: 'http://broker': the scheme must be mqtt:// or mqtts://"),
        ({"MQTT_URL": "mqtt://:1883"}, "MQTT_URL: 'mqtt://:1883' names no host"),
        ({"MQTT_URL": "mqtt://broker:port"}, "MQTT_URL: 'mqtt://broker:port' is not a broker URL"),
        ({"MQTT_PREFIX": "aprs/#"}, "MQTT_PREFIX='aprs/#': a topic without + or #"),
        ({"MQTT_FILTER": "r/91/0/10"}, "MQTT_FILTER: "),
    ],
)
def test_run_and_check_config_refuse_the_same_bad_settings(env, message):
    import os

    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", **env}
    port = () if "PORT" in env else ("--port", str(free_port()))
    for command in (("check-config",), ("run", *port)):
        result = cli(*command, env=environment)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"aprs-gateway: error: {message}"), (command, line)


def test_bind_governs_the_igate_port_unless_it_has_its_own():
    import os

    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "IGATE_PORT": "14599"}
    environment.pop("IGATE_BIND", None)
    for extra, expected in (
        ({"BIND": "127.0.0.5"}, "iGate server port: 127.0.0.5:14599"),
        ({"BIND": "127.0.0.5", "IGATE_BIND": "0.0.0.0"}, "iGate server port: 0.0.0.0:14599"),
    ):
        result = cli("check-config", env={**environment, **extra})
        assert expected in result.stdout, (extra, result.stdout, result.stderr)


NUMBERS = re.compile(r'env_(float|int)\("([A-Z_]+)", [^,]+, ([-0-9._*]+), ([-0-9._*]+)\)')
NUMERIC_SETTINGS = NUMBERS.findall((REPO / "config" / "settings.py").read_text())


def settings_with(**env):
    """config/settings.py read afresh with ``env`` on top of a minimal environment."""
    from unittest import mock

    base = {"SECRET_KEY": "x", "DEBUG": "false", "BEHIND_TLS_PROXY": "true"}  # HSTS_SECONDS is read behind TLS
    with mock.patch.dict("os.environ", {**base, **env}, clear=True):
        return runpy.run_path(str(REPO / "config" / "settings.py"))


def test_every_numeric_setting_is_read_with_a_range():
    assert len(NUMERIC_SETTINGS) >= 35
    source = (REPO / "config" / "settings.py").read_text()
    assert 'env_float("' not in NUMBERS.sub("", source).replace("def env_float", "")


@pytest.mark.parametrize("kind, name, low, high", NUMERIC_SETTINGS, ids=[n for _, n, _, _ in NUMERIC_SETTINGS])
def test_every_numeric_setting_refuses_nan_infinity_and_out_of_range(kind, name, low, high):
    from django.core.exceptions import ImproperlyConfigured

    low, high = eval(low), eval(high)  # noqa: S307  (literals of our own settings file)
    bad = ["nan", "NaN", "inf", "-inf", "1e999", "many", str(low - 1), str(high * 2 + 1)]
    if kind == "int":
        bad.append(str(low + 0.5))
    for value in bad:
        with pytest.raises(ImproperlyConfigured, match=name):
            settings_with(**{name: value})
    valid = {name: str(high), **({"APRS_RECONNECT_MAX": "86400"} if name == "APRS_RECONNECT_MIN" else {})}
    settings_with(**valid)  # the highest value allowed is taken

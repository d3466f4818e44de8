"""Fan-out: the real daemon vs a bare ``websockets.broadcast`` server, same stream.

A *step* is one configuration, a number of clients and one offered rate: a
replay server plays the corpus at that rate, the server(s) log in to it,
clients in separate processes subscribe and count what arrives during a
measuring window after a warm-up; then everything is torn down. A step never
takes longer than its start-up, warm-up and window plus a fixed grace.

``sustainable()`` finds the highest rate a configuration keeps up with:
``ladder()`` measures a fixed geometric series of rates until two fail in a
row, each until two runs agree, then bisects above the highest rate whose
steps below it all passed; every step is reported, and a step whose clients,
not the server, were the limit says CLIENT-BOUND.

Configurations: ``baseline`` (bench/baseline.py), ``inmemory`` (the daemon,
in-memory layer), ``redis`` (the daemon on channels-redis), ``redis-Nnodes``
(N daemons sharing Redis, the first holding the uplink and the workers,
clients split between them).
"""

import json
import math
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import redis
from django.conf import settings

from bench.clients import run_clients
from tests.database import migrated_database

REPO = Path(__file__).resolve().parent.parent
LOGS = Path(tempfile.gettempdir()) / "aprs-gateway-bench"
LOGS.mkdir(exist_ok=True)
MAX_P99_MS = 250.0
MIN_DELIVERED = 0.97  # of the copies offered


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def start(args, port, env=None, log=None):
    process = subprocess.Popen(
        args, cwd=REPO, env={**os.environ, **(env or {})}, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    wait_listening(port, process)
    return process


def start_replay(lines, rate, port=None):
    """A replay server playing ``lines`` in a loop; it reads its capture before it listens."""
    port = port or free_port()
    with tempfile.NamedTemporaryFile(suffix=".txt") as capture:
        capture.write(b"".join(line + b"\r\n" for line in lines))
        capture.flush()
        process = start(
            [
                sys.executable,
                "-m",
                "gateway.daemon.cli",
                "replay",
                capture.name,
                "--listen",
                f"127.0.0.1:{port}",
                "--rate",
                str(rate),
                "--loop",
            ],
            port,
        )
    return process, port


def start_daemon(upstream_port, env, roles=("web", "ingest", "worker"), flags=()):
    """The daemon, logging in to ``upstream_port`` (None: no uplink); (process, port)."""
    port = free_port()
    args = [sys.executable, "-m", "gateway.daemon.cli", "run", "--port", str(port), *flags]
    args += ["--aprs-server", f"127.0.0.1:{upstream_port}"] if upstream_port else ["--no-aprs"]
    for role in roles:
        args += ["--role", role]
    # The default settings, archive on (SQLite, the daemon's own copy): what is won in
    # fan-out must hold with it (issue 22). P3's cost rows turn it off and on.
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # as deployed: with DEBUG on, Django keeps and quotes every SQL query (11 % of
        # the daemon's time at 2,000 archived packets/s)
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "ARCHIVE_ENABLED": "true",
        "LOG_TIMESTAMPS": "true",
        "APRS_RECONNECT_MAX": "1",
        # every bench client comes from 127.0.0.1: lift the per-address caps
        "MAX_CONNECTIONS_PER_ADDRESS": "100000",
        "MAX_CONNECTIONS": "100000",
        "IGATE_MAX_PER_ADDRESS": "100000",
        "IGATE_MAX_CLIENTS": "100000",
        **env,
    }
    if "DATABASE_URL" not in env:  # its own copy: the outbox worker uses the database
        env["DATABASE_URL"] = database_copy(f"daemon-{port}")
    log = open(LOGS / f"daemon-{port}.log", "wb")
    return start(args, port, env, log=log), port


def database_copy(name):
    """The URL of a fresh copy of the migrated SQLite database, ``name`` in the bench's logs."""
    database = LOGS / f"{name}.sqlite3"
    shutil.copyfile(migrated_database(), database)
    return f"sqlite:///{database}"


def start_servers(config, upstream_port, redis_url):
    """The processes serving clients and the websocket URLs to spread clients over."""
    if config.startswith("baseline"):
        port = free_port()
        options = {
            "baseline": [],
            "baseline-batched": ["--batched"],
            "baseline-tcp": ["--tcp"],
            "baseline-tcp-batched": ["--tcp", "--batched"],
        }[config]
        process = start(
            [sys.executable, "-m", "bench.baseline", str(port), "127.0.0.1", str(upstream_port), *options],
            port,
            log=open(LOGS / f"baseline-{port}.log", "wb"),
        )
        return [process], [f"aprs://127.0.0.1:{port}" if "-tcp" in config else f"ws://127.0.0.1:{port}/"]
    if config == "igate":
        igate_port = free_port()
        process, _ = start_daemon(upstream_port, {}, flags=["--igate-port", str(igate_port)])
        wait_listening(igate_port, process)
        return [process], [f"aprs://127.0.0.1:{igate_port}"]
    env = layer_env(config, redis_url)
    nodes = re.fullmatch(r"redis-(\d+)nodes", config)
    if nodes:  # the first node ingests (and archives), every node serves its share of the clients
        # One frame budget shared by the nodes: each node's own would send every client twice the
        # frames with two nodes (a shorter tick), and the client processes on these two cores, not
        # the nodes, would be measured (client CPU 39 % -> 66-71 % at 25 packets/s, docs/fanout.md)
        env["FEED_FRAMES_PER_SECOND"] = str(settings.FEED_FRAMES_PER_SECOND / int(nodes.group(1)))
        started = [start_daemon(upstream_port, env)]
        started += [start_daemon(upstream_port, env, roles=("web",)) for _ in range(int(nodes.group(1)) - 1)]
        return [process for process, _ in started], [f"ws://127.0.0.1:{port}/ws/aprs/" for _, port in started]
    process, port = start_daemon(upstream_port, env)
    return [process], [f"ws://127.0.0.1:{port}/ws/aprs/"]


def layer_env(config, redis_url):
    return {"REDIS_URL": redis_url} if config.startswith("redis") else {}


STOP_TIMEOUT = 30
KILLED = []
"""Processes that did not end within STOP_TIMEOUT of SIGTERM: a defect the bench reports
(a daemon that hangs on stop once cost each P6 step 30 s, unnoticed)."""


def stop(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            KILLED.append(" ".join(map(str, process.args[2:])))
            print(f"  !! did not stop within {STOP_TIMEOUT} s of SIGTERM, killed: {KILLED[-1]}", flush=True)


def run_step(config, clients, rate, lines, redis_url=None, filters=None, warmup=3.0, seconds=5.0, client_processes=2):
    """One measurement; a dict row for the table. ``filters``: one per client (default: all "").

    The servers start first with nothing upstream; the clients connect and
    subscribe; only then does the replay server start, so handshakes never
    compete with the stream (the servers retry their upstream every second)."""
    filters = filters or [""] * clients
    upstream_port = free_port()
    servers, urls = start_servers(config, upstream_port, redis_url)
    processes = list(servers)
    client_group = None
    try:
        client_group = Clients(urls, filters, client_processes)
        connected = client_group.connected(timeout=60 + len(filters) / 50)
        processes.append(start_replay(lines, rate, upstream_port)[0])
        row = _measure(servers, client_group, warmup, seconds, redis_url if config.startswith("redis") else None)
        row["connected"] = connected
    finally:
        if client_group is not None:
            client_group.stop()
        stop(processes)
    offered = rate * clients
    row.update(config=config, clients=clients, offered_per_s=rate, offered_copies_per_s=offered)
    if not any(filters):  # everyone wants everything: what did not arrive was lost
        row["loss"] = max(0.0, 1 - row["delivered_copies_per_s"] / offered)
    return row


class Clients:
    """Client processes (bench/clients.py) for one measurement."""

    def __init__(self, urls, filters, processes):
        self.count = len(filters)
        self.shared = multiprocessing.Array("d", [math.inf, math.inf, 0.0])  # start, end, connected
        self.results = multiprocessing.Queue()
        shares = [filters[i::processes] for i in range(processes)]
        self.workers = [
            multiprocessing.Process(target=run_clients, args=(urls, share, self.shared, self.results))
            for share in shares
            if share
        ]
        for worker in self.workers:
            worker.start()

    def connected(self, timeout):
        """Wait until every client is in (or ``timeout``); how many are."""
        deadline = time.monotonic() + timeout
        while self.shared[2] < self.count and time.monotonic() < deadline:
            time.sleep(0.1)
        return int(self.shared[2])

    def open_window(self, warmup, seconds):
        start = time.time() + warmup
        self.shared[0], self.shared[1] = start, start + seconds
        time.sleep(max(0.0, start - time.time()))

    def stats(self, timeout=120):
        found = [self.results.get(timeout=timeout) for _ in self.workers]
        for worker in self.workers:
            worker.join(30)
        return found

    def stop(self):
        """Client processes that outlived their measurement (a failed step) go."""
        for worker in self.workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(5)


def _measure(servers, clients, warmup, seconds, redis_url=None):
    clients.open_window(warmup, seconds)
    watched = [psutil.Process(server.pid) for server in servers]
    before = [sum(p.cpu_times()[:2]) for p in watched]
    commands = redis_commands(redis_url)
    time.sleep(seconds)
    cpu = [100 * (sum(p.cpu_times()[:2]) - b) / seconds for p, b in zip(watched, before, strict=True)]
    commands = redis_commands(redis_url) - commands
    rss = sum(p.memory_info().rss for p in watched)
    stats = clients.stats()
    latencies = sorted(latency for s in stats for latency in s["latencies"])
    return {
        "delivered_copies_per_s": sum(s["packets"] for s in stats) / seconds,
        "dropped": sum(s["dropped"] for s in stats),
        "failed_clients": sum(s["failed"] for s in stats),
        "client_errors": [e for s in stats for e in s["errors"]][:3],
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
        "server_cpu_percent": sum(cpu),
        "server_cpu_each": cpu,
        "redis_commands_per_s": commands / seconds,
        "client_cpu_percent": max(s["cpu_percent"] for s in stats),
        "server_rss_mib": rss / 2**20,
    }


def redis_commands(url):
    """Commands the Redis server has processed so far (0 without one)."""
    if not url:
        return 0
    client = redis.Redis.from_url(url)
    try:
        return client.info("stats")["total_commands_processed"]
    finally:
        client.close()


def cluster_cost(nodes, clients_per_node, rate, lines, redis_url, **step):
    """P6 as cost: ``nodes`` daemons on one Redis, ``clients_per_node`` whole-feed clients
    each (few, so the machine is not the limit), the feed at ``rate``. Per node: CPU per
    packet (µs), and Redis commands per packet per node."""
    config = "redis" if nodes == 1 else f"redis-{nodes}nodes"
    row = run_step(config, nodes * clients_per_node, rate, lines, redis_url, **step)
    cpu = row["server_cpu_each"]
    row["nodes"] = nodes
    row["ingest_us_per_packet"] = 1e4 * cpu[0] / rate
    row["web_us_per_packet"] = 1e4 * statistics.mean(cpu[1:]) / rate if nodes > 1 else None
    row["redis_commands_per_packet_per_node"] = row["redis_commands_per_s"] / rate / nodes
    return row


def delivered_by_all(row):
    """Everything offered (almost) arrived, and no client failed or was disconnected."""
    return row["delivered_copies_per_s"] >= MIN_DELIVERED * row["offered_copies_per_s"] and row["failed_clients"] == 0


def sustained(row):
    """Kept up: (almost) everything offered arrived, in time, nothing dropped, nobody failed."""
    return delivered_by_all(row) and row["p99_ms"] is not None and row["p99_ms"] <= MAX_P99_MS and row["dropped"] == 0


CLIENT_BOUND_CPU = 85.0
"""A measuring client process this busy (% of one core) while the server is not: the
clients, not the server, were the limit of that step."""


def client_bound(row):
    return row.get("client_cpu_percent", 0) >= CLIENT_BOUND_CPU and row["server_cpu_percent"] < 60.0


def ladder(
    measure_at,
    ok,
    start_rate=25.0,
    max_rate=6400.0,
    bisections=3,
    log=print,
    min_rate=1.0,
    key="offered_per_s",
    repeat=True,
):
    """The headline row and every row measured. Nothing is guessed from one step:

    - the rate (or what ``key`` names: ``clients``) walks a fixed geometric series,
      ``start_rate`` doubling up to ``max_rate``, and stops after two failures in a row
      (one marginal step does not end the walk);
    - each rate is measured until two runs agree on kept-up or not, a third deciding
      otherwise; the step's row is the median run by p99 (``runs`` keeps them all;
      ``repeat=False``, for the smoke test, measures each rate once);
    - when ``start_rate`` itself fails, halves below it are tried down to ``min_rate``;
    - the headline is the highest rate whose steps below it all passed; it is then
      bisected toward the first failure above it.
    """
    rows, steps = [], {}

    def measure(rate):
        runs = []
        while not runs or (repeat and (len(runs) < 2 or (len(runs) == 2 and ok(runs[0]) != ok(runs[1])))):
            runs.append(measure_at(rate))
        verdict = sum(ok(run) for run in runs) * 2 > len(runs)
        agreeing = sorted((run for run in runs if ok(run) == verdict), key=lambda run: run.get("p99_ms") or 0)
        row = {**agreeing[len(agreeing) // 2], "runs": runs, "kept_up": verdict}
        rows.append(row)
        steps[rate] = row
        log(describe(row, runs))
        return verdict

    series, rate = [], start_rate
    while rate <= max_rate:
        series.append(rate)
        rate *= 2
    failed_in_a_row = 0
    for rate in series:
        failed_in_a_row = 0 if measure(rate) else failed_in_a_row + 1
        if failed_in_a_row == 2:
            break
    rate = start_rate / 2
    while not steps[start_rate]["kept_up"] and rate >= min_rate:
        if measure(rate):
            break
        rate /= 2
    good = bad = None
    for rate in sorted(steps):  # a pass above a failure is not a headline: it may be luck
        if not steps[rate]["kept_up"]:
            bad = steps[rate]
            break
        good = steps[rate]
    for _ in range(bisections if good and bad else 0):
        rate = round((good[key] + bad[key]) / 2, 1)
        if rate in (good[key], bad[key]):
            break
        if measure(rate):
            good = steps[rate]
        else:
            bad = steps[rate]
    return good, rows


def describe(row, runs):
    """One step of a ladder, every run: rate, delivered share, latency, both sides' CPU."""
    parts = []
    for run in runs:
        share = run["delivered_copies_per_s"] / max(run.get("offered_copies_per_s") or run["offered_per_s"], 1e-9)
        latency = f"p50 {run['p50_ms']:.0f} / p99 {run['p99_ms']:.0f} ms" if run["p99_ms"] is not None else "no latency"
        extra = ""
        if "archived_per_s" in run:
            extra += f", archived {run['archived_per_s']:,.0f}/s (lag {run['archive_lag_s']:.1f} s)"
        if run.get("worker_cpu_percent") is not None:
            extra += f", worker cpu {run['worker_cpu_percent']:.0f}%"
        parts.append(
            f"{100 * share:.1f}% delivered, {latency}, dropped {run['dropped']}, "
            f"server cpu {run['server_cpu_percent']:.0f}%, clients cpu {run.get('client_cpu_percent', 0):.0f}%{extra}"
            + (" CLIENT-BOUND" if client_bound(run) else "")
        )
    verdict = "kept up" if row["kept_up"] else "NOT kept up"
    return f"  {row['config']} {row['clients']} clients @ {row['offered_per_s']:g}/s: {verdict}\n" + "\n".join(
        f"    run {n}: {part}" for n, part in enumerate(parts, 1)
    )


def sustainable(
    config,
    clients,
    lines,
    redis_url=None,
    log=print,
    start_rate=25.0,
    max_rate=6400.0,
    bisections=3,
    min_rate=1.0,
    repeat=True,
    **step,
):
    """P1/P6: the highest rate ``clients`` whole-feed clients get in full and in time."""
    return ladder(
        lambda rate: run_step(config, clients, rate, lines, redis_url, **step),
        sustained,
        start_rate,
        max_rate,
        bisections,
        log,
        min_rate,
        repeat=repeat,
    )


def tcp_clients_capacity(
    config,
    rate,
    lines,
    log=print,
    start_clients=100,
    max_clients=6400,
    bisections=3,
    min_clients=1,
    repeat=True,
    **step,
):
    """The most server-port (TCP) clients on everything that all get the feed at ``rate``."""

    def measure_at(clients):
        clients = int(clients)
        return run_step(config, clients, rate, lines, client_processes=2 if clients <= 1000 else 4, **step)

    return ladder(
        measure_at, delivered_by_all, start_clients, max_clients, bisections, log, min_clients, "clients", repeat
    )


def ingest_step(config, rate, lines, redis_url=None, warmup=3.0, seconds=5.0, archive=False):
    """P3: packets/s the daemon takes in and routes to the feed group with no client
    (``archive``: and stores in its archive, SQLite, as with the default settings).
    ``redis-worker``: the archive worker in a process of its own (a Redis deployment's
    ``--role worker``), on the same database; its CPU is reported beside the daemon's."""
    replay, upstream_port = start_replay(lines, rate)
    env = {**layer_env(config, redis_url), "ARCHIVE_ENABLED": "true" if archive else "false"}
    processes = [replay]
    apart = config == "redis-worker"
    try:
        if apart:
            env["DATABASE_URL"] = database_copy(f"shared-{upstream_port}")  # one database for both
            worker, worker_port = start_daemon(None, env, roles=("worker",))
            processes.append(worker)
            daemon, port = start_daemon(upstream_port, env, roles=("web", "ingest"))
        else:
            daemon, port = start_daemon(upstream_port, env)
            worker, worker_port = daemon, port
        processes.append(daemon)
        time.sleep(warmup)
        watched, working = psutil.Process(daemon.pid), psutil.Process(worker.pid)
        before, cpu_before = status(port)["feed"]["packets"], sum(watched.cpu_times()[:2])
        stored_before, worker_cpu_before = archived(worker_port), sum(working.cpu_times()[:2])
        time.sleep(seconds)
        after, cpu_after = status(port)["feed"]["packets"], sum(watched.cpu_times()[:2])
        stored, worker_cpu = archived(worker_port) - stored_before, sum(working.cpu_times()[:2]) - worker_cpu_before
        lag = metric(worker_port, "aprs_gateway_archive_lag_seconds")
        rss = watched.memory_info().rss
    finally:
        stop(processes)
    routed = (after - before) / seconds
    return {
        "worker_cpu_percent": 100 * worker_cpu / seconds if apart else None,
        "archived_per_s": stored / seconds,
        "archive_lag_s": lag,
        "config": config,
        "clients": 0,
        "offered_per_s": rate,
        "offered_copies_per_s": rate,
        "delivered_copies_per_s": routed,
        "p50_ms": None,
        "p99_ms": None,
        "dropped": 0,
        "failed_clients": 0,
        "server_cpu_percent": 100 * (cpu_after - cpu_before) / seconds,
        "client_cpu_percent": 0.0,
        "server_rss_mib": rss / 2**20,
    }


def archived(port):
    """Packets the daemon's archive worker has stored, from /metrics."""
    return metric(port, "aprs_gateway_archive_packets_stored_total")


def metric(port, name):
    """One figure of the daemon's /metrics (0 when absent)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def ingest_cost(config, rate, lines, redis_url=None, **step):
    """P3 with the default settings: the daemon's CPU per packet with the archive on, beside
    the same daemon with it off, in one run (µs of server CPU per packet)."""
    rows = {}
    for archive in (False, True):
        row = ingest_step(config, rate, lines, redis_url, archive=archive, **step)
        row["us_per_packet"] = 1e4 * row["server_cpu_percent"] / max(row["delivered_copies_per_s"], 1e-9)
        rows["on" if archive else "off"] = row
    return rows


def ingest_capacity(
    config,
    lines,
    redis_url=None,
    log=print,
    start_rate=500.0,
    max_rate=64000.0,
    bisections=3,
    min_rate=1.0,
    archive=True,
    repeat=True,
    **step,
):
    """P3: the highest rate the daemon takes in on one core (at most 100 % CPU), routes to
    the feed group and, with ``archive`` (the default settings), stores."""
    return ladder(
        lambda rate: ingest_step(config, rate, lines, redis_url, archive=archive, **step),
        lambda row: ingested(row, archive),
        start_rate,
        max_rate,
        bisections,
        log,
        min_rate,
        repeat=repeat,
    )


MAX_ARCHIVE_LAG = 3.0
"""Seconds the archive may be behind at the end of a P3 step: it writes every second (or
every 500 packets), so a count over a few seconds is off by up to one write."""


def ingested(row, archive):
    """A P3 step kept up: the feed group got the packets, the archive stored them, one core did it."""
    routed = row["delivered_copies_per_s"] >= MIN_DELIVERED * row["offered_per_s"]
    stored = not archive or row["archive_lag_s"] <= MAX_ARCHIVE_LAG
    one_core_each = row["server_cpu_percent"] <= 100.0 and (row["worker_cpu_percent"] or 0) <= 100.0
    return routed and stored and one_core_each


def idle_rss_per_client(count, client_processes=2):
    """P5: the daemon's RSS growth per connected, subscribed, idle websocket client (bytes)."""
    daemon, port = start_daemon(None, {})
    try:
        watched = psutil.Process(daemon.pid)
        # One client first, so what every process loads once is not charged to the many.
        first = Clients([f"ws://127.0.0.1:{port}/ws/aprs/"], ["b/NOSUCH"], 1)
        first.connected(timeout=60)
        first.open_window(0.0, 0.5)
        first.stats()
        before = watched.memory_info().rss
        clients = Clients([f"ws://127.0.0.1:{port}/ws/aprs/"], ["b/NOSUCH"] * count, client_processes)
        clients.connected(timeout=60 + count / 50)  # subscribed, but nothing matches: idle
        time.sleep(1.0)
        after = watched.memory_info().rss
        online = status(port)["feed"]["clients"]
        clients.open_window(0.0, 0.5)
        stats = clients.stats()
    finally:
        stop([daemon])
    return {
        "clients": count,
        "online": online,
        "failed_clients": sum(s["failed"] for s in stats),
        "rss_before_mib": before / 2**20,
        "rss_after_mib": after / 2**20,
        "bytes_per_client": (after - before) / max(online, 1),
    }


def status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as response:
        return json.load(response)


def growth(samples, start):
    """Percent RSS growth from sample ``start`` (rounded up) to the last."""
    first = samples[min(len(samples) - 1, math.ceil(start))]
    return 100 * (samples[-1] / first - 1)


def soak(minutes, lines, clients_count=100, rate=50.0, every=10.0, log=print):
    """P5 soak: the daemon's RSS, sampled every ``every`` s, over ``minutes`` at P2 load.

    The target judges its growth after the warm-up: one pass of the capture, after
    which every station has been heard and what the node keeps of them (positions,
    recent packets) is as big as this traffic makes it (26,346 lines: 9 minutes at
    50 packets/s; the growth after the first minute is reported too)."""
    warmup = len(lines) / rate
    seconds = minutes * 60
    replay, upstream_port = start_replay(lines, rate)
    daemon, port = start_daemon(upstream_port, {})
    try:
        clients = Clients([f"ws://127.0.0.1:{port}/ws/aprs/"], [""] * clients_count, 1)
        clients.connected(timeout=120)
        clients.open_window(0.0, seconds)
        watched = psutil.Process(daemon.pid)
        samples = []
        while time.time() < clients.shared[1]:
            samples.append(watched.memory_info().rss / 2**20)
            log(f"  soak {(len(samples) - 1) * every:.0f} s: {samples[-1]:.1f} MiB")
            time.sleep(every)
        (stats,) = clients.stats()
    finally:
        stop([daemon, replay])
    return {
        "minutes": minutes,
        "clients": clients_count,
        "rate": rate,
        "rss_mib": samples,
        "growth_mib": samples[-1] - samples[0],
        "warmup_s": warmup,
        "growth_after_warmup_percent": growth(samples, warmup / every),
        "growth_after_first_minute_percent": growth(samples, 60 / every),
        "packets": stats["packets"],
        "dropped": stats["dropped"],
    }

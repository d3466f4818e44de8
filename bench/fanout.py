"""Fan-out: the real daemon vs the bare websockets baseline, same stream, same clients.

Both servers log in to their own replay server playing the corpus at the
offered rate; clients in separate processes count what arrives during a
measuring window that starts after a warm-up.
"""

import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.clients import run_clients

REPO = Path(__file__).resolve().parent.parent
LOGS = Path(tempfile.gettempdir()) / "aprs-gateway-bench"
LOGS.mkdir(exist_ok=True)


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
    process = subprocess.Popen(args, cwd=REPO, env={**os.environ, **(env or {})},
                               stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_listening(port, process)
    return process


def start_replay(capture, rate):
    port = free_port()
    process = start([sys.executable, "-m", "gateway.cli", "replay", str(capture),
                     "--listen", f"127.0.0.1:{port}", "--rate", str(rate), "--loop"], port)
    return process, port


def start_server(kind, upstream_port, layer_env):
    port = free_port()
    if kind == "baseline":
        args = [sys.executable, "-m", "bench.baseline", str(port), "127.0.0.1", str(upstream_port)]
        env = {"DJANGO_SETTINGS_MODULE": "config.settings"}
    else:
        args = [sys.executable, "-m", "gateway.cli", "run", "--port", str(port),
                "--aprs-server", f"127.0.0.1:{upstream_port}"]
        # Fan-out alone: the archive (another layer send per packet, and database
        # writes on the same two cores) is measured by bench/archive.py.
        env = {"DEBUG": "true", "ARCHIVE_ENABLED": "false", "LOG_TIMESTAMPS": "true", **layer_env}
    log = open(LOGS / f"{kind}-{port}.log", "wb")
    return start(args, port, env, log=log), port


def measure(kind, clients, rate, lines, warmup, seconds, layer_env, processes=2):
    with tempfile.NamedTemporaryFile(suffix=".txt") as capture:
        capture.write(b"".join(line + b"\r\n" for line in lines))
        capture.flush()
        replay, upstream_port = start_replay(capture.name, rate)
        server, port = start_server(kind, upstream_port, layer_env)
        try:
            return _run_clients(kind, server, port, clients, rate, warmup, seconds, processes)
        finally:
            for process in (server, replay):
                process.terminate()
                process.wait(30)


def _run_clients(kind, server, port, clients, rate, warmup, seconds, processes):
    url = f"ws://127.0.0.1:{port}" + ("/" if kind == "baseline" else "/ws/aprs/")
    start_at = time.time() + warmup
    window = (start_at, start_at + seconds)
    results = multiprocessing.Queue()
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    workers = [multiprocessing.Process(target=run_clients, args=(url, n, window, results))
               for n in shares if n]
    for worker in workers:
        worker.start()
    watched = psutil.Process(server.pid)
    time.sleep(max(0.0, start_at - time.time()))
    watched.cpu_percent()
    time.sleep(seconds)
    cpu = watched.cpu_percent()
    rss = watched.memory_info().rss
    stats = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join(30)
    packets = sum(s["packets"] for s in stats)
    latencies = sorted(l for s in stats for l in s["latencies"])
    return {
        "server": kind,
        "clients": clients,
        "offered_per_s": rate,
        "offered_copies_per_s": rate * clients,
        "delivered_copies_per_s": packets / seconds,
        "dropped": sum(s["dropped"] for s in stats),
        "failed_clients": sum(s["failed"] for s in stats),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
        "server_cpu_percent": cpu,
        "server_rss_mib": rss / 2**20,
    }

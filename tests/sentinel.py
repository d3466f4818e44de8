"""Redis with Sentinel on loopback for the tests: a master, a replica and three sentinels,
all Debian's redis-server (``--sentinel`` makes it a sentinel). The master can be killed."""

import shutil
import socket
import subprocess
import time

import pytest
import redis

from tests.conftest import require

MASTER_NAME = "mymaster"


class SentinelCluster:
    def __init__(self, workdir):
        self.binary = shutil.which("redis-server")
        require(self.binary, "redis-server (make test installs it)")
        self.workdir = workdir
        self.master_port, self.replica_port, *self.sentinel_ports = distinct_free_ports(5)
        self.processes = {}

    @property
    def sentinels(self):
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def _spawn(self, name, args):
        self.processes[name] = subprocess.Popen(
            [self.binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def start(self):
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._spawn("master", ["--port", str(self.master_port), "--dir", str(self.workdir), *common])
        self._spawn(
            "replica",
            [
                "--port",
                str(self.replica_port),
                "--dir",
                str(self.workdir),
                *common,
                "--replicaof",
                "127.0.0.1",
                str(self.master_port),
            ],
        )
        for port in [self.master_port, self.replica_port]:
            wait_for(port)
        for n, port in enumerate(self.sentinel_ports):
            config = self.workdir / f"sentinel-{n}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {MASTER_NAME} 5000\n"
            )
            self._spawn(f"sentinel-{n}", [str(config), "--sentinel"])
            wait_for(port)
        self.wait_until_replica_known()
        return self

    def wait_until_replica_known(self, timeout=30):
        """A sentinel learns of replicas from the master's INFO, asked every 10 s: one that
        asked before the replica had connected knows none, and a master killed before it
        asks again is never failed over (seen under load: no master for a minute)."""
        deadline = time.monotonic() + timeout
        for port in self.sentinel_ports:
            client = redis.Redis(port=port, socket_timeout=2)
            try:
                while not client.sentinel_slaves(MASTER_NAME):
                    if time.monotonic() > deadline:
                        pytest.fail(f"sentinel on port {port} never learnt of the replica")
                    time.sleep(0.1)
            finally:
                client.close()

    def kill_master(self):
        self.processes["master"].kill()
        self.processes["master"].wait()

    def master(self):
        """The (host, port) the sentinels name as master now."""
        with socket.create_connection(("127.0.0.1", self.sentinel_ports[0]), timeout=2) as sock:
            sock.sendall(f"SENTINEL get-master-addr-by-name {MASTER_NAME}\r\n".encode())
            reply = sock.recv(4096).split(b"\r\n")
        return reply[2].decode(), int(reply[4])

    def stop(self):
        for process in self.processes.values():
            process.kill()
            process.wait()


def distinct_free_ports(count):
    """``count`` free loopback ports, all different (one free_port() after another may
    hand out the same port twice: then a sentinel's port would be the master's)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for(port, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server on port {port} did not start")
            time.sleep(0.05)

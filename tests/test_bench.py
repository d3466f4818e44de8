"""The benchmark harness runs (tiny numbers): it must not rot between `make bench` runs.
The targets themselves are not asserted here: they live in `make bench`."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def test_quick_bench_runs_every_part_and_reports(tmp_path, redis_url):
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--redis-url", redis_url, "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.returncode == 0, result.stdout + result.stderr  # 1: a process had to be killed on stop
    report = json.loads(output.read_text())
    for config in ("baseline", "baseline-batched", "inmemory", "redis", "redis-2nodes"):
        (row,) = report["ladders"][config]
        assert row["delivered_copies_per_s"] > 0 and row["failed_clients"] == 0, (config, row)
        assert row["client_cpu_percent"] >= 0 and row["p99_ms"] is not None
    assert set(report["P1"]) == {"baseline", "baseline-batched", "inmemory", "redis", "redis-2nodes"}
    assert len(report["P2"]) == 3
    assert report["P3"]["in_process"]["packets_per_s"] > 0
    assert report["P3"]["inmemory"]["ladder"][0]["delivered_copies_per_s"] > 0
    (apart,) = report["P3"]["redis-worker"]["ladder"]  # the archive worker in its own process stored
    assert apart["archived_per_s"] > 0 and apart["worker_cpu_percent"] > 0, apart
    for cost in report["P3archive"].values():  # the archive stored what the daemon took in
        assert cost["on"]["archived_per_s"] > 0 and cost["off"]["archived_per_s"] == 0, cost
    assert [row["nodes"] for row in report["P6_cost"]] == [1, 2, 4]
    for row in report["P6_cost"]:  # every node's clients got the feed; Redis was asked
        assert row["delivered_copies_per_s"] > 0 and row["failed_clients"] == 0, row
        assert row["redis_commands_per_packet_per_node"] > 0 and len(row["server_cpu_each"]) == row["nodes"]
    assert [row["clients"] for row in report["P4"]] == [5, 10]
    assert report["P5"]["online"] == 20 and report["P5"]["failed_clients"] == 0
    for room in report["chat"].values():  # every member got the messages that were stored
        (chat_step,) = room["ladder"]
        assert chat_step["stored_per_s"] > 0 and chat_step["copies_per_s"] >= 0.9 * 4 * chat_step["stored_per_s"], room
    for config in ("baseline-tcp", "baseline-tcp-batched", "igate"):
        (row,) = report["igate_ladders"][config]
        assert row["delivered_copies_per_s"] > 0 and row["failed_clients"] == 0, (config, row)
    for title in (
        "P1/P6",
        "server CPU per delivered copy",
        "P6 as cost",
        "P2:",
        "P3:",
        "archive off vs on",
        "P4:",
        "P5:",
        "MQTT:",
    ):
        assert title in result.stdout
    assert report["mqtt"]["bridge"]["packets_per_s"] > 0 and report["mqtt"]["bare"]["packets_per_s"] > 0
    for vendor, figures in report["archive"].items():  # both databases filled, then queried
        assert figures["stored"] == 2000 and figures["packets_held"] == 2000, (vendor, figures)
        assert {timed["status"] for timed in figures["api"].values()} <= {200, 404}, (vendor, figures)
    assert set(report["archive"]) == {"SQLite", "PostgreSQL"}
    for title in ("iGate server port:", "chat (inmemory):", "chat (redis):", "archive (SQLite)"):
        assert title in result.stdout

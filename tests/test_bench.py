"""The benchmark harness runs (tiny numbers): it must not rot between `make bench` runs."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_quick_bench_runs_and_reports(tmp_path):
    output = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--output", str(output)],
                            cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    report = json.loads(output.read_text())
    assert report["ingest"]["packets_per_s"] > 0
    servers = {row["server"] for row in report["fanout"]}
    assert servers == {"baseline", "daemon"}
    for row in report["fanout"]:
        assert row["delivered_copies_per_s"] > 0 and row["failed_clients"] == 0, row
    assert "websockets.broadcast" in result.stdout and "daemon (in-memory)" in result.stdout
    assert report["chat"]["stored_per_s"] > 0 and report["chat"]["copies_per_s"] > 0

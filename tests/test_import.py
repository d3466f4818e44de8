"""``aprs-gateway import`` (gateway/importer.py) on a real database: captures of every
format, each packet at its own time, nothing stored twice, older packets never move a
station back; and the command line's progress (a bar on a terminal, log lines elsewhere)."""

import os
import shutil
import subprocess
import sys

import pytest

from gateway.importer import import_files
from gateway.models import Packet, Station
from tests.conftest import REPO, require
from tests.data import DATA

pytestmark = pytest.mark.django_db


def test_aprx_log_imports_once_with_its_own_times():
    report = import_files([DATA / "aprx-rf-sample.log"])
    assert (report.lines, report.packets, report.stored, report.already) == (17, 16, 16, 0)
    assert dict(report.not_packets) == {"dropped by aprx": 1}
    assert Packet.objects.count() == 16
    wx = Station.objects.get(callsign="SR9WXM")
    assert (wx.first_heard.isoformat(), wx.last_heard.isoformat()) == (
        "2023-12-24T12:07:51.523000+00:00",
        "2023-12-24T12:12:03.020000+00:00",
    )
    raw = {bytes(row) for row in Packet.objects.values_list("raw", flat=True)}
    assert b"SP9HZI-1>APRS,SR9WXP*,WIDE1*,SP9INZ-10*:=5004.35N/01953.72E-FOA-Pack,Czesiek\xbe/3" in raw

    again = import_files([DATA / "aprx-rf-sample.log"])
    assert (again.stored, again.already) == (0, 16)
    assert Packet.objects.count() == 16


def test_dry_run_stores_nothing(tmp_path):
    report = import_files([DATA / "aprx-rf-sample.log"], dry_run=True)
    assert report.stored == 16
    assert Packet.objects.count() == 0


def test_an_older_capture_does_not_move_a_station_back(tmp_path):
    newer = tmp_path / "newer.log"
    older = tmp_path / "older.log"
    newer.write_bytes(b"2024-01-01 10:00:00.000 APRSIS    R N0CAR>APRS:!4903.00N/07201.00W>new\n")
    older.write_bytes(b"2023-01-01 10:00:00.000 APRSIS    R N0CAR>APRS:!1000.00N/01000.00W>old\n")
    import_files([newer])
    import_files([older])
    car = Station.objects.get(callsign="N0CAR")
    assert (car.comment, car.packet_count) == ("new", 2)
    assert car.first_heard.year == 2023 and car.last_heard.year == 2024


def test_tnc2_capture_and_its_progress(tmp_path):
    capture = tmp_path / "capture.txt"
    shutil.copyfile(DATA / "benjojo_aprstestdata.txt", capture)
    seen = []
    report = import_files([capture], progress=lambda done, total: seen.append((done, total)))
    assert report.formats == {str(capture): "tnc2"}
    assert report.stored == report.packets > 1000
    assert seen[-1][0] == seen[-1][1] == report.lines
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def cli_import(*args, database):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    subprocess.run(
        [sys.executable, "-m", "gateway.daemon.cli", "migrate", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        [sys.executable, "-m", "gateway.daemon.cli", "import", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_line_without_a_terminal_logs_progress_and_counts(tmp_path):
    result = cli_import(str(DATA / "aprx-rf-sample.log"), str(tmp_path / "missing.log"), database=tmp_path / "db")
    assert result.returncode == 2
    assert "missing.log" in result.stderr  # a missing file is one clear line
    result = cli_import(str(DATA / "aprx-rf-sample.log"), database=tmp_path / "db")
    assert result.returncode == 0, result.stderr
    assert "17 of 17 lines (100%)" in result.stderr
    assert "17 lines, 16 packets: stored 16, 0 already in the archive" in result.stdout
    assert "not imported: 1 (dropped by aprx)" in result.stdout


def test_command_line_on_a_terminal_draws_a_progress_bar(tmp_path):
    tmux = shutil.which("tmux")
    require(tmux, "tmux (make test installs it)")
    database = tmp_path / "db.sqlite3"
    cli_import("--dry-run", str(DATA / "aprx-rf-sample.log"), database=database)  # migrates
    session = f"import-{os.getpid()}"
    command = (
        f"DJANGO_SETTINGS_MODULE=config.settings DEBUG=true DATABASE_URL=sqlite:///{database} "
        f"{sys.executable} -m gateway.daemon.cli import {DATA / 'sp8ebc_rf_lines.txt'}; sleep 30"
    )
    subprocess.run(
        [tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "20", "-c", str(REPO), command], check=True
    )
    try:
        screen = ""
        for _ in range(600):
            screen = subprocess.run([tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if "stored" in screen:
                break
            subprocess.run(["sleep", "0.1"])
        (tmp_path / "tmux-screen.txt").write_text(screen)
        assert "100%|" in screen and "lines/s" in screen, screen  # tqdm's bar, its rate
        assert "17594 lines, 17594 packets: stored 17594, 0 already in the archive" in screen
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)

"""Archive: sustained insert rate of store_batch, and API latency over a full archive.

``python -m bench.archive --packets 1000000 [--postgres | --database-url URL]``
fills a fresh database with the corpus, replayed with fresh timestamps and
spread over many callsigns and positions (so the station table grows as on a
busy network), then times /api/stations/?bbox, /api/packets/?callsign and a
station's track through Django's test client. ``--postgres`` makes the
database ``aprs_gateway_bench`` afresh on the local PostgreSQL (its Unix
socket, as ``make test`` sets it up). ``make bench`` runs both (``run``).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.fanout import REPO

POSTGRES_BENCH_DATABASE = "aprs_gateway_bench"
POSTGRES_SOCKET = "/var/run/postgresql"


def run(packets, database_url=None, postgres=False, query_only=False):
    """Fill (unless ``query_only``) and time the API; return what bench/archive_run.py measured."""
    with tempfile.TemporaryDirectory() as tmp:
        if postgres:
            database_url = fresh_postgres_database()
        url = database_url or f"sqlite:///{tmp}/archive.sqlite3"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DEBUG": "false",  # as deployed: with DEBUG on, Django keeps and quotes every query
            "SECRET_KEY": "bench-only-not-secret",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"], cwd=REPO, env=env, check=True, capture_output=True
        )
        report = Path(tmp) / "archive.json"
        count = "0" if query_only else str(packets)
        subprocess.run([sys.executable, "-m", "bench.archive_run", count, str(report)], cwd=REPO, env=env, check=True)
        return json.loads(report.read_text())


def fresh_postgres_database():
    """Drop and create the bench's own database, so every fill starts empty."""
    import psycopg  # the [postgres] extra, installed by `make venv`

    with psycopg.connect(f"dbname=postgres host={POSTGRES_SOCKET}", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_BENCH_DATABASE}")
        admin.execute(f"CREATE DATABASE {POSTGRES_BENCH_DATABASE}")
    return f"postgres:///{POSTGRES_BENCH_DATABASE}?host={POSTGRES_SOCKET}"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.archive")
    parser.add_argument("--packets", type=int, default=100000)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    where.add_argument("--postgres", action="store_true", help=f"a fresh {POSTGRES_BENCH_DATABASE} on the local server")
    parser.add_argument("--query-only", action="store_true", help="time the API on a database filled before")
    args = parser.parse_args(argv)
    run(args.packets, args.database_url, args.postgres, args.query_only)


if __name__ == "__main__":
    main()

"""Archive: sustained insert rate of store_batch, and API latency over a full archive.

``python -m bench.archive --packets 1000000 [--database-url URL]`` fills a
fresh database with the corpus, replayed with fresh timestamps and spread
over many callsigns and positions (so the station table grows as on a busy
network), then times /api/stations/?bbox, /api/packets/?callsign and a
station's track through Django's test client.
"""

import argparse
import os
import subprocess
import sys
import tempfile

from bench.fanout import REPO


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.archive")
    parser.add_argument("--packets", type=int, default=100000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--query-only", action="store_true", help="time the API on a database filled before")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/archive.sqlite3"
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
        count = "0" if args.query_only else str(args.packets)
        subprocess.run([sys.executable, "-m", "bench.archive_run", count], cwd=REPO, env=env, check=True)


if __name__ == "__main__":
    main()

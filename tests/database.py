"""A migrated SQLite database for daemons started by tests and benchmarks
(``aprs-gateway run`` refuses an unmigrated one)."""

import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@functools.cache
def migrated_database():
    """The path of a SQLite file migrated once per process; copy it, do not share it."""
    path = Path(tempfile.mkdtemp(prefix="aprs-gateway-db-")) / "db.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": f"sqlite:///{path}",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path

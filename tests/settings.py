"""Settings for the test process itself (daemons under test get their own environment)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.pop("REDIS_URL", None)  # in-process tests use the in-memory layer

from config.settings import *  # noqa: E402,F401,F403

# Connections opened in Channels' database threads must close after each use,
# or PostgreSQL refuses to drop the test database at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
APRS_MESSAGING = True  # off by default; tests/test_messaging.py checks what "off" looks like

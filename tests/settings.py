"""Settings for the test process itself (daemons under test get their own environment)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.pop("REDIS_URL", None)  # in-process tests use the in-memory layer

from config.settings import *  # noqa: E402,F401,F403

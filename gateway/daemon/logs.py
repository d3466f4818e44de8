"""A limit on repeated log lines, so that nobody outside can fill the disk through the log.

``RepeatLimit`` is a logging filter on the daemon's handler (config/settings.py,
``LOGGING``). Lines are "of a kind" when they share their logger, level and
message template (``"%s logged in, ..."``), whatever the values: a thousand
iGate logins, or a thousand bad frames, are one kind. Each kind may write
``LOG_REPEAT_LIMIT`` lines a minute; the next says that the rest of the minute
is held back, and the first line of the kind after the minute says how many
were. CRITICAL lines always pass.
"""

import logging
import threading
import time

WINDOW = 60.0


class RepeatLimit(logging.Filter):
    def __init__(self, limit=20, window=WINDOW):
        super().__init__()
        self.limit = limit
        self.window = window
        self.kinds = {}  # (logger, level, template) -> [window start, lines written, lines held back]
        self.lock = threading.Lock()  # handlers filter outside their own lock

    def filter(self, record):
        if self.limit <= 0 or record.levelno >= logging.CRITICAL:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self.lock:
            kind = self.kinds.get(key)
            if kind is None or now - kind[0] >= self.window:
                held = kind[2] if kind else 0
                self.kinds[key] = [now, 1, 0]
                if held:
                    record.msg = f"{record.msg} ({held} lines like this held back in the last {self.window:g} s)"
                return True
            kind[1] += 1
            if kind[1] <= self.limit:
                return True
            if kind[1] == self.limit + 1:
                record.msg = f"{record.msg} (more lines like this are held back for up to {self.window:g} s)"
                return True
            kind[2] += 1
            return False

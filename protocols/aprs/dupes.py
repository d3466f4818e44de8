"""The duplicate filter of an APRS-IS server: the same packet twice within 30 s goes once.

Two iGates hear the same transmission, a digipeater repeats what an iGate
heard directly: the copies differ only in their paths. aprsc compares source,
destination and the info field (trailing spaces and CR/LF ignored), and so do
we.
"""

import collections
import time

from . import tnc2

WINDOW = 30.0


def dupe_key(line):
    """Source and destination (case ignored) and the info field, trailing spaces and CR/LF trimmed."""
    try:
        source, dest, _path, info = tnc2.split_header(line)
    except tnc2.HeaderError:
        return line.rstrip(b" \r\n")
    return source.upper() + b">" + dest.upper() + b":" + info.rstrip(b" \r\n")


class DupeFilter:
    def __init__(self, window=WINDOW, clock=time.monotonic):
        self.window = window
        self.clock = clock
        self.seen_at = {}  # key -> time first seen
        self.order = collections.deque()  # (time, key), oldest first

    def first_time(self, line):
        """Record the packet; True unless the same packet was seen within the window."""
        now = self.clock()
        self._expire(now)
        key = dupe_key(line)
        if key in self.seen_at:
            return False
        self.seen_at[key] = now
        self.order.append((now, key))
        return True

    def _expire(self, now):
        while self.order and now - self.order[0][0] >= self.window:
            _, key = self.order.popleft()
            del self.seen_at[key]

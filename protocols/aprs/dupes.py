"""The duplicate filter of an APRS-IS server: the same packet twice within 30 s goes once.

Two iGates hear the same transmission, a digipeater repeats what an iGate
heard directly: the copies differ only in their paths. aprsc compares source,
destination and the info field (trailing spaces and CR/LF ignored), and so do
we.
"""

import collections
import time

WINDOW = 30.0


def dupe_key(line):
    head, _, info = line.partition(b":")
    source, _, rest = head.partition(b">")
    return source.upper() + b">" + rest.split(b",", 1)[0].upper() + b":" + info.rstrip(b" \r\n")


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

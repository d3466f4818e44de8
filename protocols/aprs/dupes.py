"""The duplicate filter of an APRS-IS server: the same packet twice within 30 s goes once.

Two iGates hear the same transmission, a digipeater repeats what an iGate
heard directly: the copies differ in their paths. aprsc's ``dupecheck.c``
defines what counts as the same: the source and the destination *without its
SSID*, exactly as written (case counts), and the info field exactly. Besides
that key it remembers a packet's common manglings, so that a mangled copy that
comes later is a duplicate too: trailing spaces removed; 8-bit bytes removed,
with their 8th bit cleared, or replaced by spaces; control bytes and DEL
removed or replaced by spaces. (The other way round, the original after its
mangled copy, is not a duplicate: aprsc behaves so.)
"""

import collections
import time

from . import tnc2

WINDOW = 30.0
_HIGH = bytes(range(128, 256))
_CONTROL = bytes([*range(0, 32), 127])
_CLEAR_HIGH = bytes(i & 0x7F for i in range(256))
_HIGH_TO_SPACE = bytes.maketrans(_HIGH, b" " * len(_HIGH))
_CONTROL_TO_SPACE = bytes.maketrans(_CONTROL, b" " * len(_CONTROL))


def dupe_key(line):
    """``SRC>DEST`` (destination SSID left out) and the info field, as aprsc compares them."""
    try:
        source, dest, _path, info = tnc2.split_header(line)
    except tnc2.HeaderError:
        return line
    return source + b">" + dest.split(b"-", 1)[0] + b":" + info


def manglings(key):
    """The mangled copies of a key that count as duplicates of it later on."""
    head, _, info = key.partition(b":")
    variants = {
        info.rstrip(b" "),
        info.translate(None, _HIGH),
        bytes(b & 0x7F for b in info),
        info.translate(bytes.maketrans(_HIGH, b" " * len(_HIGH))),
        info.translate(None, _CONTROL),
        info.translate(bytes.maketrans(_CONTROL, b" " * len(_CONTROL))),
    }
    variants.discard(info)
    return [head + b":" + variant for variant in variants]


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
        for remembered in (key, *manglings(key)):
            if remembered not in self.seen_at:
                self.seen_at[remembered] = now
                self.order.append((now, remembered))
        return True

    def _expire(self, now):
        while self.order and now - self.order[0][0] >= self.window:
            _, key = self.order.popleft()
            del self.seen_at[key]

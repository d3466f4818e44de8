"""The one backoff of every retry loop (links, hubs, workers, the channel layer).

Exponential from ``minimum`` to ``maximum``, with jitter: each wait is half its
ceiling plus a random part of the other half, so the nodes and consumers that
lost the same Redis or server do not all come back in the same instant. A loop
calls ``next()`` after each failure and ``reset()`` once it works again.
"""

import random


class Backoff:
    def __init__(self, minimum, maximum):
        self.minimum = minimum
        self.maximum = maximum
        self.failures = 0

    def next(self):
        """Seconds to wait before the next attempt, counting one failure more."""
        self.failures += 1
        ceiling = min(self.maximum, self.minimum * 2 ** min(self.failures - 1, 32))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def reset(self):
        self.failures = 0

"""Logging what can repeat thousands of times a second (a flood of bad lines, a refused
connection per attempt) at most once per interval, so the log stays readable."""

import time


class Occasionally:
    """``if occasionally.due(): logger.warning(...)``: true at most once per ``interval`` s."""

    def __init__(self, interval):
        self.interval = interval
        self.last = float("-inf")

    def due(self):
        now = time.monotonic()
        if now - self.last < self.interval:
            return False
        self.last = now
        return True

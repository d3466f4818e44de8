"""Split an APRS-IS byte stream into lines, without ever decoding it.

twisted's LineReceiver is not used: on an over-long line it throws away the
whole buffer, losing the good lines queued behind it. Here an over-long line
is skipped up to its terminator and counted, and everything after it survives.
"""

MAX_LINE = 512
"""Bytes in one APRS-IS line including its CRLF (aprsc's limit)."""

MAX_CONTENT = MAX_LINE - 2


class LineSplitter:
    """Feed it chunks of bytes; it returns the complete lines they finish.

    A line ends at CR or LF, as aprsc reads it (CRLF, a bare LF and a bare CR
    alike); empty lines are not returned. Returned lines carry no terminator.
    A line longer than ``MAX_CONTENT`` bytes is dropped and counted in
    ``oversized``.
    """

    def __init__(self, max_content=MAX_CONTENT):
        self.max_content = max_content
        self.oversized = 0
        self._buffer = b""
        self._discarding = False

    def feed(self, data):
        *finished, rest = (self._buffer + data).replace(b"\r", b"\n").split(b"\n")
        lines = []
        for line in finished:
            if self._discarding:  # the end of an over-long line already counted
                self._discarding = False
            elif len(line) > self.max_content:
                self.oversized += 1
            elif line:
                lines.append(line)
        if len(rest) > self.max_content:
            if not self._discarding:
                self.oversized += 1
                self._discarding = True
            rest = b""
        self._buffer = rest
        return lines

    @property
    def pending(self):
        """Bytes of an unfinished line (lost if the connection ends now)."""
        return len(self._buffer)

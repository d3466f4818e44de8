"""JSON text frames with a ``type``: the checks every websocket endpoint shares.

``parse_frame`` turns a received frame into a dict or raises ``FrameError``
with a reason for the client. ``BadFrames`` counts refusals: after
``MAX_BAD_FRAMES`` the endpoint closes with ``POLICY_VIOLATION``.
"""

import json

from gateway.names import CLOSE_EXTENSION

MAX_FRAME = 4096
MAX_BAD_FRAMES = 20
POLICY_VIOLATION = 1008


class FrameError(ValueError):
    pass


def parse_frame(text_data, bytes_data, types):
    """The frame as a dict whose ``type`` is one of ``types``."""
    if text_data is None:
        raise FrameError("binary frames are not accepted; send JSON text")
    if len(text_data.encode("utf-8")) > MAX_FRAME:
        raise FrameError(f"frame larger than {MAX_FRAME} bytes")
    try:
        frame = json.loads(text_data)
    except ValueError as exc:
        raise FrameError(f"bad JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise FrameError("a frame must be a JSON object with a 'type'")
    if not _valid_text(frame):
        raise FrameError("text must be valid Unicode (a lone surrogate such as \\ud800 is not)")
    if frame.get("type") not in types:
        raise FrameError(f"unknown type {frame.get('type')!r}; expected one of {', '.join(sorted(types))}")
    return frame


class BadFrames:
    """Counts refused frames; ``refused()`` is True once the client has had enough chances."""

    def __init__(self, limit=MAX_BAD_FRAMES):
        self.limit = limit
        self.count = 0

    def refused(self):
        self.count += 1
        return self.count >= self.limit


def _valid_text(value):
    """No string inside holds a lone surrogate (JSON lets ``\\ud800`` through; UTF-8 cannot carry it)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_valid_text(key) and _valid_text(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_valid_text(item) for item in value)
    return True


def dumps(content):
    """A frame's text, which can always be sent: a lone surrogate that got this far is
    written as an escape rather than failing the send."""
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(content, separators=(",", ":"))
    return text


def close_for_policy(scope):
    """Close with 1008 through our server's extension; False where it is not offered
    (the caller then closes through Channels)."""
    extension = scope.get("extensions", {}).get(CLOSE_EXTENSION)
    if extension is None:
        return False
    extension["close"](POLICY_VIOLATION, "too many bad frames")
    return True

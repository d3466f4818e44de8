"""JSON text frames with a ``type``: the checks every websocket endpoint shares.

``parse_frame`` turns a received frame into a dict or raises ``FrameError``
with a reason for the client. ``BadFrames`` counts refusals: after
``MAX_BAD_FRAMES`` the endpoint closes with ``POLICY_VIOLATION``.
"""

import json

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


def dumps(content):
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False)

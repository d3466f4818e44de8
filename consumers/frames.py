"""JSON text frames with a ``type``: the checks every websocket endpoint shares.

``parse_frame`` turns a received frame into a dict or raises ``FrameError``
with a reason for the client. ``BadFrames`` counts refusals: after
``MAX_BAD_FRAMES`` the endpoint closes with ``POLICY_VIOLATION``.
"""

import json

from django.utils.translation import gettext

from gateway.names import CLOSE_EXTENSION

MAX_FRAME = 4096
MAX_BAD_FRAMES = 20
POLICY_VIOLATION = 1008


class FrameError(ValueError):
    pass


def parse_frame(text_data, bytes_data, types):
    """The frame as a dict whose ``type`` is one of ``types``."""
    if text_data is None:
        raise FrameError(gettext("binary frames are not accepted; send JSON text"))
    if len(text_data.encode("utf-8")) > MAX_FRAME:
        raise FrameError(gettext("frame larger than %(bytes)s bytes") % {"bytes": MAX_FRAME})
    try:
        frame = json.loads(text_data)
    except ValueError as exc:
        raise FrameError(gettext("bad JSON: %(reason)s") % {"reason": exc}) from None
    if not isinstance(frame, dict):
        raise FrameError(gettext("a frame must be a JSON object with a 'type'"))
    if not _valid_text(frame):
        raise FrameError(gettext("text must be valid Unicode (a lone surrogate such as \\ud800 is not)"))
    if frame.get("type") not in types:
        raise FrameError(
            gettext("unknown type %(type)r; expected one of %(types)s")
            % {"type": frame.get("type"), "types": ", ".join(sorted(types))}
        )
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


def close_for_policy(scope):
    """Close with 1008 through our server's extension; False where it is not offered
    (the caller then closes through Channels)."""
    extension = scope.get("extensions", {}).get(CLOSE_EXTENSION)
    if extension is None:
        return False
    extension["close"](POLICY_VIOLATION, "too many bad frames")
    return True

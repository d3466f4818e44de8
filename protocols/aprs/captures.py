"""Reading packet captures: which packet each line holds, and when it was heard.

Three formats, told apart by their first lines (``detect``):

- ``tnc2``: one packet per line, ``SRC>DEST,PATH:info``, nothing else (the
  APRS-IS stream, ``aprs-gateway replay`` files). No time is written: the
  reader gives every line the file's modification time (to the whole
  millisecond), one microsecond apart in file order, so a second import finds
  the same times. A time with a fraction of half a microsecond would round two
  lines to the same microsecond, and two equal lines there to one packet.
- ``aprx``: aprx's ``aprx-rf.log``, ``2023-12-24 12:07:19.102 PORT R packet``
  (UTC; ``R`` received, ``T`` transmitted, ``d`` dropped by aprx's rules,
  which is not imported). Bytes aprx could not print are written ``<0xNN>``
  (sign-extended as ``<0xffffffNN>``) and turned back into bytes.
- ``direwolf``: Dire Wolf's console output, ``[0.2] packet`` or, with ``-T
  "%Y-%m-%d %H:%M:%S"``, ``[0.2 2026-11-28 14:44:22] packet`` (local time of
  the machine that logs). Other lines (audio levels, decoded fields) are not
  packets and are passed over; control bytes come as ``<0xNN>``. Without
  ``-T``, times are made as for ``tnc2``.

Each reader yields ``(line_number, packet bytes or None, unix time or None,
reason)``: a line that is a packet has its bytes and time; one that is not has
the reason, for counting. Nothing is ever decoded as a whole: lines are bytes.
"""

import math
import re
from datetime import datetime, timezone

FORMATS = ("tnc2", "aprx", "direwolf")

_APRX = re.compile(rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\S+) +([RTd]) (.*)$")
_DIREWOLF = re.compile(rb"^\[\d+(?:\.\d+)*[A-Z]?(?: ([^\]]+))?\] (.*)$")
_TNC2 = re.compile(rb"^[^>\s:]{1,15}>[^:\s]+:")
_ESCAPE = re.compile(rb"<0x(?:ff){0,3}([0-9a-f]{2})>")


class CaptureError(ValueError):
    """A capture whose format cannot be told, or a format we do not read."""


def unescape(data):
    """``<0x1c>`` (and aprx's sign-extended ``<0xffffffbe>``) back into the byte."""
    return _ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), data)


def detect(lines):
    """The format of a capture from its first lines (bytes, without line ends)."""
    sample = [line for line in lines[:50] if line.strip()]
    for name, pattern in (("aprx", _APRX), ("direwolf", _DIREWOLF)):
        if sample and sum(bool(pattern.match(line)) for line in sample) * 2 >= len(sample):
            return name
    if sample and sum(bool(_TNC2.match(line)) for line in sample) * 2 >= len(sample):
        return "tnc2"
    raise CaptureError("not a TNC2, aprx-rf.log or direwolf capture; name the format with --format")


def read(lines, fmt, file_time):
    """The packets of a capture's lines: see the module docstring."""
    if fmt not in FORMATS:
        raise CaptureError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    reader = {"tnc2": _tnc2, "aprx": _aprx, "direwolf": _direwolf}[fmt]
    file_time = math.floor(file_time * 1000) / 1000
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield (number, *reader(line, number, file_time))


def _tnc2(line, number, file_time):
    if not _TNC2.match(line):
        return None, None, "not a TNC2 packet"
    return line, file_time + number * 1e-6, None


def _aprx(line, _number, _file_time):
    match = _APRX.match(line)
    if match is None:
        return None, None, "not an aprx-rf.log line"
    stamp, _port, direction, packet = match.groups()
    if direction == b"d":
        return None, None, "dropped by aprx"
    when = datetime.strptime(stamp.decode("ascii"), "%Y-%m-%d %H:%M:%S.%f" if b"." in stamp else "%Y-%m-%d %H:%M:%S")
    return _packet(unescape(packet), when.replace(tzinfo=timezone.utc).timestamp())


def _direwolf(line, number, file_time):
    match = _DIREWOLF.match(line)
    if match is None:
        return None, None, "direwolf output that is not a packet"
    stamp, packet = match.groups()
    when = file_time + number * 1e-6  # without -T, as for tnc2
    if stamp is not None:
        try:
            when = datetime.fromisoformat(stamp.decode("ascii").strip()).astimezone().timestamp()
        except ValueError:
            return None, None, 'direwolf time stamp not in ISO form (-T "%Y-%m-%d %H:%M:%S")'
    return _packet(unescape(packet), when)


def _packet(packet, when):
    if not _TNC2.match(packet):
        return None, None, "not a TNC2 packet"
    return packet, when, None

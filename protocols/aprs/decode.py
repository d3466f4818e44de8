"""Turn one received line into the body of an ``aprs.packet`` event.

A line aprslib cannot decode is still real traffic: it travels on with
``format: "unknown"``, the parser's reason, and whatever of the TNC2 header
(source, destination, path) could be read.
"""

import logging

import aprslib
from aprslib.exceptions import ParseError, UnknownFormat

# aprslib logs every failure at DEBUG/ERROR on its own loggers; we report them.
logging.getLogger("aprslib").setLevel(logging.CRITICAL)


def decode_line(raw, received):
    """Return ``{"raw", "text", "received", "packet"}`` for a line of bytes."""
    return {
        "raw": raw,
        "text": raw.decode("utf-8", "replace"),
        "received": received,
        "packet": decode_packet(raw),
    }


def decode_packet(raw):
    """Decode with aprslib; on failure describe the line as ``unknown``."""
    try:
        packet = aprslib.parse(raw)
    except (ParseError, UnknownFormat) as exc:
        return _unknown(raw, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # aprslib has raised others on odd input
        return _unknown(raw, f"{type(exc).__name__}: {exc}")
    packet.pop("raw", None)
    return packet


def _unknown(raw, error):
    packet = {"format": "unknown", "error": error}
    packet.update(parse_header(raw))
    return packet


def parse_header(raw):
    """``SRC>DEST,PATH:`` as {"from", "to", "path"}; {} if there is no header."""
    head, sep, _ = raw.partition(b":")
    source, arrow, rest = head.partition(b">")
    if not sep or not arrow or not source:
        return {}
    dest, *path = rest.decode("ascii", "replace").split(",")
    return {
        "from": source.decode("ascii", "replace"),
        "to": dest,
        "path": path,
    }

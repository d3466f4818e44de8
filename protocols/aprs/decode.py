"""Turn one received line into the body of an ``aprs.packet`` event.

aprslib decodes what it can; what it refuses goes to our own decoders
(``protocols/aprs/parsing``: telemetry, items, NMEA, capabilities). A line
neither can decode is still real traffic: it travels on with ``format:
"unknown"``, the reason, and whatever of the TNC2 header (source,
destination, path) could be read.
"""

import logging

import aprslib

from protocols.aprs.parsing import DECODERS, decode_extra

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
    """Decode with aprslib, then our decoders; failing both, describe the line as ``unknown``."""
    try:
        packet = aprslib.parse(raw)
    except Exception as exc:  # ParseError, UnknownFormat, and others on odd input
        return _decode_extra(raw, f"{type(exc).__name__}: {exc}")
    packet.pop("raw", None)
    return packet


def _decode_extra(raw, aprslib_error):
    header = parse_header(raw)
    body = raw.partition(b":")[2].decode("utf-8", "replace")
    if not header or body[:1] not in DECODERS:
        return _unknown(raw, aprslib_error)
    try:
        packet = decode_extra(body)
    except ValueError as exc:
        return _unknown(raw, f"ParseError: {exc}")
    packet.update(header)
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


def message_addressee(raw):
    """The addressee of a message line (``SRC>DEST::CALL     :text``), spaces stripped;
    None when the info field is not a message."""
    info = raw.partition(b":")[2]
    if info[:1] != b":":
        return None
    return info[1:10].decode("ascii", "replace").strip()

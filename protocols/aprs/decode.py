"""Turn one received line into the body of an ``aprs.packet`` event.

aprslib decodes what it can, and ``corrections.py`` mends the fields it gets
wrong; what it refuses goes to our own decoders (``protocols/aprs/parsing``:
telemetry, items, NMEA, capabilities). A line
neither can decode is still real traffic: it travels on with ``format:
"unknown"``, the reason, and whatever of the TNC2 header (source,
destination, path) could be read.
"""

import logging

import aprslib

from .corrections import correct
from .parsing import DECODERS, decode_extra
from .tnc2 import HeaderError, header_fields, info_field, join_header, split_header

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
        packet = _aprslib(raw)
    except Exception as exc:  # noqa: BLE001  (aprslib raises ParseError, UnknownFormat, and others on odd input)
        return _decode_extra(raw, f"{type(exc).__name__}: {exc}")
    packet.pop("raw", None)
    return correct(packet, raw)


def _aprslib(raw):
    """aprslib's decoding. A destination of 7 to 9 characters (``APRSNDS``) cannot come
    from AX.25 but is valid on APRS-IS (aprsc passes up to 9): aprslib refuses the whole
    line for it, so the info field is decoded under the first 6 and the real one put back."""
    try:
        return aprslib.parse(raw)
    except aprslib.ParseError as refused:
        try:
            source, dest, path, info = split_header(raw)
        except HeaderError:
            raise refused from None
        mic_e = info[:1] in (b"`", b"'")  # its latitude is the destination: no guessing
        if not 6 < len(dest) <= 9 or mic_e:
            raise
        packet = aprslib.parse(join_header(source, dest[:6], path, info))
        packet["to"] = dest.decode("ascii", "replace")
        return packet


def _decode_extra(raw, aprslib_error):
    header = header_fields(raw)
    body = info_field(raw).decode("utf-8", "replace")
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
    packet.update(header_fields(raw))
    return packet


def failure_reason(error):
    """A short, low-cardinality reason for counting undecoded packets: the exception
    name and the first words of its message."""
    kind, _, text = error.partition(": ")
    words = text.replace("'", "").split()
    return " ".join([kind, *words[:6]])[:60]

"""Our own decoders for the formats aprslib 0.7.2 refuses, one module per format.

aprslib raises on about a tenth of real APRS-IS traffic (the captures in ``tests/data``):
telemetry reports (``T#``), items (``)``), raw NMEA (``$``) and station
capabilities (``<``). ``decode_extra`` is asked only after aprslib failed; it
returns the packet's fields (without the header), or raises ``ValueError``
with the reason, which the line then carries as ``format: "unknown"``.
"""

from . import capabilities, item, nmea, telemetry

DECODERS = {
    "T": telemetry.decode,
    ")": item.decode,
    "$": nmea.decode,
    "<": capabilities.decode,
}


def decode_extra(body):
    """``body``: the information field (after the ``:``) as text."""
    decoder = DECODERS.get(body[:1])
    if decoder is None:
        raise ValueError(f"no decoder for data type {body[:1]!r}")
    return decoder(body)

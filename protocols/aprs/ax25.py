"""AX.25 UI frames <-> TNC2 lines (``SRC>DEST,DIGI1,DIGI2*:info``), byte for byte.

An address is six characters, each shifted left one bit and padded with
spaces, then a byte ``HRRSSSSE``: SSID in bits 1-4, E (bit 0) set on the last
address, and for digipeaters H (bit 7), "has been repeated". APRS uses UI
frames: control 0x03, protocol id 0xF0. In TNC2 text, as direwolf and aprx
write it, the last digipeater that has repeated the frame carries a ``*``.
Reference: AX.25 2.2, section 3.12; APRS 1.0.1, chapter 4.
"""

import re

from . import tnc2

UI, NO_LAYER3 = 0x03, 0xF0
MAX_DIGIPEATERS = 8
CALLSIGN = re.compile(rb"[A-Z0-9]{1,6}(-(1[0-5]|[1-9]))?")


def decode_address(field):
    """(callsign text, has-been-repeated, last address) from seven bytes."""
    if any(byte & 1 for byte in field[:6]):
        raise ValueError("AX.25: address character with the extension bit set")
    call = bytes(byte >> 1 for byte in field[:6]).rstrip(b" ")
    if not CALLSIGN.fullmatch(call):
        raise ValueError(f"AX.25: {call!r} is not a callsign")
    ssid = (field[6] >> 1) & 0x0F
    text = call.decode("ascii") + (f"-{ssid}" if ssid else "")
    return text, bool(field[6] & 0x80), bool(field[6] & 0x01)


def to_tnc2(frame):
    """The TNC2 line (bytes) of an AX.25 UI frame; ValueError with the reason otherwise."""
    addresses = []
    offset = 0
    while True:
        if len(frame) < offset + 7:
            raise ValueError("AX.25: frame ends inside the address field")
        addresses.append(decode_address(frame[offset : offset + 7]))
        offset += 7
        if addresses[-1][2]:
            break
        if len(addresses) == 2 + MAX_DIGIPEATERS:
            raise ValueError("AX.25: more than 8 digipeaters")
    if len(addresses) < 2:
        raise ValueError("AX.25: no source address")
    if frame[offset : offset + 2] != bytes([UI, NO_LAYER3]):
        raise ValueError(f"AX.25: not a UI frame with PID F0 (control/PID {frame[offset : offset + 2].hex()})")
    (dest, _, _), (source, _, _), *digis = addresses
    last_repeated = max((i for i, (_, repeated, _) in enumerate(digis) if repeated), default=-1)
    path = [call + ("*" if i == last_repeated else "") for i, (call, _, _) in enumerate(digis)]
    return tnc2.join_header(
        source.encode("ascii"), dest.encode("ascii"), [hop.encode("ascii") for hop in path], frame[offset + 2 :]
    )


def encode_address(text, last, repeated=False, command=False):
    call, _, ssid = text.partition("-")
    if not CALLSIGN.fullmatch(text.encode("ascii", "replace")):
        raise ValueError(f"AX.25: {text!r} is not a callsign")
    shifted = bytes(byte << 1 for byte in call.ljust(6).encode("ascii"))
    flags = 0x60 | (int(ssid or 0) << 1) | (0x80 if repeated or command else 0) | (0x01 if last else 0)
    return shifted + bytes([flags])


def from_tnc2(line):
    """An AX.25 UI frame for a TNC2 line (bytes), to transmit through a TNC."""
    source, dest, path, info = tnc2.split_header(line)  # HeaderError is a ValueError
    path = [hop.decode("ascii", "replace") for hop in path]
    if len(path) > MAX_DIGIPEATERS:
        raise ValueError("TNC2: more than 8 digipeaters")
    starred = max((i for i, hop in enumerate(path) if hop.endswith("*")), default=-1)
    calls = [dest.decode("ascii", "replace"), source.decode("ascii", "replace"), *(hop.rstrip("*") for hop in path)]
    fields = [
        encode_address(call, last=i == len(calls) - 1, repeated=2 <= i <= starred + 2, command=i == 0)
        for i, call in enumerate(calls)
    ]
    return b"".join(fields) + bytes([UI, NO_LAYER3]) + info

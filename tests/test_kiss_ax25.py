"""KISS framing and AX.25 UI frames <-> TNC2 lines, on hand-made frames and real RF traffic."""

import pytest

from protocols.aprs.ax25 import from_tnc2, to_tnc2
from protocols.aprs.kiss import FEND, FESC, KISSDecoder, data_frame
from tests.data import corpus_lines


def address(call, ssid, flags):
    return bytes(byte << 1 for byte in call.ljust(6).encode()) + bytes([flags | (ssid << 1)])


def test_a_hand_made_ui_frame_reads_as_its_tnc2_line():
    frame = (
        address("APRS", 0, 0xE0)
        + address("N0CALL", 9, 0x60)
        + address("WIDE1", 1, 0xE0)
        + address("WIDE2", 2, 0x61)
        + bytes([0x03, 0xF0])
        + b"!4903.50N/07201.75W>test \xb0"
    )
    assert to_tnc2(frame) == b"N0CALL-9>APRS,WIDE1-1*,WIDE2-2:!4903.50N/07201.75W>test \xb0"
    assert from_tnc2(b"N0CALL-9>APRS,WIDE1-1*,WIDE2-2:!4903.50N/07201.75W>test \xb0") == frame


@pytest.mark.parametrize(
    "frame, reason",
    [
        (address("APRS", 0, 0xE0) + address("N0CALL", 0, 0x61) + bytes([0x3F, 0xF0]) + b"x", "not a UI frame"),
        (address("APRS", 0, 0xE0)[:5], "ends inside the address field"),
        (address("APRS", 0, 0xE1) + bytes([0x03, 0xF0]), "no source address"),
        (address("ap rs", 0, 0xE0) + address("N0CALL", 0, 0x61) + bytes([0x03, 0xF0]), "is not a callsign"),
    ],
)
def test_frames_that_are_not_aprs_say_why(frame, reason):
    with pytest.raises(ValueError, match=reason):
        to_tnc2(frame)


def canonical(line):
    """TNC2 as direwolf writes it: only the last repeated digipeater keeps its ``*``."""
    head, _, info = line.partition(b":")
    source_dest, *path = head.split(b",")
    starred = max((i for i, hop in enumerate(path) if hop.endswith(b"*")), default=-1)
    path = [hop.rstrip(b"*") + (b"*" if i == starred else b"") for i, hop in enumerate(path)]
    return b",".join([source_dest, *path]) + b":" + info


def test_real_rf_traffic_survives_the_round_trip_byte_for_byte():
    lines = corpus_lines("sp8ebc_rf_lines.txt")
    converted = 0
    for line in lines:
        try:
            frame = from_tnc2(line)
        except ValueError:
            continue  # not an AX.25 header (third-party or malformed): nothing to carry on RF
        assert to_tnc2(frame) == canonical(line), line
        converted += 1
    assert converted > 0.95 * len(lines)


def test_kiss_frames_escape_and_come_back_whole_across_reads():
    payloads = [bytes([0x01, FEND, 0x02, FESC, 0x03]), b"plain", bytes(range(256))]
    stream = b"".join(data_frame(p, port=n) for n, p in enumerate(payloads))
    stream = bytes([FEND, 0x01, 0x40, FEND]) + stream  # a TX-delay command: not data, skipped
    decoder = KISSDecoder()
    frames = []
    for start in range(0, len(stream), 7):  # as the socket hands it over, in small pieces
        frames += decoder.feed(stream[start : start + 7])
    assert frames == [(n, p) for n, p in enumerate(payloads)]
    assert decoder.bad == 0


def test_a_bad_escape_loses_that_frame_only():
    decoder = KISSDecoder()
    frames = decoder.feed(bytes([FEND, 0x00, FESC, 0x41, FEND]) + data_frame(b"next"))
    assert frames == [(0, b"next")]
    assert decoder.bad == 1 and "FESC followed by 0x41" in decoder.last_error

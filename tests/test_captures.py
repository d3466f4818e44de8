"""Reading captures (protocols/aprs/captures.py): formats, times, escapes, what is not a packet."""

from datetime import datetime, timezone

import pytest

from protocols.aprs.captures import CaptureError, detect, read, unescape
from tests.data import DATA


def aprx_sample():
    return (DATA / "aprx-rf-sample.log").read_bytes().split(b"\n")


def test_aprx_lines_keep_their_time_and_their_bytes():
    lines = aprx_sample()
    assert detect(lines) == "aprx"
    rows = list(read(lines, "aprx", file_time=0.0))
    first = rows[0]
    assert first[1] == b"SR9NSK-1>AKLPRZ:!4941.15N/01901.90E_225/027g037t030r...p...P...b08614h94"
    assert first[2] == datetime(2023, 12, 24, 12, 7, 19, 102000, tzinfo=timezone.utc).timestamp()
    packets = {packet for _, packet, _, _ in rows if packet}
    assert b'SQ6NDL-9>UP3P45,WIDE1-1,WIDE2-1:`..Cl!\x1c>/]"6_}439.387MHz GRZEGORZ 73*=' in packets
    assert b"SP9HZI-1>APRS,SR9WXP*,WIDE1*,SP9INZ-10*:=5004.35N/01953.72E-FOA-Pack,Czesiek\xbe/3" in packets
    reasons = [reason for _, packet, _, reason in rows if packet is None]
    assert reasons == ["dropped by aprx"]


def test_direwolf_console_lines_with_and_without_time_stamps():
    lines = [
        b"N0CALL audio level = 50(26/25)   [NONE]   ||||||___",
        b"[0.2 2026-11-28 14:44:22] N0CALL>APRS,WIDE1-1:!4237.14N/07120.83W#hello \xb0 deg",
        b"[0] N0CALL>APRS:>no time <0x7f>",
        b"N 42 37.1400, W 071 20.8300",
    ]
    assert detect(lines) == "direwolf"
    rows = list(read(lines, "direwolf", file_time=1000.0))
    assert rows[1][1] == b"N0CALL>APRS,WIDE1-1:!4237.14N/07120.83W#hello \xb0 deg"
    assert rows[1][2] == datetime(2026, 11, 28, 14, 44, 22).astimezone().timestamp()  # the logging machine's time
    assert rows[2][1:3] == (b"N0CALL>APRS:>no time \x7f", 1000.0 + 3e-6)
    assert [reason for _, packet, _, reason in rows if packet is None] == ["direwolf output that is not a packet"] * 2


def test_tnc2_lines_get_the_file_time_one_microsecond_apart():
    lines = [b"N0CALL>APRS:>one", b"", b"N0CALL>APRS:>two", b"# a comment"]
    assert detect(lines) == "tnc2"
    rows = list(read(lines, "tnc2", file_time=50.0))
    assert [(packet, when) for _, packet, when, _ in rows] == [
        (b"N0CALL>APRS:>one", 50.0 + 1e-6),
        (b"N0CALL>APRS:>two", 50.0 + 3e-6),
        (None, None),
    ]


def test_unreadable_captures_are_refused_with_a_reason():
    with pytest.raises(CaptureError, match="--format"):
        detect([b"hello", b"world"])
    with pytest.raises(CaptureError, match="unknown format"):
        list(read([b"x"], "kml", 0.0))


def test_unescape_takes_aprx_sign_extended_bytes():
    assert unescape(b"a<0x1c>b<0xffffffbe>c<0xzz>") == b"a\x1cb\xbec<0xzz>"


def test_every_line_of_a_long_capture_gets_its_own_microsecond():
    """A modification time half-way between two microseconds made many lines round to the
    same one (16,114 times for 20,000 lines), and two equal lines there one packet."""
    lines = [b"N0A>APRS:>same"] * 20000
    for fraction in (0.0, 0.0000005, 0.123456549):
        times = [when for _, _, when, _ in read(lines, "tnc2", 1795900000 + fraction)]
        stored = {datetime.fromtimestamp(when, tz=timezone.utc) for when in times}
        assert len(stored) == len(lines), fraction

"""q-constructs, refusals and the duplicate filter of the server port (aprsc's rules)."""

import pytest

from protocols.aprs.dupes import DupeFilter
from protocols.aprs.qconstruct import Refused, add_q, rf_gated, with_server_q

LOGIN, SERVER = "N0CALL-10", "T2TEST"


@pytest.mark.parametrize(
    "line, expected",
    [
        # heard on RF, no q-construct: the iGate's login is the receiver
        (b"N1ABC-9>APRS,WIDE1-1:!4903.50N/07201.75W-", b"N1ABC-9>APRS,WIDE1-1,qAR,N0CALL-10:!4903.50N/07201.75W-"),
        (b"N1ABC>APRS:>status", b"N1ABC>APRS,qAR,N0CALL-10:>status"),
        # ,CALL,I: qAR when CALL is the login, qAr otherwise
        (b"N1ABC>APRS,WIDE2-1,N0CALL-10,I:>x", b"N1ABC>APRS,WIDE2-1,qAR,N0CALL-10:>x"),
        (b"N1ABC>APRS,K1DIG,I:>x", b"N1ABC>APRS,qAr,K1DIG:>x"),
        # direwolf adds its own q-construct: kept
        (b"N1ABC>APRS,WIDE1-1,qAO,N0CALL-10:>x", b"N1ABC>APRS,WIDE1-1,qAO,N0CALL-10:>x"),
        # the client's own packet: path replaced by TCPIP*,qAC,<server>
        (b"N0CALL-10>APDW16,WIDE2-1:!4903.50N/07201.75W#", b"N0CALL-10>APDW16,TCPIP*,qAC,T2TEST:!4903.50N/07201.75W#"),
        (b"n0call-10>APRS,TCPIP*:>hi", b"n0call-10>APRS,TCPIP*,qAC,T2TEST:>hi"),
        # a q-construct without a callsign after it is rebuilt
        (b"N1ABC>APRS,qAR:>x", b"N1ABC>APRS,qAR,N0CALL-10:>x"),
        # a qAI trace: the login it came from, then this server, are appended
        (b"N1ABC>APRS,qAI,T2FAR:>x", b"N1ABC>APRS,qAI,T2FAR,N0CALL-10,T2TEST:>x"),
        (b"N0CALL-10>APRS,qAI,N0CALL-10:>x", b"N0CALL-10>APRS,qAI,N0CALL-10,T2TEST:>x"),
        # bytes after the header are never touched
        (b"N1ABC>APRS:>\xb0\xff\x00", b"N1ABC>APRS,qAR,N0CALL-10:>\xb0\xff\x00"),
    ],
)
def test_q_construct(line, expected):
    assert add_q(line, LOGIN, SERVER) == expected


@pytest.mark.parametrize(
    "line, reason",
    [
        (b"N1ABC>APRS,NOGATE:>x", "nogate"),
        (b"N1ABC>APRS,WIDE1-1,RFONLY:>x", "rfonly"),
        (b"N1ABC>APRS,TCPXX*,qAX,T2X:>x", "unverified"),
        (b"N1ABC>APRS,qAR,K1ABC,T2TEST:>x", "loop"),
        (b"N1ABC>APRS,qAR,T2TEST:>x", "loop"),
        (b"N1ABC>APRS,qAR,K1ABC,K1ABC:>x", "loop"),
        (b"no header at all", "no TNC2 header"),
        (b"N1ABC>APRS,,WIDE1:>x", "empty path element"),
    ],
)
def test_refused(line, reason):
    with pytest.raises(Refused, match=reason):
        add_q(line, LOGIN, SERVER)


def test_rf_gated_by_our_own_tnc():
    assert rf_gated(b"N1ABC>APRS,WIDE1*:>x", "GW-1") == b"N1ABC>APRS,WIDE1*,qAR,GW-1:>x"
    for line in (b"N1ABC>APRS,TCPIP*:>x", b"GW>APRS,WIDE1:}N1ABC>APRS,TCPIP,GW*:>x", b"N1ABC>APRS,NOGATE:>x"):
        with pytest.raises(Refused):
            rf_gated(line, "GW-1")


def test_web_message_as_our_server_hands_it_out():
    line = b"ANN>APRS,TCPIP*::N1ABC    :hello{1"
    assert with_server_q(line, "T2TEST") == b"ANN>APRS,TCPIP*,qAC,T2TEST::N1ABC    :hello{1"
    assert with_server_q(b"ANN>APRS::N1ABC    :hi", "T2TEST") == b"ANN>APRS,TCPIP*,qAC,T2TEST::N1ABC    :hi"


def test_duplicates_within_thirty_seconds_go_once():
    now = [1000.0]
    dupes = DupeFilter(clock=lambda: now[0])
    assert dupes.first_time(b"N1ABC>APRS,WIDE1-1,qAR,A:>x")
    # the same packet by another path or iGate, or with trailing spaces: a duplicate
    assert not dupes.first_time(b"N1ABC>APRS,WIDE2*,qAR,B:>x")
    assert not dupes.first_time(b"n1abc>aprs,qAR,C:>x  ")
    assert dupes.first_time(b"N1ABC>APRS,qAR,A:>y")  # other info: not a duplicate
    assert dupes.first_time(b"N1ABC>APZ,qAR,A:>x")  # other destination: not a duplicate
    now[0] += 29.9
    assert not dupes.first_time(b"N1ABC>APRS,qAR,A:>x")
    now[0] += 0.2
    assert dupes.first_time(b"N1ABC>APRS,qAR,A:>x")
    assert len(dupes.seen_at) == 1  # the old ones expired

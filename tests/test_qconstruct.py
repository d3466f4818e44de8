"""q-constructs, refusals and the duplicate filter of the server port (aprsc's rules)."""

import pytest

from protocols.aprs.dupes import DupeFilter
from protocols.aprs.qconstruct import Refused, incoming, rf_gated, traced, with_server_q

LOGIN, SERVER = "N0GATE-10", "T2TEST"


@pytest.mark.parametrize(
    "line, expected",
    [
        # heard on RF with no q-construct: aprsc appends qAS,<login> (the login is not the source)
        (b"N1ABC-9>APRS,WIDE1-1:!4903.50N/07201.75W-", b"N1ABC-9>APRS,WIDE1-1,qAS,N0GATE-10:!4903.50N/07201.75W-"),
        (b"N1ABC>APRS:>status", b"N1ABC>APRS,qAS,N0GATE-10:>status"),
        # ,CALL,I: qAR when CALL is the login, qAr otherwise
        (b"N1ABC>APRS,WIDE2-1,N0GATE-10,I:>x", b"N1ABC>APRS,WIDE2-1,qAR,N0GATE-10:>x"),
        (b"N1ABC>APRS,K1DIG,I:>x", b"N1ABC>APRS,qAr,K1DIG:>x"),
        # direwolf adds its own q-construct: kept
        (b"N1ABC>APRS,WIDE1-1,qAO,N0GATE-10:>x", b"N1ABC>APRS,WIDE1-1,qAO,N0GATE-10:>x"),
        (b"N1ABC>APRS,qAR,N0GATE-10:>x", b"N1ABC>APRS,qAR,N0GATE-10:>x"),
        # the client's own packet (source == login, exactly): path replaced by TCPIP*,qAC,<server>
        (b"N0GATE-10>APDW16,WIDE2-1:!4903.50N/07201.75W#", b"N0GATE-10>APDW16,TCPIP*,qAC,T2TEST:!4903.50N/07201.75W#"),
        (b"N0GATE-10>APRS,qAR,N0GATE-10:>own", b"N0GATE-10>APRS,TCPIP*,qAC,T2TEST:>own"),
        (b"n0gate-10>APRS,TCPIP*:>hi", b"n0gate-10>APRS,TCPIP*,qAS,N0GATE-10:>hi"),  # not the login to aprsc
        # a q-construct without a callsign after it, or not three characters, is dropped and rebuilt
        (b"N1ABC>APRS,qAR:>x", b"N1ABC>APRS,qAS,N0GATE-10:>x"),
        (b"N1ABC>APRS,qARX,K1:>x", b"N1ABC>APRS,qAS,N0GATE-10:>x"),
        # a qAI trace: the login it came from, then this server, are appended
        (b"N1ABC>APRS,qAI,T2FAR:>x", b"N1ABC>APRS,qAI,T2FAR,N0GATE-10,T2TEST:>x"),
        (b"N0GATE-10>APRS,qAI,N0GATE-10:>x", b"N0GATE-10>APRS,qAI,N0GATE-10,T2TEST:>x"),
        # bytes after the header are never touched
        (b"N1ABC>APRS:>\xb0\xff\x00", b"N1ABC>APRS,qAS,N0GATE-10:>\xb0\xff\x00"),
    ],
)
def test_q_construct(line, expected):
    assert incoming(line, LOGIN, SERVER) == expected


@pytest.mark.parametrize(
    "line, reason",
    [
        (b"N1ABC>APRS,NOGATE:>x", "nogate"),
        (b"N1ABC>APRS,WIDE1-1,RFONLY:>x", "rfonly"),
        (b"N1ABC>APRS,TCPXX*,qAX,T2X:>x", "unverified"),
        # the q algorithm's drops (aprsc parse_qc.c)
        (b"N1ABC>APRS,qAR,K1ABC,T2TEST:>x", "our server ID after"),
        (b"N1ABC>APRS,qAR,T2TEST:>x", "our server ID after"),
        (b"N1ABC>APRS,qAR,K1ABC,K1ABC:>x", "a call twice"),
        (b"N1ABC>APRS,qAR,N0GATE-10,K1ABC:>x", "the login is not the last"),
        (b"N1ABC>APRS,qAZ,K1ABC:>x", "qAZ"),
        (b"N1ABC>APRS,qAR,OTHER-1:>x", "another client's login"),
        (b"N1ABC>APRS,qAR,K1.ABC:>x", "invalid call after the q-construct"),  # aprsc checks calls after q too
        (b"N1ABC>APRS,I:>x", "I without a via call"),
        # incoming.c's checks of the header
        (b"no header at all", "no colon"),
        (b"N1ABCDEFGHIJ>APRS:>x", "no destination"),
        (b" N1ABC>APRS:>x", "invalid source"),
        (b"N1\\ABC>APRS:>x", "invalid source"),
        (b"N1ABC>APRS:", "no info"),
        (b"N1ABC>AP*RS:>x", "invalid destination"),
        (b"N1ABC>APRS,WI/DE:>x", "invalid path callsign"),
        (b"N1ABC>APRS,WI*DE:>x", "invalid path callsign"),
        (b"N1ABC>APRS,WIDE\x00:>x", "invalid path callsign"),
        (b"N1ABC>APRS,,WIDE1:>x", "invalid path callsign"),
        (b"N1ABC>APRS,WIDE1-1:}K1X>APRS,TCPIP,N1ABC*:>x", "third-party packet from the internet"),
        (b"N1ABC>APRS,WIDE1-1:}K1X>APRS,TCPXX*,N1ABC*:>x", "third-party packet from the internet"),
        (b"N1ABC>APRS:?APRS?", "general query"),
        (b"N1ABC>APRS:?WX?", "general query"),
        (b"N1ABC>APRS:DX de K1ABC: 14025.0 N2XYZ", "DX spot"),
        (b"N0CALL>APRS:>x", "disallowed source"),
        (b"NOCALL>APRS:>x", "disallowed source"),
        (b"SERVER>APRS:>x", "disallowed source"),
        (b"OTHER-1>APRS:>x", "source logged in on another connection"),
    ],
)
def test_refused(line, reason):
    with pytest.raises(Refused, match=reason):
        incoming(line, LOGIN, SERVER, local_logins={"OTHER-1"})


def test_disallowed_sources_take_prefixes():
    with pytest.raises(Refused, match="disallowed source"):
        incoming(b"BADGUY-7>APRS:>x", LOGIN, SERVER, disallowed_sources=("BAD*",))
    assert incoming(b"N0CALL>APRS:>x", LOGIN, SERVER, disallowed_sources=("BAD*",)).startswith(b"N0CALL>")


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
    # the same packet by another path or iGate, or to another SSID of the destination: a duplicate
    assert not dupes.first_time(b"N1ABC>APRS,WIDE2*,qAR,B:>x")
    assert not dupes.first_time(b"N1ABC>APRS-2,qAR,B:>x")
    # case counts (aprsc compares exactly), and so do trailing spaces on a later copy
    assert dupes.first_time(b"n1abc>APRS,qAR,C:>x")
    assert dupes.first_time(b"N1ABC>APRS,qAR,C:>x  ")
    assert dupes.first_time(b"N1ABC>APRS,qAR,A:>y")  # other info: not a duplicate
    assert dupes.first_time(b"N1ABC>APZ,qAR,A:>x")  # other destination: not a duplicate
    now[0] += 29.9
    assert not dupes.first_time(b"N1ABC>APRS,qAR,A:>x")
    now[0] += 0.2
    assert dupes.first_time(b"N1ABC>APRS,qAR,A:>x")  # the window is 30 s


def test_mangled_copies_are_duplicates_of_the_first():
    dupes = DupeFilter()
    assert dupes.first_time(b"N1ABC>APRS:>21\xb0C ok  ")
    assert not dupes.first_time(b"N1ABC>APRS:>21\xb0C ok")  # trailing spaces lost
    assert not dupes.first_time(b"N1ABC>APRS:>21C ok  ")  # 8-bit byte lost
    assert not dupes.first_time(b"N1ABC>APRS:>21\x30C ok  ")  # 8th bit cleared (0xb0 -> 0x30)
    assert not dupes.first_time(b"N1ABC>APRS:>21 C ok  ")  # replaced by a space
    assert dupes.first_time(b"N1ABC>APRS:>bell\x07 and DEL\x7f")
    assert not dupes.first_time(b"N1ABC>APRS:>bell and DEL")  # control bytes and DEL lost
    assert not dupes.first_time(b"N1ABC>APRS:>bell  and DEL ")  # or replaced by spaces


@pytest.mark.parametrize(
    "line, reason",
    [
        # incoming.c: aprsc's default DisallowSourceCall entries match as prefixes
        (b"NOCALL-1>APRS:>x", "disallowed source"),
        (b"SERVER-5>APRS:>x", "disallowed source"),
        (b"N0CALL-10>APRS:>x", "disallowed source"),
        # incoming.c (check_invalid_src_dst): an SSID separator with no SSID
        (b"N1ABC->APRS:>x", "invalid source callsign"),
        # incoming.c: messages to KIPSS and javaMSG are dropped (query floods), any case
        (b"N1ABC>APRS::KIPSS    :hello", "message to KIPSS"),
        (b"N1ABC>APRS::javaMSG  :hello", "message to JAVAMSG"),
        # parse_qc.c: a q-construct that is not qA? drops the packet
        (b"N1ABC>APRS,qOR,N2XYZ:>x", "not of type qA"),
    ],
)
def test_what_aprsc_drops_beyond_the_basics(line, reason):
    with pytest.raises(Refused, match=reason):
        incoming(line, LOGIN, SERVER)


def test_disallow_lists_take_aprscs_glob_syntax():
    """config.c / incoming.c: DisallowSourceCall, DisallowLoginCall and DisallowIgateCall take
    * (any characters) and ? (one) anywhere in the pattern."""
    for source, patterns in ((b"N1DROP", ("*DROP",)), (b"OH7DRU", ("OH?DRU",)), (b"MIXREJ", ("mi*rej",))):
        with pytest.raises(Refused, match="disallowed source"):
            incoming(source + b">APRS:>x", LOGIN, SERVER, disallowed_sources=patterns)
    assert incoming(b"OH77DRU>APRS:>x", LOGIN, SERVER, disallowed_sources=("OH?DRU",))
    gated = b"N1ABC>APRS,WIDE1-1,qAR,BADGATE-1:>x"
    with pytest.raises(Refused, match="gated by a disallowed iGate"):
        incoming(gated, LOGIN, SERVER, disallowed_igates=("BADGATE*",))
    assert incoming(gated, LOGIN, SERVER, disallowed_igates=("OTHER*",))
    assert incoming(b"N1ABC>APRS,WIDE1-1:>x", LOGIN, SERVER, disallowed_igates=("N0IGT*",))  # qAS: no gating


def test_a_32_hex_call_after_the_q_construct_is_a_call():
    """parse_qc.c: after the q-construct, a call may be an IPv6 address as 32 hex digits (qAI
    traces, UDP peers); only the path before it must hold 1-9 character calls."""
    line = b"N1ABC>APRS,qAI,20010DB8000000000000000000000001,T2OTHER:>x"
    assert incoming(line, LOGIN, SERVER).startswith(b"N1ABC>APRS,qAI,20010DB8000000000000000000000001,T2OTHER,")


def test_a_qai_trace_from_our_uplink_gets_the_upstream_server_and_ours():
    """The q algorithm's trace (aprs-is.net, parse_qc.c): a server passing on a qAI packet
    appends the login of the connection it came in on, unless there, and its own ID. Our
    uplink's connection is the APRS-IS server it logged in to (its logresp's server ID)."""
    line = b"N1ABC>APRS,qAI,N0IGT:>trace me"
    assert traced(line, "T2FINLAND", "APRSGW") == b"N1ABC>APRS,qAI,N0IGT,T2FINLAND,APRSGW:>trace me"
    already = b"N1ABC>APRS,qAI,N0IGT,T2FINLAND:>trace me"
    assert traced(already, "T2FINLAND", "APRSGW") == b"N1ABC>APRS,qAI,N0IGT,T2FINLAND,APRSGW:>trace me"
    plain = b"N1ABC>APRS,qAR,N0IGT:>no trace \xb0"
    assert traced(plain, "T2FINLAND", "APRSGW") is plain  # any other packet is not touched
    long = b"N1ABC>APRS,qAI,N0IGT:" + b"x" * 480
    assert traced(long, "T2FINLAND", "APRSGW") == long  # never lost for its trace

import pytest

from protocols.aprs.decode import decode_packet
from protocols.aprs.filters import FilterError, Known, distance_km, packet_facts, parse_filter


def facts(raw):
    return packet_facts(decode_packet(raw), raw)


CAR = b"N0DEMO-9>APRS,WIDE1-1*,qAR,N0DEMO-15:!4903.00N/07201.80W>090/025Demo car"
WX = b"N0DEMO-5>APRS,TCPIP*,qAC,DEMO:@241200z4902.10N/07159.80W_180/010g015t045r000p000P000h65b10150"
OBJECT = b"N0DEMO>APRS,TCPIP*,qAC,DEMO:;DEMONET  *241200z4904.00N/07203.00WrDemo net"
MESSAGE = b"N0DEMO-2>APRS,TCPIP*::N0DEMO-9 :hello{1"
STATUS = b"OH2XYZ>APRS,TCPIP*:>on the air"
TELEMETRY = b"N0DEMO-3>APRS,TCPIP*:T#001,123,045,067,089,100,00000000"
NWS = b"NWSBOT>APRS::NWS-WARN :tornado warning"
SYDNEY = b"VK2ABC>APRS:!3352.00S/15112.00E-Sydney"
IGATE = b"N0DEMO-15>APRS:!4859.40NI07206.00W&Demo iGate"


def passes(text, raw):
    return parse_filter(text).matches(facts(raw))


def test_range():
    assert passes("r/49.05/-72.03/10", CAR)
    assert not passes("r/49.05/-72.03/10", SYDNEY)
    assert not passes("r/49.05/-72.03/10", STATUS)  # no position
    assert passes("r/-33.87/151.2/20", SYDNEY)
    assert distance_km(0, 0, 0, 1) == pytest.approx(111.19, rel=1e-3)


def test_area_including_antimeridian():
    assert passes("a/50/-73/48/-71", CAR)
    assert not passes("a/50/-71/48/-70", CAR)
    assert passes("a/-30/170/-40/-170", b"ZL1ABC>APRS:!3500.00S/17900.00W-")
    assert not passes("a/-30/170/-40/-170", SYDNEY)


def test_budlist_prefix_and_wildcards():
    assert passes("b/N0DEMO-9", CAR)
    assert passes("b/N0DEMO*", CAR)
    assert passes("b/n0demo-?", CAR)
    assert not passes("b/N0DEMO", CAR)
    assert passes("p/OH/N0", STATUS)
    assert not passes("p/VK", STATUS)


def test_types():
    assert passes("t/p", CAR)
    assert passes("t/w", WX)
    assert passes("t/o", OBJECT)
    assert passes("t/m", MESSAGE)
    assert passes("t/s", STATUS)
    assert passes("t/t", TELEMETRY)
    assert passes("t/n", NWS)
    assert not passes("t/m", CAR)
    assert passes("t/ms", STATUS)


def test_object_symbol_digipeater_unproto():
    assert passes("o/DEMO*", OBJECT)
    assert not passes("o/OTHER", OBJECT)
    assert passes("s/>", CAR)
    assert not passes("s/_", CAR)
    assert passes("s//&/I", IGATE)
    assert not passes("s//&/R", IGATE)
    assert passes("d/WIDE1-1", CAR)
    assert not passes("d/N0DEMO-15", CAR)  # not used (no *)
    assert passes("u/APRS", CAR)


def test_exclusions_and_combinations():
    assert passes("r/49.05/-72.03/100 -b/N0DEMO-5", CAR)
    assert not passes("r/49.05/-72.03/100 -b/N0DEMO-5", WX)
    assert not passes("r/49.05/-72.03/100 -t/w", WX)
    assert passes("b/VK2ABC r/49.05/-72.03/10", SYDNEY)


def test_empty_filter_passes_everything():
    empty = parse_filter("   ")
    assert empty.text == "" and empty.matches(facts(STATUS))


@pytest.mark.parametrize(
    "text, reason",
    [
        ("x/1/2", "unknown filter type"),
        ("r/1/2", "expected lat/lon/km"),
        ("r/91/0/10", "latitude"),
        ("r/0/181/10", "longitude"),
        ("r/0/0/-5", "at least 0.1 km"),
        ("r/0/0/0.05", "at least 0.1 km"),
        ("r/a/b/c", "must be numbers"),
        ("r/nan/0/1", "finite"),
        ("a/10/0/20/5", "latS"),
        ("b/", "callsign"),
        ("b/N0CALL/<script>", "not a callsign pattern"),
        ("t/xyz", "type letters"),
        ("t/p/N0CALL", "t/poimqstunwc\\*/call/km"),
        ("f/N0CALL", "expected f/call/km"),
        ("q/A", "letters from"),
        ("q/C/X", "only be I"),
        ("b/N0CALLSIGN", "not a callsign pattern"),
        ("-b/N0CALL", "not an exclusion"),
        ("r", "unknown filter type"),
        ("m/50", "m/ needs a logged-in callsign"),
        ("b/" + "A" * 8189, "longer than 8190 characters"),  # what aprsc reads of a line: its 8 kB buffer
    ],
)
def test_rejected_filters_say_why(text, reason):
    with pytest.raises(FilterError, match=reason):
        parse_filter(text)


def test_facts_are_plain_data(corpus):
    import msgpack

    for raw in corpus["benjojo_aprstestdata.txt"]:
        value = facts(raw)
        assert msgpack.unpackb(msgpack.packb(value)) == value


class Positions(Known):
    """What a node knows: the last positions of a few stations and one RF iGate."""

    def position(self, call):
        return {"N0DEMO-9": (49.05, -72.03), "N0ME": (49.0, -72.0), "DEMONET": (-33.87, 151.2)}.get(call)

    def rf_igate(self, call):
        return call == "N0DEMO-15"


def near(text, raw, login="N0ME"):
    return parse_filter(text, login=login, known=Positions()).matches(facts(raw))


def test_my_range_and_friend_range_use_the_last_positions_known():
    assert near("m/10", CAR)  # N0ME is 3 km from the car
    assert not near("m/10", SYDNEY)
    assert not near("m/10", CAR, login="N0WHERE")  # no position known for the client: nothing
    assert near("f/DEMONET/20", SYDNEY) and not near("f/DEMONET/20", CAR)
    assert near("f/n0demo-9/1", CAR)
    assert not near("f/N0NONE/1000", CAR)


def test_types_near_a_station():
    assert near("t/p/N0ME/10", CAR)
    assert not near("t/w/N0ME/10", CAR)
    assert not near("t/p/DEMONET/10", CAR)


def test_entry_group_q_construct_and_cwop():
    assert passes("e/N0DEMO-15", CAR) and passes("e/N0DEMO*", CAR)
    assert not passes("e/N0DEMO-15", WX)
    assert passes("g/N0DEMO-9", MESSAGE) and passes("g/N0DEMO*", MESSAGE)
    assert not passes("g/N0DEMO-9", CAR)
    assert passes("q/R", CAR) and passes("q/C", WX)
    assert not passes("q/r", CAR)  # case counts: qAR is not qAr
    assert not passes("q/C", CAR)
    via_igate = b"N1ABC>APRS,TCPIP*,qAC,N0DEMO-15:!4903.00N/07201.80W>"
    assert near("q//I", via_igate) and not passes("q//I", via_igate)
    cwop = b"CW1234>APRS,TCPXX*,qAX,CWOP-1:@241200z4902.10N/07159.80W_180/010g015t045"
    assert passes("t/c", cwop) and not passes("t/c", WX)
    assert passes("t/*", WX) and not passes("t/*", cwop) and passes("t/*c", cwop)


def test_lenient_parsing_keeps_the_good_parts_and_says_which_were_not():
    parsed = parse_filter("m/50 x/1 r/49.05/-72.03/10 r/0/0/-1", lenient=True)
    assert parsed.text == "r/49.05/-72.03/10"
    assert [str(error).split(":")[0] for error in parsed.errors] == ["'m/50'", "'x/1'", "'r/0/0/-1'"]
    assert parsed.matches(facts(CAR)) and not parsed.matches(facts(SYDNEY))
    nothing = parse_filter("x/1", lenient=True)
    assert nothing.errors and not nothing.matches(facts(CAR))


def test_every_digipeater_before_the_last_used_hop_counts_as_used():
    """aprsc's src/filter.c (filter_process_one_d): TNC2 marks only the last hop a packet went
    through with *, so every call before it was used too; hops after it, and the q-construct's
    entry call, were not."""
    multi = b"OH2ABC>APRS,OH7RDA,OH8RDA*,WIDE2-1,qAR,OH2IGT:>two hops"
    assert passes("d/OH7RDA", multi)  # before the *: used (we only counted starred hops)
    assert passes("d/OH8RDA", multi)
    assert passes("d/OH7*", multi)
    assert not passes("d/WIDE2-1", multi)  # after the last *: not used yet
    assert not passes("d/OH2IGT", multi)  # the entry call, after the q-construct
    assert not passes("d/OH7RDA", b"OH2ABC>APRS,OH7RDA,OH8RDA,qAR,OH2IGT:>not digipeated")

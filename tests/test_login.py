import pytest

from protocols.aprs import login


def test_format_login_has_name_and_version_as_two_words():
    line = login.format_login("N0CALL-10", "13023", "aprs-gateway", "0.1.0", "r/49/-72/100")
    assert line == b"user N0CALL-10 pass 13023 vers aprs-gateway 0.1.0 filter r/49/-72/100\r\n"
    assert login.format_login("N0CALL", "-1", "aprs-gateway", "0.1.0") == (
        b"user N0CALL pass -1 vers aprs-gateway 0.1.0\r\n"
    )
    with pytest.raises(login.LoginError):
        login.format_login("N0CALL", "-1", "aprs gateway", "0.1")


def test_parse_login_and_passcode_check():
    parsed = login.parse_login(b"user n0call-10 pass 13023 vers Dire-Wolf 1.6 filter r/1/2/3 t/p")
    assert parsed.callsign == "N0CALL-10" and parsed.as_given == "n0call-10"
    assert (parsed.software, parsed.version) == ("Dire-Wolf", "1.6")
    assert parsed.filter == "r/1/2/3 t/p"
    assert parsed.verified  # 13023 is N0CALL's passcode, SSID ignored
    assert not login.parse_login("user N0CALL pass 1 vers x 1").verified
    receive_only = login.parse_login("user N0CALL pass -1 vers x 1")
    assert receive_only.passcode == "-1" and not receive_only.verified


@pytest.mark.parametrize(
    "line, expected",
    [
        ("user N0CALL vers aprsd 4.2.4 pass 13023", ("N0CALL", "13023", "aprsd", "4.2.4", "")),
        ("user N0CALL pass 13023 vers aioaprs filter m/50", ("N0CALL", "13023", "aioaprs", "", "m/50")),
        ("user N0CALL pass abc vers a b", ("N0CALL", "abc", "a", "b", "")),
        ("user N0CALL pass 13023 vers a b udp 2023", ("N0CALL", "13023", "a", "b", "")),
        ("user N0CALL pass 13023 udp 2023 filter r/1/2/3", ("N0CALL", "13023", "", "", "r/1/2/3")),
        ("USER n0ca-abcd", ("N0CA-ABCD", "-1", "", "", "")),
        ("user N0CALL filter", ("N0CALL", "-1", "", "", "")),
    ],
)
def test_parse_login_reads_what_aprsc_reads(line, expected):
    parsed = login.parse_login(line)
    assert (parsed.callsign, parsed.passcode, parsed.software, parsed.version, parsed.filter) == expected
    assert not login.parse_login("user N0CALL pass abc").verified


@pytest.mark.parametrize(
    "line",
    [
        "",
        "hello",
        "user",
        "user TOOLONGCALL1 pass 1 vers a b",
        "user N0/CALL pass 1",
        "GET / HTTP/1.0",
    ],
)
def test_parse_login_refuses(line):
    with pytest.raises(login.LoginError):
        login.parse_login(line)


def test_logresp_both_verdicts():
    verified = login.parse_logresp(b"# logresp N0CALL-1 verified, server T2FINLAND")
    assert verified == login.LogResp("N0CALL-1", True, "T2FINLAND")
    unverified = login.parse_logresp(login.format_logresp("N0CALL", False, "T2TEST").strip())
    assert unverified == login.LogResp("N0CALL", False, "T2TEST")
    assert login.parse_logresp(b"# aprsc 2.1.19-g730c5c0 24 Nov 2026 12:00:00 GMT T2TEST") is None

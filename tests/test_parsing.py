"""Our decoders for what aprslib refuses (protocols/aprs/parsing), on real lines."""

import pytest

from protocols.aprs.decode import decode_packet
from tests.data import CORPUS_FILES, corpus_lines


def test_telemetry_report():
    packet = decode_packet(b"SR6NWS>APMI06,TCPIP*,qAC,T2POLC:T#040,186,067,003,061,128,00000000")
    assert packet == {
        "format": "telemetry",
        "sequence": "040",
        "analog": [186.0, 67.0, 3.0, 61.0, 128.0],
        "bits": "00000000",
        "from": "SR6NWS",
        "to": "APMI06",
        "path": ["TCPIP*", "qAC", "T2POLC"],
    }


def test_telemetry_with_decimals_few_values_and_a_comment():
    packet = decode_packet(b"N0CALL>APRS:T#MIC,1.5,-2,3.25,10110000Battery OK")
    assert packet["sequence"] == "MIC" and packet["analog"] == [1.5, -2.0, 3.25]
    assert packet["bits"] == "10110000" and packet["comment"] == "Battery OK"


def test_capabilities():
    packet = decode_packet(b"SP9POL-1>APWW11,TCPIP*,qAC,T2SYDNEY:<IGATE,MSG_CNT=555,LOC_CNT=4")
    assert packet["format"] == "capabilities"
    assert packet["capabilities"] == {"IGATE": True, "MSG_CNT": "555", "LOC_CNT": "4"}


def test_item_with_its_position():
    packet = decode_packet(b"CX2SA-OG>APJIO4,TCPIP*,qAC,iURUGUAY:)iURUGUAY!3123.31SI05757.75W&_ (( iURUGUAY ))")
    assert packet["format"] == "item" and packet["item_name"] == "iURUGUAY" and packet["alive"] is True
    assert packet["latitude"] == pytest.approx(-31.3885) and packet["longitude"] == pytest.approx(-57.9625)
    assert packet["symbol_table"] + packet["symbol"] == "I&" and packet["from"] == "CX2SA-OG"
    killed = decode_packet(b"N0CALL>APRS:)AID #2_4903.50N/07201.75WA")
    assert killed["item_name"] == "AID #2" and killed["alive"] is False


@pytest.mark.parametrize(
    "sentence, expected",
    [
        (
            b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A",
            {"latitude": 48.1173, "longitude": 11.516667, "speed": 41.4848, "course": 84},
        ),
        (
            b"$GPGGA,123519,4807.038,N,01131.000,W,1,08,0.9,545.4,M,46.9,M,,*55",
            {"latitude": 48.1173, "longitude": -11.516667, "altitude": 545.4},
        ),
    ],
)
def test_nmea_positions(sentence, expected):
    packet = decode_packet(b"N0CALL>GPSLJ:" + sentence)
    assert packet["format"] == "nmea"
    for key, value in expected.items():
        assert packet[key] == pytest.approx(value, abs=1e-4), key


@pytest.mark.parametrize(
    "line, reason",
    [
        (b"N0CALL>GPSLJ:$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*00", "checksum"),
        (b"N0CALL>GPSLJ:$GPRMC,123519,V,,,,,,,230394,,*00", "checksum"),
        (b"N0CALL>GPSLJ:$GPRMC,123519,V,,,,,,,230394,,", "without a fix"),
        (b"N0CALL>GPSLJ:$GPGSV,3,1,11", "not an RMC or GGA"),
        (b"OK0X-2>APOT21,WIDE2-2:T", "telemetry"),
        (b"N0CALL>APRS:T#001,abc", "no analog value"),
        (b"N0CALL>APRS:)AB!nowhere", "item"),
        (b"N0CALL>APRS:<", "capabilities: empty"),
    ],
)
def test_what_still_fails_says_why(line, reason):
    packet = decode_packet(line)
    assert packet["format"] == "unknown" and reason in packet["error"]
    assert packet["from"] == "N0CALL" or packet["from"] == "OK0X-2"


def test_the_corpus_decodes_to_known_formats():
    lines = [line for name in sorted(CORPUS_FILES) for line in corpus_lines(name)]
    unknown = [line for line in lines if decode_packet(line)["format"] == "unknown"]
    assert len(lines) > 26000
    assert len(unknown) / len(lines) < 0.005, unknown[:20]  # aprslib alone: 10%

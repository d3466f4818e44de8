"""Each correction of aprslib's output (protocols/aprs/corrections.py) on a real corpus line."""

from datetime import datetime, timezone

import pytest

from protocols.aprs.decode import decode_packet
from tests.data import CORPUS_FILES, corpus_lines

CORPUS = {line for name in CORPUS_FILES for line in corpus_lines(name)}
M0XDC = b"M0XDC>APWW10,TCPIP*,qAC,T2IAD2:/051340z5140.36N/00018.39E_184/009g020t044r004p054P048h84b09817 "
SR9WXM = b"SR9WXM>AKLPRZ,TCPIP*,qAC,T2IRELAND:!4946.58N/01907.84E_237/016g021t036r...p...P...b00000h00"
F4BQH = (
    b"F4BQH-13>APFD24,TCPIP*,qAS,F4BQH:@051340z4510.75N/00039.39E_292/001g009t048r000p055P...h75b10035"
    b"Station meteo de Marsac  (24)"
)
SP9THC = b'SP9THC-3>UPUR58,SR9KFZ*,WIDE1*:`/^Ol*{-\\`"6z}_%'
SM0OEM = b"SM0OEM-1>APNW01,TCPIP*,qAS,SM0OEM:@310922z5914.17N/01754.85EIWX3IN1 SM0OEM IGATE RX  ONLY"
SP9THC_COMMENT = b'SP9THC-3>UPUR59,SR9KFZ*,WIDE1*:`/^Nl>x-\\`"6W}145.550  Lukasz                        _%'


def test_the_lines_are_real_traffic():
    for line in (M0XDC, SR9WXM, F4BQH, SP9THC, SP9THC_COMMENT):
        assert line in CORPUS, line


def test_weather_wind_is_wind_not_course_and_speed():
    packet = decode_packet(M0XDC)
    assert "course" not in packet and "speed" not in packet
    assert packet["weather"]["wind_direction"] == 184
    assert packet["weather"]["wind_speed"] == pytest.approx(9 * 0.44704, abs=0.001)  # 9 mph
    assert packet["weather"]["wind_gust"] == pytest.approx(20 * 0.44704, abs=0.001)


def test_a_zero_pressure_is_no_sensor():
    weather = decode_packet(SR9WXM)["weather"]
    assert "pressure" not in weather
    assert weather["humidity"] == 100  # h00 is 100 %, as the spec says


def test_weather_comments_keep_their_case():
    assert decode_packet(F4BQH)["comment"] == "Station meteo de Marsac  (24)"


def test_mic_e_device_bytes_name_the_radio_and_leave_the_comment():
    packet = decode_packet(SP9THC)
    assert packet["device"] == "Yaesu FTM-400DR" and "comment" not in packet
    assert packet["altitude"] == pytest.approx(281, abs=1)
    assert decode_packet(SP9THC_COMMENT)["comment"] == "145.550  Lukasz"
    kenwood = decode_packet(b"SP5XYZ-9>SR3P05,WIDE1-1:`0G(l!`>/]439.387MHz GRZEGORZ 73*=")
    assert (kenwood.get("device"), kenwood.get("comment")) == ("Kenwood TM-D710", "439.387MHz GRZEGORZ 73*")


def test_the_destination_names_the_software():
    assert decode_packet(M0XDC)["device"] == "KJ4ERJ APRSIS32"  # APWWnn
    assert decode_packet(b"N0CALL-7>APDR16,TCPIP*:=4903.50N/07201.75W$")["device"] == "Open Source APRSdroid"


@pytest.mark.parametrize(
    "now, expected",
    [
        (datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc), datetime(2026, 10, 31, 9, 22, tzinfo=timezone.utc)),
        (datetime(2026, 12, 1, 0, 10, tzinfo=timezone.utc), datetime(2026, 10, 31, 9, 22, tzinfo=timezone.utc)),
        (datetime(2026, 12, 31, 9, 30, tzinfo=timezone.utc), datetime(2026, 12, 31, 9, 22, tzinfo=timezone.utc)),
    ],
)
def test_a_day_of_month_timestamp_is_the_most_recent_such_day(now, expected):
    from protocols.aprs.corrections import correct

    assert SM0OEM in CORPUS
    packet = correct(decode_packet(SM0OEM), SM0OEM, now=now)
    assert packet["timestamp"] == int(expected.timestamp())


def test_a_destination_of_seven_characters_still_has_its_position_read():
    line = b"DB0BU-10>APRSNDS,TCPIP*,qAC,T2NUERNBG:=5319.50N/00952.79E`ECHOLINK E21 BUCHHOLZ 403020 {UIV32}"
    assert line in CORPUS
    packet = decode_packet(line)
    assert (packet["to"], packet["latitude"], packet["symbol"]) == ("APRSNDS", pytest.approx(53.325), "`")


def spec(start):
    (line,) = [line for line in corpus_lines("spec-examples.txt") if line.startswith(start)]
    return decode_packet(line)


def test_what_the_captures_lack_decodes_as_the_specification_says():
    inner = spec(b"N0CALL>APRS,WIDE1-1:}")["subpacket"]
    assert (inner["from"], inner["latitude"]) == ("KB2ZE-4", pytest.approx(49.058333, abs=1e-5))
    nmea = spec(b"N0CALL>GPSLK")
    assert (nmea["format"], nmea["latitude"], nmea["course"]) == ("nmea", pytest.approx(33.823837, abs=1e-5), 89)
    positionless = spec(b"N0CALL>APRS:_")
    assert positionless["weather"]["wind_direction"] == 220 and positionless["weather"]["humidity"] == 50
    assert positionless["weather"]["wind_speed"] == pytest.approx(4 * 0.44704, abs=0.001)
    item = spec(b"N0CALL>APRS:)")
    assert (item["format"], item["item_name"]) == ("item", "AID #2")
    reply_ack = spec(b"N0CALL>APRS::")
    assert (reply_ack["message_text"], reply_ack["msgNo"], reply_ack["ackMsgNo"]) == ("Hello", "AB", "CD")
    dao = spec(b"N0CALL>APRS:!")
    assert dao["latitude"] == pytest.approx(49 + 3.503 / 60, abs=1e-6)  # !W35!: one more digit each way
    compressed = spec(b"N0CALL>APRS:=/")
    assert compressed["latitude"] == 49.5 and compressed["course"] == 88
    assert compressed["speed"] == pytest.approx(36.2 * 1.852, abs=0.3)
    assert compressed["altitude"] == pytest.approx(1234 * 0.3048)
    assert spec(b"N0CALL>APRS:@092345z/")["altitude"] == pytest.approx(10004 * 0.3048, abs=1)
    leader = spec(b"N0CALL>APRS:;")
    assert (leader["object_name"].strip(), leader["course"]) == ("LEADER", 88)
    assert leader["speed"] == pytest.approx(36 * 1.852)  # not a weather station: course and speed
    complete = spec(b"N0CALL>APRS:@092345z4903")
    assert "course" not in complete and complete["weather"]["wind_direction"] == 220

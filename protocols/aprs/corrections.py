"""Where aprslib 0.7.2 decodes a field wrong, corrected in this one place.

Each correction names the rule (APRS Protocol Reference 1.0.1, "APRS101", and
its addenda) and a line of the test corpus it mends; tests/test_corrections.py
holds each one to that line. ``correct`` runs on every packet aprslib decoded.
"""

import calendar
import re
from datetime import datetime, timedelta, timezone

from . import devices
from .tnc2 import info_field, message_parts

MPH_TO_MS = 0.44704
KNOTS_TO_KMH = 1.852
_DAY_HOUR_MINUTE_UTC = re.compile(r"^(\d{2})(\d{2})(\d{2})z$")
_MIC_E_ALTITUDE = re.compile(r"^([!-{]{3})\}")  # APRS101 ch. 10: metres above -10 km, base 91
CLOCK_SKEW = timedelta(hours=12)  # a station's clock that runs ahead is not a month ago
CLOCK_SKEW_TIME_OF_DAY = timedelta(minutes=10)  # ... nor a day ago


def correct(packet, raw, now=None):
    """Mend ``packet`` (aprslib's dict for ``raw``) in place; return it."""
    if "weather" in packet:
        _weather_wind(packet)
        _weather_placeholders(packet)
        _comment_as_sent(packet, raw)
    if "course" in packet and "speed" not in packet:
        _zero_speed(packet, raw)
    if packet.get("format") == "mic-e":
        _mic_e_device(packet, raw)
    elif packet.get("to"):
        device = devices.by_destination(packet["to"])
        if device:
            packet["device"] = device
    if packet.get("format") == "message" and packet.get("message_text") is not None:
        _message_text_as_sent(packet, raw)
    _day_of_month_timestamp(packet, now)
    _time_of_day_timestamp(packet, now)
    if packet.get("timestamp") == 0:  # aprslib's answer for a timestamp it cannot read
        del packet["timestamp"]
    return packet


def _weather_wind(packet):
    """APRS101 ch. 12 (Weather Reports): after a weather symbol ``_``, ``ddd/sss`` is the
    wind direction and its speed in mph, not a course and a speed in knots.
    ``M0XDC>APWW10,...:/051340z5140.36N/00018.39E_184/009g020t044...``: wind from
    184° at 9 mph, no course or speed."""
    if packet.get("symbol") != "_" or "course" not in packet:
        return
    weather = packet["weather"]
    weather.setdefault("wind_direction", packet.pop("course"))
    speed = packet.pop("speed", None)
    if isinstance(speed, (int, float)):
        weather.setdefault("wind_speed", round(speed / KNOTS_TO_KMH * MPH_TO_MS, 3))


def _base91(text):
    value = 0
    for char in text:
        value = value * 91 + ord(char) - 33
    return value


def _zero_speed(packet, raw):
    """APRS101 ch. 7 (CSE/SPD): ``ddd/sss`` is course and speed in knots, and a speed
    of 000 is standing still, not unknown; aprslib drops it:
    ``SQ6NDL-9>APDR16,...:=5020.17N/01838.78E[318/000/A=000759 Grzegorz 73"``."""
    if f"{packet['course']:03d}/000".encode() in info_field(raw):
        packet["speed"] = 0.0


def _weather_placeholders(packet):
    """APRS101 ch. 12: a field a station has no sensor for is sent as dots or spaces;
    many send zeros instead. A pressure of 0 hPa is that, not a reading:
    ``SR9WXM>AKLPRZ,...:!4946.58N/01907.84E_237/016g021t036r...p...P...b00000h00``."""
    if packet["weather"].get("pressure") == 0:
        del packet["weather"]["pressure"]


def _comment_as_sent(packet, raw):
    """aprslib changes the case of weather comments (its snowfall field upper-cases an
    ``s``): ``F4BQH-13>APFD24,...:@051340z...b10035Station meteo de Marsac  (24)``
    became "MarSac". The comment is the station's text: take it from the line."""
    comment = packet.get("comment")
    if not comment:
        return
    text = _info_text(raw)
    at = text.lower().rfind(comment.lower())
    if at >= 0:
        packet["comment"] = text[at : at + len(comment)]


def _mic_e_device(packet, raw):
    """APRS 1.2 Mic-E addendum / aprs-deviceid: a Mic-E comment carries the radio's mark
    (`` `...._% ``: Yaesu FTM-400DR; ``]...=``: Kenwood TM-D710): it is the device,
    not text. ``SP9THC-3>UPUR58,...:`/^Ol*{-\\`"6z}_%`` has no comment at all. The
    mark is read from the line's end, which aprslib trims (``_ ``: Yaesu VX-8)."""
    comment = packet.get("comment") or ""
    mark = comment[:1] if comment[:1] in ("`", "'") else ""  # aprslib put the altitude's place before it
    body = comment[len(mark) :].strip()
    text = _info_text(raw)
    at = text.rfind(body) if body else -1
    if at >= 0:
        comment = mark + text[at:]
    device, comment = devices.mic_e(comment)
    if device:
        packet["device"] = device
    altitude = _MIC_E_ALTITUDE.match(comment)
    if altitude:  # behind a Kenwood mark aprslib reads it but leaves it in the comment
        packet.setdefault("altitude", _base91(altitude.group(1)) - 10000)
        comment = comment[altitude.end() :]
    if comment:
        packet["comment"] = comment
    else:
        packet.pop("comment", None)


def _message_text_as_sent(packet, raw):
    """APRS101 ch. 14 (Messages): the text is everything between the addressee's colon and
    the ``{`` of the number, spaces included; aprslib trims them:
    ``SR7EOP>APMI06,...::SR7EOP   : BITS.11111111,WX3in1Plus20 Telemetry``."""
    parts = message_parts(raw)
    if parts is not None and parts[0].strip() == packet["message_text"].strip():
        packet["message_text"] = parts[0]


def _info_text(raw):
    """The info field as aprslib reads it: UTF-8, else Latin-1."""
    info = info_field(raw)
    try:
        return info.decode("utf-8")
    except UnicodeDecodeError:
        return info.decode("latin-1")


def _time_of_day_timestamp(packet, now):
    """APRS101 ch. 6: ``HHMMSSh`` is a time of day (UTC), the most recent such moment;
    aprslib dates it today, so a line sent at 23:59 read just after midnight is a day
    ahead: ``OM6RU-1>APWW11,...:@184501h4911.92N/01915.05EyPHG3000APRS-IS for Win32``."""
    stamp = packet.get("timestamp")
    if not (packet.get("raw_timestamp") or "").endswith("h") or not isinstance(stamp, (int, float)) or not stamp:
        return
    now = now or datetime.now(timezone.utc)
    if stamp > (now + CLOCK_SKEW_TIME_OF_DAY).timestamp():
        packet["timestamp"] = int(stamp - 86400)


def _day_of_month_timestamp(packet, now):
    """APRS101 ch. 6 (Time Formats): ``DDHHMMz`` is a day of the month, hours and
    minutes, the most recent such moment that is not in the future (beyond a clock
    running a little ahead). aprslib puts it
    in the current month, so ``@310922z`` becomes 0 in a month without a 31st and a
    date in the future on the 1st of a month (the line of yesterday evening)."""
    found = _DAY_HOUR_MINUTE_UTC.match(packet.get("raw_timestamp") or "")
    if not found:
        return
    day, hour, minute = map(int, found.groups())
    if not (1 <= day <= 31 and hour < 24 and minute < 60):
        return
    now = now or datetime.now(timezone.utc)
    year, month = now.year, now.month
    for _ in range(13):  # back month by month to one that has the day and is not ahead
        if day <= calendar.monthrange(year, month)[1]:
            moment = datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
            if moment <= now + CLOCK_SKEW:
                packet["timestamp"] = int(moment.timestamp())
                return
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)

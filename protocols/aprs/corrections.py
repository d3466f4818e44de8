"""Where aprslib 0.7.2 decodes a field wrong, corrected in this one place.

Each correction names the rule (APRS Protocol Reference 1.0.1, "APRS101", and
its addenda) and a line of the test corpus it mends; tests/test_corrections.py
holds each one to that line. ``correct`` runs on every packet aprslib decoded.
"""

import calendar
import re
from datetime import datetime, timedelta, timezone

from . import devices
from .tnc2 import info_field

MPH_TO_MS = 0.44704
KNOTS_TO_KMH = 1.852
_DAY_HOUR_MINUTE = re.compile(r"^(\d{2})(\d{2})(\d{2})[z/]$")
CLOCK_SKEW = timedelta(hours=12)  # a station's clock that runs ahead is not a month ago


def correct(packet, raw, now=None):
    """Mend ``packet`` (aprslib's dict for ``raw``) in place; return it."""
    if "weather" in packet:
        _weather_wind(packet)
        _weather_placeholders(packet)
        _comment_as_sent(packet, raw)
    if packet.get("format") == "mic-e":
        _mic_e_device(packet)
    elif packet.get("to"):
        device = devices.by_destination(packet["to"])
        if device:
            packet["device"] = device
    _day_of_month_timestamp(packet, now)
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
    info = info_field(raw)
    try:
        text = info.decode("utf-8")
    except UnicodeDecodeError:  # as aprslib reads such a line
        text = info.decode("latin-1")
    at = text.lower().rfind(comment.lower())
    if at >= 0:
        packet["comment"] = text[at : at + len(comment)]


def _mic_e_device(packet):
    """APRS 1.2 Mic-E addendum / aprs-deviceid: a Mic-E comment carries the radio's mark
    (`` `...._% ``: Yaesu FTM-400DR; ``]...=``: Kenwood TM-D710): it is the device,
    not text. ``SP9THC-3>UPUR58,...:`/^Ol*{-\\`"6z}_%`` has no comment at all."""
    device, comment = devices.mic_e(packet.get("comment") or "")
    if device:
        packet["device"] = device
    if comment:
        packet["comment"] = comment
    else:
        packet.pop("comment", None)


def _day_of_month_timestamp(packet, now):
    """APRS101 ch. 6 (Time Formats): ``DDHHMMz`` is a day of the month, hours and
    minutes, the most recent such moment that is not in the future (beyond a clock
    running a little ahead). aprslib puts it
    in the current month, so ``@310922z`` becomes 0 in a month without a 31st and a
    date in the future on the 1st of a month (the line of yesterday evening)."""
    raw_stamp = packet.get("raw_timestamp") or ""
    found = _DAY_HOUR_MINUTE.match(raw_stamp)
    if not found or not raw_stamp.endswith("z"):
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

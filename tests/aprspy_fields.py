"""Run by .venv-peers/bin/python (aprspy 0.6.0 lives there): each line of the files named
on the command line, decoded by aprspy, as one JSON object per line on stdout, in the
units our decoder uses (tests/test_differential.py compares them). A line aprspy
refuses is ``{"error": ...}``."""

import json
import sys
from datetime import datetime, timezone

import aprspy
from aprspy.packets.generic import PacketJSONEncoder

FIELDS = {  # ours <- aprspy's, and how to convert
    "latitude": ("latitude", None),
    "longitude": ("longitude", None),
    "symbol_table": ("symbol_table", None),
    "symbol": ("symbol", None),
    "course": ("course", None),
    "speed": ("speed", lambda knots: knots * 1.852),
    "altitude": ("altitude", lambda feet: feet * 0.3048),
    "comment": ("comment", lambda text: text.strip()),
    "device": ("device_id", None),
    "object_name": ("object_name", lambda name: name.strip()),
    "addresse": ("addressee", None),
    "message_text": ("message", None),
    "msgNo": ("message_id", None),
}
WEATHER = {
    "temperature": ("temperature", lambda f: (f - 32) * 5 / 9),
    "humidity": ("humidity", None),
    "pressure": ("pressure", None),
    "wind_direction": ("wind_direction", None),
    "wind_speed": ("wind_speed", lambda mph: mph * 0.44704),
    "wind_gust": ("wind_gust", lambda mph: mph * 0.44704),
    "rain_1h": ("rain_1h", lambda inches: inches * 25.4),
    "rain_24h": ("rain_24h", lambda inches: inches * 25.4),
    "rain_since_midnight": ("rain_since_midnight", lambda inches: inches * 25.4),
}


def fields(packet):
    kind = type(packet).__name__
    attributes = {name: value for name, value in vars(packet).items() if name != "_parse_warnings"}
    decoded = json.loads(json.dumps(attributes, cls=PacketJSONEncoder))  # by name, dates as "%c"
    decoded = {name.lstrip("_"): value for name, value in decoded.items()}
    found = {"type": kind}
    for ours, (theirs, convert) in FIELDS.items():
        value = decoded.get(theirs)
        if ours == "altitude" and kind == "MICEPacket":
            convert = None  # Mic-E altitude is in metres already
        if value is not None and value != "":
            found[ours] = convert(value) if convert else value
    weather = {}
    for ours, (theirs, convert) in WEATHER.items():
        value = decoded.get(theirs)
        if value is not None:
            weather[ours] = convert(value) if convert else value
    if weather:
        found["weather"] = weather
    if decoded.get("timestamp") and decoded.get("timestamp_type") in ("zulu", "hms"):
        stamp = datetime.strptime(decoded["timestamp"], "%c").replace(tzinfo=timezone.utc)
        found["timestamp"] = int(stamp.timestamp())
        found["timestamp_type"] = decoded["timestamp_type"]
    return found


def main():
    for name in sys.argv[1:]:
        with open(name, "rb") as capture:
            for raw in capture.read().split(b"\n"):
                raw = raw.rstrip(b"\r")
                if not raw:
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("latin-1")
                try:
                    found = fields(aprspy.APRS.parse_packet(text))
                except Exception as exc:  # noqa: BLE001  (aprspy raises what it raises; that is the finding)
                    found = {"error": f"{type(exc).__name__}: {exc}"}
                print(json.dumps(found))


if __name__ == "__main__":
    main()

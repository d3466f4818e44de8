"""Our decoder beside an independent one, aprspy 0.6.0, over the whole test corpus.

Every field both can give (position, symbol, course/speed, altitude, comment,
weather, messages, objects, time of day, device) is compared. A disagreement
must be explained by one of the rules below; each rule's count over the corpus
is pinned in tests/data/aprspy-differences.json with the reason it is allowed
(which side the spec supports). A new kind of disagreement, or a count that
moves, fails: someone reviews it and updates the file.
"""

import json
import re
import subprocess
from collections import Counter
from datetime import datetime, timezone

import pytest

from protocols.aprs.decode import decode_packet
from tests.conftest import REPO
from tests.data import CORPUS_FILES, DATA, corpus_lines

ALLOWED = DATA / "aprspy-differences.json"
FIELDS = ("latitude", "longitude", "symbol_table", "symbol", "course", "speed", "altitude", "comment")
FIELDS += ("device", "object_name", "addresse", "message_text", "msgNo", "timestamp")
TOLERANCE = {"latitude": 1e-5, "longitude": 1e-5, "speed": 1.0, "altitude": 1.0, "temperature": 0.1}
TOLERANCE |= {"wind_speed": 0.05, "wind_gust": 0.05, "rain_1h": 0.1, "rain_24h": 0.1, "rain_since_midnight": 0.1}
TOLERANCE |= {"pressure": 0.05}


def info(raw):
    return raw.partition(b":")[2]


def comparable(field, value, raw=b""):
    if field == "timestamp" and value is not None:  # both date it against "now": compare what was sent
        sent = "%H:%M:%S" if sent_stamp(raw).endswith(b"h") else "%d %H:%M:%S"
        return datetime.fromtimestamp(value, timezone.utc).strftime(sent)
    if field in ("comment", "object_name") and isinstance(value, str):
        return value.strip() or None
    return value


def sent_stamp(raw):
    """The seven characters of a timestamp as sent: after an object's name, else after the type."""
    body = info(raw)
    return body[11:18] if body[:1] == b";" else body[1:8]


def raw_stamp(packet):
    return packet.get("raw_timestamp") or ""


def differ(field, ours, theirs):
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        return abs(ours - theirs) > TOLERANCE.get(field.rpartition(".")[2], 0)
    return ours != theirs


WEATHER_FIELDS = re.compile(r"(?:[\d.]{3}/[\d.]{3})?(?:[cgtrpPhbLls#][\d. -]{2,6})+\s*")
FREQUENCY = re.compile(r"\d{3}\.\d{3}MHz\s*")


def only_ours(field, ours, theirs):
    return get(ours, field) is not None and get(theirs, field) is None


def only_theirs(field, ours, theirs):
    return get(ours, field) is None and get(theirs, field) is not None


def get(packet, field):
    if field.startswith("weather."):
        return (packet.get("weather") or {}).get(field[8:])
    return packet.get(field)


def weather_prefix(ours, theirs):
    """aprspy's comment is ours behind weather fields it did not take out."""
    mine, other = (ours.get("comment") or "").strip(), (theirs.get("comment") or "").strip()
    return other.endswith(mine) and WEATHER_FIELDS.fullmatch(other[: len(other) - len(mine)]) is not None


RULES = {
    # name: does it explain the difference of ``field`` on this line? (reasons: tests/data/aprspy-differences.json)
    "weather-wind": lambda field, raw, ours, theirs: (
        "weather" in ours
        and (
            (field in ("course", "speed") and only_theirs(field, ours, theirs))
            or (field in ("weather.wind_direction", "weather.wind_speed") and only_ours(field, ours, theirs))
        )
    ),
    "weather-fields-in-comment": lambda field, raw, ours, theirs: (
        field == "comment" and "weather" in ours and weather_prefix(ours, theirs)
    ),
    "pressure-0-is-no-sensor": lambda field, raw, ours, theirs: (
        field == "weather.pressure" and get(ours, field) is None and get(theirs, field) == 0
    ),
    "nonstandard-weather-widths": lambda field, raw, ours, theirs: (
        field.startswith("weather.") and field != "weather.luminosity" and only_theirs(field, ours, theirs)
    ),
    "luminosity": lambda field, raw, ours, theirs: field == "weather.luminosity" and only_ours(field, ours, theirs),
    "course-000-is-unknown": lambda field, raw, ours, theirs: (
        field in ("course", "speed") and theirs.get("course") == 0 and ours.get("course") is None
    ),
    "device-from-destination": lambda field, raw, ours, theirs: (
        field == "device" and ours.get("format") != "mic-e" and only_ours(field, ours, theirs)
    ),
    "device-list-versions": lambda field, raw, ours, theirs: (
        ours.get("format") == "mic-e"
        and (
            field == "device"
            or field == "comment"
            and (ours.get("comment") or "")[:-2].strip() == (theirs.get("comment") or "").strip()
        )
    ),
    "frequency-in-comment": lambda field, raw, ours, theirs: (
        field == "comment" and FREQUENCY.match(ours.get("comment") or "") is not None
    ),
    "telemetry-definitions-are-messages": lambda field, raw, ours, theirs: (
        field in ("addresse", "message_text", "msgNo") and theirs["type"].startswith("Telemetry")
    ),
    "phg-rate-and-range-extensions": lambda field, raw, ours, theirs: (
        field == "comment" and (b"PHG" in info(raw) or b"RNG" in info(raw))
    ),
    "base91-comment-telemetry": lambda field, raw, ours, theirs: (
        field == "comment" and (theirs.get("comment") or "").startswith("|")
    ),
    "leading-slash-of-comment": lambda field, raw, ours, theirs: (
        field == "comment" and (theirs.get("comment") or "").strip() == "/" + (ours.get("comment") or "").strip()
    ),
    "control-characters-in-comment": lambda field, raw, ours, theirs: (
        field == "comment" and any(ord(char) < 32 or ord(char) == 127 for char in ours.get("comment") or "")
    ),
    "position-ambiguity-centre": lambda field, raw, ours, theirs: (
        field in ("latitude", "longitude") and ours.get("posambiguity", 0) > 0
    ),
    "dao-extra-precision": lambda field, raw, ours, theirs: (
        field in ("latitude", "longitude") and re.search(rb"![wW].{2}!", info(raw)) is not None
    ),
    "altitude-after-compressed-position": lambda field, raw, ours, theirs: (
        field in ("altitude", "comment") and ours.get("format") == "compressed" and b"/A=" in info(raw)
    ),
    "mic-e-altitude-after-telemetry-bytes": lambda field, raw, ours, theirs: (
        ours.get("format") == "mic-e"
        and (field == "altitude" and only_ours(field, ours, theirs))
        or field == "comment"
        and re.fullmatch(
            r".{3}\}" + re.escape((ours.get("comment") or "").strip()), (theirs.get("comment") or "").strip()
        )
        is not None
    ),
    "invalid-timestamp-type": lambda field, raw, ours, theirs: (
        field == "timestamp" and ours.get("timestamp") is None and info(raw)[7:8] not in (b"z", b"/", b"h")
    ),
    "beacon-destination": lambda field, raw, ours, theirs: theirs["type"] == "BeaconPacket",
    "malformed-position": lambda field, raw, ours, theirs: ours.get("format") == "unknown",
}


@pytest.fixture(scope="module")
def aprspy_fields():
    python = REPO / ".venv-peers" / "bin" / "python"
    if not python.exists():
        pytest.fail(".venv-peers is missing: `make test` (or `make peers`) installs aprspy there")
    files = [str(DATA / name) for name in CORPUS_FILES]
    result = subprocess.run(
        [str(python), str(REPO / "tests" / "aprspy_fields.py"), *files], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_every_disagreement_with_aprspy_is_explained_and_counted(aprspy_fields):
    lines = [line for name in CORPUS_FILES for line in corpus_lines(name)]
    assert len(aprspy_fields) == len(lines)
    counted, unexplained = Counter(), []
    for raw, theirs in zip(lines, aprspy_fields, strict=True):
        assert "error" not in theirs, (raw, theirs)
        ours = decode_packet(raw)
        if re.fullmatch(r"(29|30|31)\d{4}z", raw_stamp(ours)):  # aprspy reads it as this month allows: it varies
            counted["day-29-to-31-depends-on-the-month"] += 1
            continue
        pairs = [(field, ours.get(field), theirs.get(field)) for field in FIELDS]
        ours_weather, theirs_weather = ours.get("weather") or {}, theirs.get("weather") or {}
        pairs += [
            (f"weather.{key}", ours_weather.get(key), theirs_weather.get(key))
            for key in {*ours_weather, *theirs_weather}
        ]
        for field, mine, other in pairs:
            mine, other = comparable(field, mine, raw), comparable(field, other, raw)
            if (mine is None and other is None) or not differ(field, mine, other):
                continue
            rule = next((name for name, explains in RULES.items() if explains(field, raw, ours, theirs)), None)
            if rule is None:
                unexplained.append((field, raw, mine, other))
            else:
                counted[rule] += 1
    assert unexplained[:20] == [], f"{len(unexplained)} disagreements no rule explains"
    allowed = json.loads(ALLOWED.read_text())
    print("\n".join(f"{count:6d} {rule}" for rule, count in counted.most_common()))
    assert dict(counted) == {rule: entry["count"] for rule, entry in allowed.items() if entry["count"]}
    assert set(allowed) == {*RULES, "day-29-to-31-depends-on-the-month"}  # every rule has its reason written

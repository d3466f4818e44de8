"""The archive and the REST API on a real database (SQLite, and PostgreSQL in `make test`)."""

import base64
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from gateway import archive
from gateway.feed.items import packet_json
from gateway.models import Packet, Station
from protocols.aprs.decode import decode_line

pytestmark = pytest.mark.django_db
NOW = time.time()


def events(lines, start=NOW - 60, step=1.0):
    return [decode_line(raw, start + n * step) for n, raw in enumerate(lines)]


CAR = [f"N0DEMO-9>APRS,WIDE1-1:!4903.{n:02d}N/07201.80W>090/025Demo car {n}".encode() for n in range(5)]
WX = b"N0DEMO-5>APRS:@241200z4902.10N/07159.80W_180/010g015t045r000p000P000h65b10150"
OBJECT = b"N0DEMO>APRS:;DEMONET  *241200z4904.00N/07203.00WrDemo net"
STATUS = b"N0DEMO-9>APRS:>heading home"
BROKEN = b"N0DEMO-3>APRS:T#001,no,numbers"  # telemetry no decoder can read
LATIN1 = b"SP8EBC>APRS:>21\xb0C"


def api(path, **params):
    response = Client().get(path, params)
    return response.status_code, response.json()


def test_batch_stores_packets_and_folds_station_state():
    stored = archive.store_batch(events(CAR + [WX, OBJECT, STATUS, BROKEN, LATIN1]))
    assert stored == Packet.objects.count() == 10
    car = Station.objects.get(callsign="N0DEMO-9")
    assert car.packet_count == 6
    assert car.latitude == pytest.approx(49 + 3.04 / 60)
    assert (car.symbol, car.course, car.speed) == ("/>", 90.0, pytest.approx(46.3, abs=0.1))
    assert car.status == "heading home" and car.comment == "Demo car 4"
    assert Station.objects.get(callsign="DEMONET").symbol == "/r"  # an object is a station of its own
    assert Station.objects.get(callsign="N0DEMO-5").weather["humidity"] == 65
    bad = Packet.objects.get(source="N0DEMO-3")
    assert bad.format == "unknown" and "telemetry" in bad.error
    assert bytes(Packet.objects.get(source="SP8EBC").raw) == LATIN1
    archive.store_batch(events(CAR[:1], start=NOW))  # a later batch updates, never duplicates
    assert Station.objects.get(callsign="N0DEMO-9").packet_count == 7
    assert Station.objects.filter(callsign="N0DEMO-9").count() == 1


def test_a_known_station_is_written_back_whole():
    archive.store_batch(events([WX]))
    later = WX.replace(b"h65", b"h70").replace(b"@241200z", b"@241210z")
    archive.store_batch(events([later, STATUS.replace(b"N0DEMO-9", b"N0DEMO-5")], start=NOW))
    station = Station.objects.get(callsign="N0DEMO-5")
    assert station.packet_count == 3 and station.weather["humidity"] == 70
    assert station.status == "heading home" and station.symbol == "/_"
    assert station.last_heard > station.first_heard and station.weather_at == station.position_at


@pytest.mark.parametrize("shape", ["packet", "data"])
def test_a_nul_in_a_packet_is_kept_in_raw_and_replaced_in_text(shape):
    line = b"N0NUL>APRS:>status with a \x00 in it"  # real traffic holds them; PostgreSQL text cannot
    batch = events([line])
    if shape == "data":  # as the aprs consumers send it: the JSON text the feed made
        batch[0]["data"] = packet_json(batch[0].pop("packet"))
    archive.store_batch(batch)
    packet = Packet.objects.get(source="N0NUL")
    assert bytes(packet.raw) == line
    assert packet.data["status"] == "status with a \ufffd in it"
    assert Station.objects.get(callsign="N0NUL").status == "status with a \ufffd in it"


def test_a_station_keeps_the_device_it_sends_with():
    archive.store_batch(events([b'SP9THC-3>UPUR58,SR9KFZ*,WIDE1*:`/^Ol*{-\\`"6z}_%', CAR[0]]))
    status, body = api("/api/stations/SP9THC-3/")
    assert status == 200 and body["station"]["device"] == "Yaesu FTM-400DR"
    assert api("/api/stations/N0DEMO-9/")[1]["station"]["device"] == ""  # APRS names no device


def test_a_message_delivered_twice_is_stored_once():
    batch = events(CAR)
    for n, event in enumerate(batch):
        event["delivery"] = f"0123456789abcdef-{n}"
    again = [dict(event) for event in batch[3:]] + [dict(batch[0])]  # the layer hands three back, one twice
    assert archive.store_batch(batch[:3] + batch[:1]) == 3
    assert archive.store_batch(again) == 2
    assert Packet.objects.count() == 5
    assert Station.objects.get(callsign="N0DEMO-9").packet_count == 5
    assert archive.store_batch(events(CAR[:1])) == 1  # an import carries no delivery id: always stored
    assert Packet.objects.filter(delivery=None).count() == 1


@pytest.mark.parametrize("when", [NOW, 1700000000.0, 1700000000.5, 0.000001])
def test_times_go_to_the_database_as_django_would_send_them(when):
    from datetime import datetime, timedelta, timezone

    from django.db import connection

    from gateway.archive import _time_adapter

    adapt = _time_adapter(connection)
    for value in (
        datetime.fromtimestamp(when, tz=timezone.utc),
        datetime.fromtimestamp(when, tz=timezone(timedelta(hours=7))),  # another zone: Django's way
        None,
    ):
        assert adapt(value) == connection.ops.adapt_datetimefield_value(value)


def test_the_whole_corpus_is_stored(corpus):
    lines = [line for lines in corpus.values() for line in lines]
    for start in range(0, len(lines), 500):
        archive.store_batch(events(lines[start : start + 500]))
    assert Packet.objects.count() == len(lines)
    assert Packet.objects.filter(format="unknown").count() > 0
    assert Station.objects.count() > 100


def test_purge_keeps_recent_packets():
    archive.store_batch(events(CAR[:2], start=NOW - 10 * 86400) + events(CAR[2:], start=NOW))
    assert archive.purge(7) == 2
    assert Packet.objects.count() == 3


def test_stations_in_bbox_and_one_station_with_track():
    archive.store_batch(events(CAR + [WX, OBJECT, STATUS, b"VK2ABC>APRS:!3352.00S/15112.00E-"]))
    status, body = api("/api/stations/", bbox="-73,48,-71,50")
    assert status == 200
    assert {s["callsign"] for s in body["stations"]} == {"N0DEMO-9", "N0DEMO-5", "DEMONET"}
    status, body = api("/api/stations/", bbox="150,-35,-170,-30")  # across the antimeridian
    assert [s["callsign"] for s in body["stations"]] == ["VK2ABC"]
    status, body = api("/api/stations/n0demo-9/")
    assert body["station"]["status"] == "heading home"
    assert [point["lat"] for point in body["track"]] == [pytest.approx(49 + (3 + n / 100) / 60) for n in range(5)]
    assert api("/api/stations/NOBODY/") == (404, {"error": "no such station"})


def test_stations_heard_in_the_last_hours():
    archive.store_batch(events(CAR[:1], start=NOW - 3 * 3600) + events([WX], start=NOW - 3 * 86400))

    def heard(hours):
        found = api("/api/stations/", bbox="-73,48,-71,50", hours=hours)[1]["stations"]
        return {station["callsign"] for station in found}

    assert heard(1) == set() and heard(24) == {"N0DEMO-9"} and heard(168) == {"N0DEMO-9", "N0DEMO-5"}
    for bad in ("0", "-1", "x", "10000"):
        status, body = api("/api/stations/", bbox="-73,48,-71,50", hours=bad)
        assert status == 400 and "hours" in body["error"]


def test_packets_paging_filters_and_bad_packets():
    archive.store_batch(events(CAR + [BROKEN, LATIN1]))
    status, first = api("/api/packets/", callsign="N0DEMO-9", limit=3)
    assert status == 200 and len(first["packets"]) == 3
    status, second = api("/api/packets/", callsign="N0DEMO-9", limit=3, before=first["next_before"])
    assert len(second["packets"]) == 2 and second["next_before"] is None
    texts = [p["text"] for p in first["packets"] + second["packets"]]
    assert texts == [line.decode() for line in reversed(CAR)]
    status, latin = api("/api/packets/", callsign="SP8EBC")
    assert base64.b64decode(latin["packets"][0]["raw_b64"]) == LATIN1
    status, bad = api("/api/bad-packets/")
    assert [(p["source"], "telemetry" in p["error"]) for p in bad["packets"]] == [("N0DEMO-3", True)]
    status, unknown = api("/api/packets/", format="unknown")
    assert len(unknown["packets"]) == 1


def test_packets_page_newest_received_first_even_when_imported_out_of_order():
    archive.store_batch(events(CAR[:3], start=NOW - 30))  # heard live
    archive.store_batch(events(CAR[3:], start=NOW - 3600))  # imported later from an older capture
    seen, before = [], None
    while True:
        status, page = api("/api/packets/", callsign="N0DEMO-9", limit=2, **({"before": before} if before else {}))
        assert status == 200
        seen += [p["text"] for p in page["packets"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == [line.decode() for line in [*reversed(CAR[:3]), *reversed(CAR[3:])]]  # by time, each once
    status, gone = api("/api/packets/", before="999999")
    assert status == 400 and "not in the archive" in gone["error"]


def test_weather_series():
    later = WX.replace(b"t045", b"t050")
    archive.store_batch(events([WX, later]))
    status, body = api("/api/stations/N0DEMO-5/weather/")
    assert status == 200
    assert [round(w["temperature"], 1) for w in body["weather"]] == [7.2, 10.0]


def test_telemetry_comes_with_its_names_units_and_equations(corpus):
    """SP9UVG-13's reports and definitions as heard on APRS-IS (tests/data)."""
    lines = [line for line in corpus["sp8ebc_aprsis_lines.txt"] if line.startswith(b"SP9UVG-13>")]
    reports = [line for line in lines if b":T#" in line]
    archive.store_batch(events(lines, step=0.01))
    status, body = api("/api/stations/SP9UVG-13/telemetry/")
    assert status == 200 and len(body["telemetry"]) == len(reports) > 100
    assert body["telemetry"][0] == {
        "t": body["telemetry"][0]["t"],
        "sequence": "219",
        "analog": [163.0, 66.0, 19.0, 81.0, 79.0],
        "bits": "00000000",
    }
    assert body["names"][:5] == ["Vin", "Rx1h", "Dg1h", "Eff1h", "Effog"]
    assert body["units"][:5] == ["Volt", "Pkt", "Pkt", "Pcnt", "Pcnt"]
    assert body["equations"][0] == [0, 0.079, 0] and body["equations"][4] == [0, 10, 0]
    assert (body["bits"], body["project"]) == ("11111111", "Wx3in1Plus2.0Telemetry")
    archive.store_batch(events([b"N0TLM>APRS:T#001,1,2,3,4,5,10101010"]))
    status, bare = api("/api/stations/N0TLM/telemetry/")  # no definitions: raw values, default equations
    assert (bare["names"], bare["equations"], bare["bits"]) == ([], [[0, 1, 0]] * 5, "11111111")


@pytest.mark.parametrize(
    "path, params, reason",
    [
        ("/api/stations/", {}, "bbox is required"),
        ("/api/stations/", {"bbox": "1,2,3"}, "four numbers"),
        ("/api/stations/", {"bbox": "0,10,1,5"}, "south <= north"),
        ("/api/packets/", {"limit": "0"}, "limit"),
        ("/api/packets/", {"limit": "abc"}, "limit"),
        ("/api/packets/", {"limit": "²"}, "limit"),  # a digit to str.isdigit(), not to int() (found by fuzzing)
        ("/api/packets/", {"before": "²"}, "before"),
        ("/api/packets/", {"since": "yesterday"}, "since"),
        ("/api/packets/", {"since": "2026-11-02", "until": "2026-11-01"}, "since must not be after until"),
        ("/api/packets/", {"before": "x"}, "before"),
        ("/api/bad-packets/", {"until": "nope"}, "until"),
        ("/api/packets/", {"since": "1e308"}, "out of range"),
        ("/api/packets/", {"since": "-1e308"}, "out of range"),
        ("/api/packets/", {"since": "nan"}, "since"),
        ("/api/packets/", {"since": "0001-01-01T00:00:00+14:00"}, "out of range"),
        ("/api/packets/", {"until": "9999-12-31T23:59:59-14:00"}, "out of range"),
        ("/api/stations/N0DEMO/", {"since": "1e308"}, "out of range"),
        # int() of over 4,300 digits raises Python's own ValueError: it was a 500
        ("/api/packets/", {"limit": "9" * 5000}, "limit"),
        ("/api/packets/", {"before": "9" * 5000}, "before"),
        ("/api/bad-packets/", {"before": "9" * 5000}, "before"),
        ("/api/bad-packets/", {"limit": "1" + "0" * 4400}, "limit"),
        ("/api/packets/", {"before": str(2**63)}, "before"),  # past any id a database column holds
    ],
)
def test_bad_parameters_get_400_with_the_reason(path, params, reason):
    status, body = api(path, **params)
    assert status == 400 and reason in body["error"]


@pytest.mark.django_db(transaction=True)
async def test_the_archive_keeps_a_previous_leaders_packets_that_arrive_after_the_new_ones(caplog):
    """Fencing in the archive dropped them silently: received while the old lease held, they
    reach the archive late because its messages wait up to a second (docs/architecture.md)."""
    from channels.testing import ApplicationCommunicator

    from consumers.aprs.outputs import archive_body
    from consumers.archive import ArchiveConsumer

    def body(line, token, seq):
        event = decode_line(line, NOW)
        return archive_body({**event, "fence": token, "seq": seq}, packet_json(event["packet"]))

    worker = ApplicationCommunicator(ArchiveConsumer.as_asgi(), {"type": "channel", "channel": "aprs-archive"})
    new, old = CAR[:2], CAR[2:]
    await worker.send_input({"type": "archive.packets", "packets": [body(line, 7, n) for n, line in enumerate(new)]})
    await worker.send_input(
        {"type": "archive.packets", "packets": [body(line, 5, n + 9) for n, line in enumerate(old)]}
    )
    await worker.send_input({"type": "worker.stop"})  # stores what it gathered, then ends
    await worker.wait(5)
    stored = {bytes(raw) for raw in await sync_to_async(list)(Packet.objects.values_list("raw", flat=True))}
    assert stored == set(CAR)
    assert "packets of the previous leader (fencing token 5) arrive after the new one's (7)" in caplog.text

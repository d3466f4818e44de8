"""The REST API: stations, tracks, packets, weather, telemetry and bad packets, as JSON.

Plain Django views: read-only endpoints with simple parameters do not
need a framework. Every parameter is validated; a bad one gets a 400 with
``{"error": ...}`` naming it. Times are ISO 8601 (UTC if no offset) or Unix
seconds. docs/api.md is the reference.
"""

from datetime import datetime, timedelta, timezone

from django.db.models import Q
from django.http import JsonResponse
from django.utils import timezone as django_timezone
from django.views.decorators.http import require_GET

from gateway.feed.items import lossless
from gateway.models import Packet, Station

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_STATIONS = 2000


class BadParameter(ValueError):
    pass


def api_view(view):
    """GET only; BadParameter becomes a 400 with the reason."""

    @require_GET
    def wrapper(request, *args, **kwargs):
        try:
            return JsonResponse(view(request, *args, **kwargs))
        except BadParameter as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        except Station.DoesNotExist:
            return JsonResponse({"error": "no such station"}, status=404)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc)
"""Times a query may name: the database cannot hold (or shift to UTC) much beyond these."""


def parse_time(request, name, default):
    """``name`` as ISO 8601 (UTC if no offset) or Unix seconds; BadParameter if neither, or out of range."""
    value = request.GET.get(name)
    if value is None or value == "":
        return default
    try:
        try:
            moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
        except ValueError:
            moment = datetime.fromisoformat(value)
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except ValueError:
        raise BadParameter(f"{name}: {value!r} is neither ISO 8601 nor Unix seconds") from None
    except (OverflowError, OSError):
        raise BadParameter(f"{name}: {value!r} is out of range (1970 to 9999)") from None
    if not EARLIEST <= moment <= LATEST:
        raise BadParameter(f"{name}: {value!r} is out of range (1970 to 9999)")
    return moment


def time_range(request, default_span=timedelta(hours=24)):
    until = parse_time(request, "until", django_timezone.now())
    since = parse_time(request, "since", until - default_span)
    if since > until:
        raise BadParameter("since must not be after until")
    return since, until


MAX_ID = 2**63 - 1
"""The largest packet id a database column holds."""


def whole_number(value, low, high, reason):
    """``value`` as an int from ``low`` to ``high``, or BadParameter(reason). Read as ASCII
    digits no longer than ``high``'s: "²".isdigit() is true yet int("²") fails, and int() of
    5,000 digits raises Python's own ValueError (the 4,300-digit limit)."""
    if not (value.isascii() and value.isdigit() and len(value) <= len(str(high))) or not low <= int(value) <= high:
        raise BadParameter(reason)
    return int(value)


def parse_limit(request):
    value = request.GET.get("limit", str(DEFAULT_LIMIT))
    return whole_number(value, 1, MAX_LIMIT, f"limit: a whole number from 1 to {MAX_LIMIT}")


def parse_bbox(value):
    if not value:
        raise BadParameter("bbox is required: west,south,east,north in degrees")
    try:
        west, south, east, north = (float(v) for v in value.split(","))
    except ValueError:
        raise BadParameter("bbox: four numbers, west,south,east,north") from None
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise BadParameter("bbox: longitudes in -180..180, latitudes in -90..90, south <= north")
    return west, south, east, north


def station_json(station):
    return {
        "callsign": station.callsign,
        "latitude": station.latitude,
        "longitude": station.longitude,
        "position_at": station.position_at,
        "symbol": station.symbol,
        "course": station.course,
        "speed": station.speed,
        "altitude": station.altitude,
        "comment": station.comment,
        "status": station.status,
        "weather": station.weather,
        "weather_at": station.weather_at,
        "first_heard": station.first_heard,
        "last_heard": station.last_heard,
        "packet_count": station.packet_count,
        "path": station.last_path,
        "device": station.device,
    }


def packet_json(packet):
    raw = bytes(packet.raw)
    item = {
        "id": packet.id,
        "received": packet.received_at,
        "source": packet.source,
        "format": packet.format,
        "text": raw.decode("utf-8", "replace"),
        "packet": packet.data,
    }
    item.update(lossless(raw, item["text"]))
    if packet.error:
        item["error"] = packet.error
    return item


def page_of(request, found):
    """Newest received first (then highest id), ``limit`` at a time; ``before`` (the last page's
    next_before, a packet id) pages back from that packet. The order is the one the indexes on
    (source, received_at), (format, received_at) and received_at keep: by id, a station's page
    sorted all its packets first (264 ms for 78,000 of 1,000,000; 3 ms now, docs/fanout.md)."""
    before = request.GET.get("before")
    if before:
        before = whole_number(before, 0, MAX_ID, "before: a packet id from a previous page's next_before")
        last = Packet.objects.filter(id=before).values_list("received_at", flat=True).first()
        if last is None:
            raise BadParameter(f"before: packet {before} is not in the archive (purged since?)")
        found = found.filter(Q(received_at__lt=last) | Q(received_at=last, id__lt=before))
    limit = parse_limit(request)
    rows = list(found.order_by("-received_at", "-id")[: limit + 1])
    page = [packet_json(p) for p in rows[:limit]]
    return {"packets": page, "next_before": page[-1]["id"] if len(rows) > limit else None}


MAX_HOURS = 24 * 31


def parse_hours(request):
    """``hours``: only stations heard in the last so many hours (None: all)."""
    value = request.GET.get("hours")
    if value is None:
        return None
    try:
        hours = float(value)
    except ValueError:
        raise BadParameter(f"hours: a number of hours, 0 to {MAX_HOURS}") from None
    if not 0 < hours <= MAX_HOURS:
        raise BadParameter(f"hours: a number of hours, 0 to {MAX_HOURS}")
    return hours


@api_view
def stations(request):
    """Stations whose last position is inside bbox (heard in the last ``hours``), most recently heard first."""
    west, south, east, north = parse_bbox(request.GET.get("bbox"))
    hours = parse_hours(request)
    found = Station.objects.filter(latitude__gte=south, latitude__lte=north)
    if hours is not None:
        found = found.filter(last_heard__gte=django_timezone.now() - timedelta(hours=hours))
    if west <= east:
        found = found.filter(longitude__gte=west, longitude__lte=east)
    else:  # across the antimeridian
        found = found.exclude(longitude__gt=east, longitude__lt=west)
    rows = list(found.order_by("-last_heard")[: MAX_STATIONS + 1])
    return {"stations": [station_json(s) for s in rows[:MAX_STATIONS]], "truncated": len(rows) > MAX_STATIONS}


def station_packets(request, callsign):
    """The station (404 if unknown) and its packets over the request's since..until, oldest first."""
    since, until = time_range(request)  # a bad parameter is a 400 whether or not the station exists
    found = Station.objects.get(callsign=callsign.upper())
    in_range = Packet.objects.filter(source=found.callsign, received_at__gte=since, received_at__lte=until)
    return found, in_range.order_by("received_at")


@api_view
def station(request, callsign):
    """One station's last state and its track (positions) over since..until."""
    found, packets_in_range = station_packets(request, callsign)
    positions = packets_in_range.exclude(latitude=None)
    track = positions.values_list("received_at", "latitude", "longitude")[: MAX_LIMIT * 10]
    return {"station": station_json(found), "track": [{"t": t, "lat": lat, "lon": lon} for t, lat, lon in track]}


@api_view
def packets(request):
    """Packets by callsign, format and time, newest first, paged with ``before``."""
    since, until = time_range(request)
    found = Packet.objects.filter(received_at__gte=since, received_at__lte=until)
    if request.GET.get("callsign"):
        found = found.filter(source=request.GET["callsign"].upper())
    if request.GET.get("format"):
        found = found.filter(format=request.GET["format"])
    return page_of(request, found)


@api_view
def weather(request, callsign):
    """A weather station's readings over since..until, oldest first."""
    found, packets_in_range = station_packets(request, callsign)
    rows = packets_in_range.values_list("received_at", "data")[: MAX_LIMIT * 10]
    series = [{"t": t, **data["weather"]} for t, data in rows if isinstance(data.get("weather"), dict)]
    return {"callsign": found.callsign, "weather": series}


# A telemetry station's PARM/UNIT/EQNS/BITS messages (addressed to itself, APRS101 ch. 13) as
# aprslib decodes them: the field each fills in the answer.
TELEMETRY_DEFINITIONS = {"tPARM": "names", "tUNIT": "units", "tEQNS": "equations", "tBITS": "bits"}


def telemetry_definitions(callsign):
    """The latest of each definition message addressed to ``callsign``, whoever sent it."""
    sent = Packet.objects.filter(format="telemetry-message", data__addresse=callsign).order_by("-received_at")
    found = {"names": [], "units": [], "equations": [[0, 1, 0]] * 5, "bits": "11111111", "project": ""}
    for key, field in TELEMETRY_DEFINITIONS.items():
        latest = sent.filter(data__has_key=key).values_list("data", flat=True).first()
        if latest:
            found[field] = latest[key]
            if key == "tBITS":
                found["project"] = latest.get("title") or ""
    return found


@api_view
def telemetry(request, callsign):
    """A station's telemetry reports over since..until, oldest first, and how to read them."""
    found, packets_in_range = station_packets(request, callsign)
    rows = packets_in_range.filter(format="telemetry").values_list("received_at", "data")[: MAX_LIMIT * 10]
    reports = [
        {"t": t, "sequence": data.get("sequence"), "analog": data.get("analog") or [], "bits": data.get("bits")}
        for t, data in rows
    ]
    return {"callsign": found.callsign, "telemetry": reports, **telemetry_definitions(found.callsign)}


@api_view
def bad_packets(request):
    """Lines that did not decode, with the reason, newest first."""
    since, until = time_range(request)
    found = Packet.objects.filter(format="unknown", received_at__gte=since, received_at__lte=until)
    return page_of(request, found)

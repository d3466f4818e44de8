"""The archive: packets and each station's last state, stored in batches.

``store_batch`` takes the packets of ``archive.packets`` messages (the fields of
an ``aprs.packet`` event, the decoded ``packet`` as a dict or as the JSON text
the feed made of it, ``data``) and writes them in one transaction: one insert
(COPY on PostgreSQL) of packets, one read (locking them) and one upsert of the
stations they touch. Objects and items are stations of their own, under their
name.
"""

import json
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone as django_timezone

from gateway.models import Packet, Station


def without_nul(value):
    """PostgreSQL text and JSON cannot hold U+0000, which real packets carry:
    store U+FFFD instead (the exact bytes stay in ``raw``)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def _when(event):
    return datetime.fromtimestamp(event["received"], tz=timezone.utc)


class PacketRow(NamedTuple):
    """A ``Packet`` as its columns, cheaper to build than the model instance."""

    received_at: datetime
    source: str
    destination: str
    path: str
    format: str
    raw: bytes
    latitude: float | None
    longitude: float | None
    error: str
    data: str  # JSON text
    delivery: str | None


def _packet_row(event):
    data = event.get("data")
    if data is None:
        data = json.dumps(event["packet"])
    else:
        event["packet"] = json.loads(data)
    packet = event["packet"]
    if "\\u0000" in data:  # seldom: the JSON text shows whether any string holds U+0000
        packet = event["packet"] = without_nul(packet)
        data = json.dumps(packet)
    lat, lon = packet.get("latitude"), packet.get("longitude")
    has_position = isinstance(lat, (int, float)) and isinstance(lon, (int, float))
    return PacketRow(
        received_at=_when(event),
        source=(packet.get("from") or "")[:12].upper(),
        destination=(packet.get("to") or "")[:12],
        path=",".join(packet.get("path") or [])[:200],
        format=(packet.get("format") or "unknown")[:24],
        raw=event["raw"],
        latitude=lat if has_position else None,
        longitude=lon if has_position else None,
        error=(packet.get("error") or "")[:200],
        data=data,
        delivery=event.get("delivery"),
    )


def _insert(rows):
    """The packets in one statement: COPY on PostgreSQL, one executemany elsewhere. Django's
    ``bulk_create`` prepares and compiles every field of every row, which took most of a
    batch's time (docs/fanout.md); here only the three columns that need it are adapted, by
    the database's own operations, and the other values (text, floats) go as they are."""
    db = transaction.get_connection()  # the connection itself, not the per-context proxy
    adapt_time, binary = _time_adapter(db), db.Database.Binary
    values = [(adapt_time(row.received_at), *row[1:5], binary(row.raw), *row[6:10], row.delivery) for row in rows]
    quote = db.ops.quote_name
    table = quote(Packet._meta.db_table)
    columns = ", ".join(quote(Packet._meta.get_field(name).column) for name in PacketRow._fields)
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(values[0]))})", values)


def _time_adapter(db):
    """How a time goes to the database: as Django's backend adapts it, but on SQLite kept in
    UTC (Django's way with USE_TZ) a UTC time becomes its text directly. Django's adapter
    reads two settings and converts the time zone of every value: 5 % of a busy daemon's
    samples (docs/fanout.md)."""
    adapt = db.ops.adapt_datetimefield_value
    if db.vendor != "sqlite" or db.timezone is not timezone.utc:
        return adapt

    def sqlite_utc(when):
        if when is not None and when.tzinfo is timezone.utc:
            return str(when.replace(tzinfo=None))
        return adapt(when)

    return sqlite_utc


def station_key(packet):
    name = packet.get("object_name") or packet.get("item_name")
    return (name or packet.get("from") or "").strip()[:12].upper()


def _apply(station, event, row):
    """Fold one packet into a station's last state (an older packet, from an import,
    only counts: it never moves the last state back)."""
    packet = event["packet"]
    station.packet_count += 1
    station.first_heard = min(station.first_heard, row.received_at)
    if row.received_at < station.last_heard:
        return
    station.last_heard = row.received_at
    station.last_path = row.path
    if row.latitude is not None:
        station.latitude, station.longitude = row.latitude, row.longitude
        station.position_at = row.received_at
        for field in ("course", "speed", "altitude"):
            value = packet.get(field)
            if isinstance(value, (int, float)):
                setattr(station, field, float(value))
    if packet.get("symbol") and packet.get("symbol_table"):
        station.symbol = packet["symbol_table"] + packet["symbol"]
    if packet.get("comment"):
        station.comment = packet["comment"][:300]
    if packet.get("device"):
        station.device = packet["device"][:80]
    if packet.get("format") == "status" and packet.get("status"):
        station.status = packet["status"][:300]
    if packet.get("weather"):
        station.weather = packet["weather"]
        station.weather_at = row.received_at


def _undelivered(events):
    """The events not stored yet. A shared worker channel of channels-redis delivers at
    least once: when a worker stalls holding a message (paused, swapped out), another
    worker puts the message back on the queue, and both then have it."""
    ids = [event["delivery"] for event in events if event.get("delivery")]
    if not ids:
        return events
    stored = set()
    for start in range(0, len(ids), 500):  # SQLite's bound on query parameters
        chunk = ids[start : start + 500]
        stored.update(Packet.objects.filter(delivery__in=chunk).values_list("delivery", flat=True))
    fresh = []
    for event in events:
        delivery = event.get("delivery")
        if delivery:
            if delivery in stored:
                continue
            stored.add(delivery)
        fresh.append(event)
    return fresh


def store_batch(events):
    """Store packets and update their stations in one transaction; return how many were new
    (events carrying a ``delivery`` id already stored are skipped)."""
    with transaction.atomic():
        events = _undelivered(events)
        rows = [_packet_row(event) for event in events]
        keyed = [(station_key(event["packet"]), event, row) for event, row in zip(events, rows, strict=True)]
        keys = {key for key, _, _ in keyed if key}
        _insert(rows)
        existing = Station.objects.select_for_update().in_bulk(keys, field_name="callsign")
        created = {}
        for key, event, row in keyed:
            if not key:
                continue
            station = existing.get(key) or created.get(key)
            if station is None:
                station = created[key] = Station(callsign=key, first_heard=row.received_at, last_heard=row.received_at)
            _apply(station, event, row)
        _write_stations(created.values(), existing.values())
    return len(rows)


STATIONS_PER_STATEMENT = 500  # 19 values each: inside SQLite's and PostgreSQL's bounds on parameters


def _write_stations(new, known):
    """New stations inserted (two workers creating one meet its unique callsign, and the
    batch is tried again); known ones, locked when read, written back with
    INSERT ... ON CONFLICT (id) DO UPDATE; many rows per statement. Django's bulk_create
    (and bulk_update's CASE per field per station before it) prepared and compiled every
    field of every station: the largest part of a batch after the packets."""
    db = transaction.get_connection()
    fields = [field for field in Station._meta.concrete_fields if not field.primary_key]
    adapt = [_adapter(field, db) for field in fields]
    quote = db.ops.quote_name
    table, key = quote(Station._meta.db_table), quote(Station._meta.pk.column)
    columns = [quote(field.column) for field in fields]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns)

    def values(station):
        return [a(getattr(station, f.attname)) for f, a in zip(fields, adapt, strict=True)]

    def write(stations, names, row_values, tail=""):
        stations = list(stations)
        row = "(%s)" % ", ".join(["%s"] * len(names))
        with db.cursor() as cursor:
            for start in range(0, len(stations), STATIONS_PER_STATEMENT):
                part = stations[start : start + STATIONS_PER_STATEMENT]
                params = [value for station in part for value in row_values(station)]
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES {', '.join([row] * len(part))}{tail}", params
                )

    write(new, columns, values)
    write(known, [key, *columns], lambda s: [s.pk, *values(s)], f" ON CONFLICT ({key}) DO UPDATE SET {updates}")


def _adapter(field, db):
    """How a value of ``field`` goes to the database: times and JSON adapted as Django
    would, the rest (text, numbers, None) as it is."""
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return _time_adapter(db)
    if kind == "JSONField":
        return lambda value: None if value is None else json.dumps(value)
    return lambda value: value


def purge(days):
    """Forget packets older than ``days``; return how many went."""
    cutoff = django_timezone.now() - timedelta(days=days)
    deleted, _ = Packet.objects.filter(received_at__lt=cutoff).delete()
    return deleted

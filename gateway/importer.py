"""``aprs-gateway import``: packet captures into the archive, each packet at its own time.

Files are read as bytes (protocols/aprs/captures.py: TNC2 lines, aprx's
aprx-rf.log, Dire Wolf's console output), each packet decoded as the live
path decodes it and stored in batches through ``archive.store_batch``, so
stations come out as if the packets had been heard live (an older packet
never moves a station's last state back). A packet the archive already holds
(same time, same bytes) is skipped: an import can be run again, or cut short
and run again. Lines that are not packets are counted by reason, never fatal.
"""

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from gateway.archive import store_batch
from gateway.models import Packet
from protocols.aprs import captures
from protocols.aprs.decode import decode_line

BATCH = 1000


@dataclass
class Report:
    lines: int = 0
    packets: int = 0
    stored: int = 0
    already: int = 0  # in the archive before (or twice in the capture)
    formats: dict = field(default_factory=dict)  # file -> format
    not_packets: Counter = field(default_factory=Counter)  # reason -> lines


def read_lines(path):
    """A capture's lines as bytes, CR/LF taken off."""
    with open(path, "rb") as source:
        lines = source.read().split(b"\n")
    if lines[-1] == b"":  # what follows the last line end is no line
        lines.pop()
    return [line.rstrip(b"\r") for line in lines]


def import_files(paths, fmt=None, dry_run=False, progress=None):
    """Import captures; ``progress(lines_done, lines_total)`` is called after each batch.
    With ``dry_run`` nothing is written: ``stored`` says what would be."""
    files = [(path, read_lines(path)) for path in paths]
    total = sum(len(lines) for _, lines in files)
    report = Report()
    for path, lines in files:
        chosen = fmt or captures.detect(lines)
        report.formats[str(path)] = chosen
        batch = []
        for number, packet, when, reason in captures.read(lines, chosen, os.path.getmtime(path)):
            if packet is None:
                report.not_packets[reason] += 1
                continue
            report.packets += 1
            batch.append(decode_line(packet, when))
            if len(batch) >= BATCH:
                _store(batch, report, dry_run)
                batch = []
                report.lines = _done(report, files, path, number)
                if progress:
                    progress(report.lines, total)
        _store(batch, report, dry_run)
        report.lines = _done(report, files, path, len(lines))
        if progress:
            progress(report.lines, total)
    return report


def _done(report, files, path, number):
    """Lines read so far: every earlier file, and ``number`` of this one."""
    before = 0
    for other, lines in files:
        if other == path:
            return before + number
        before += len(lines)
    return before


def _store(batch, report, dry_run):
    fresh = _not_stored(batch)
    report.already += len(batch) - len(fresh)
    if fresh and not dry_run:
        store_batch(fresh)
    report.stored += len(fresh)


def _not_stored(batch):
    """The events of ``batch`` the archive does not hold yet (time and bytes), each once."""
    if not batch:
        return []
    times = [datetime.fromtimestamp(event["received"], tz=timezone.utc) for event in batch]
    rows = Packet.objects.filter(received_at__gte=min(times), received_at__lte=max(times))
    seen = {(when, bytes(raw)) for when, raw in rows.values_list("received_at", "raw")}
    fresh = []
    for when, event in zip(times, batch, strict=True):
        key = (when, event["raw"])
        if key not in seen:
            seen.add(key)
            fresh.append(event)
    return fresh

"""Which feed subscriptions a packet can match, without asking every one.

A map viewer's filter is an area (``a/`` box or ``r/`` circle). Such
subscriptions are filed under the 1° cells their areas cover; a packet with a
position is offered only to the subscriptions of its cell, so the cost of a
packet grows with the viewers who may want it, not with everyone connected.
Subscriptions to the whole feed (the empty filter) are kept apart: the hub
sends them one shared frame. The rest (callsigns, types, ...) are asked one by
one, as before.
"""

import math

CELL_DEGREES = 1.0
MAX_CELLS = 3600  # a filter covering more (60° x 60°) is asked for every packet


def cell_of(lat, lon):
    return (math.floor(min(lat, 89.999) / CELL_DEGREES), math.floor(lon / CELL_DEGREES) % int(360 / CELL_DEGREES))


def cells_of(box):
    """The cells a (south, west, north, east) box touches; west > east crosses the antimeridian."""
    south, west, north, east = box
    if east < west:
        east += 360
    rows = range(math.floor(south / CELL_DEGREES), math.floor(min(north, 89.999) / CELL_DEGREES) + 1)
    columns = range(math.floor(west / CELL_DEGREES), math.floor(east / CELL_DEGREES) + 1)
    if len(rows) * min(len(columns), 360) > MAX_CELLS:
        return None
    wrap = int(360 / CELL_DEGREES)
    return {(row, column % wrap) for row in rows for column in columns}


class SubscriberIndex:
    def __init__(self):
        self.everything = set()  # the empty filter: every packet
        self.anywhere = set()  # filters that can match a packet anywhere
        self.cells = {}  # (row, column) -> subscriptions whose areas touch that cell
        self.filed = {}  # subscription -> its cells
        self.messaging = set()  # server-port clients: messages routed to them whatever their filter

    def __len__(self):
        return len(self.everything) + len(self.anywhere) + len(self.filed)

    def __iter__(self):
        yield from self.everything
        yield from self.anywhere
        yield from self.filed

    def add(self, subscription):
        if getattr(subscription, "wants_message", None) is not None:
            self.messaging.add(subscription)
        boxes = subscription.filter.boxes
        if not subscription.filter.text and subscription.shares_frames:
            self.everything.add(subscription)
            return
        cells = set()
        for box in boxes or ():
            found = cells_of(box)
            if found is None:
                cells = None
                break
            cells |= found
        if boxes is None or cells is None:
            self.anywhere.add(subscription)
            return
        self.filed[subscription] = cells
        for cell in cells:
            self.cells.setdefault(cell, set()).add(subscription)

    def discard(self, subscription):
        self.messaging.discard(subscription)
        self.everything.discard(subscription)
        self.anywhere.discard(subscription)
        for cell in self.filed.pop(subscription, ()):
            members = self.cells[cell]
            members.discard(subscription)
            if not members:
                del self.cells[cell]

    def candidates(self, facts):
        """Subscriptions other than ``everything`` that may want this packet; each still
        has to match it."""
        if "lat" in facts:
            filed = self.cells.get(cell_of(facts["lat"], facts["lon"]))
            if filed:
                return (*self.anywhere, *filed) if self.anywhere else filed
        return self.anywhere

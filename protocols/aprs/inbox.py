"""What waits for one application instance: its events, and the packets it took but has
not acknowledged yet (docs/aprs-asgi.md: `aprs.packets`, `aprs.batches`, `aprs.ack`)."""

import asyncio
from collections import deque


class Inbox:
    """Events in the order they came. An instance that asked for batches (``most``) takes
    every packet waiting in a row, up to ``most``, as one ``aprs.packets`` event, and the
    server holds those until the instance acknowledges them: if the instance dies first,
    ``handed_over()`` gives its replacement the held packets again, then what waits."""

    def __init__(self, events=()):
        self.waiting = deque(events)
        self.held = deque()  # packets taken, not acknowledged, in order of their seq
        self.most = None  # packets per aprs.packets; None: one aprs.packet at a time
        self.arrived = asyncio.Event()

    def __len__(self):
        """Events and packets the application has not finished with (flow control counts them)."""
        return len(self.waiting) + len(self.held)

    def put(self, event):
        self.waiting.append(event)
        self.arrived.set()

    async def get(self):
        while not self.waiting:
            self.arrived.clear()
            await self.arrived.wait()
        event = self.waiting.popleft()
        if self.most is None or event["type"] != "aprs.packet":
            return event
        packets = [event]
        while self.waiting and len(packets) < self.most and self.waiting[0]["type"] == "aprs.packet":
            packets.append(self.waiting.popleft())
        self.held.extend(packets)
        return {"type": "aprs.packets", "packets": packets}

    def acknowledge(self, seq):
        """The instance has handed on every packet up to ``seq``: forget them."""
        while self.held and self.held[0]["seq"] <= seq:
            self.held.popleft()

    def handed_over(self):
        """What a replacement instance gets after its ``aprs.connect``: the packets its
        predecessor did not acknowledge, then every event it did not take."""
        return [*self.held, *(event for event in self.waiting if event["type"] != "aprs.connect")]

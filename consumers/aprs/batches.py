"""Layer messages that carry what arrived while the last one was on its way."""

import asyncio
import time


class Batches:
    """Items that arrive while a send is in flight, or within ``interval`` seconds of the last
    send, go together in the next one, up to ``most`` of them: an item after a quiet moment
    travels at once, and under load the channel layer sees at most one message per interval
    rather than one per packet. A crashing instance loses at most what arrived in that time.

    ``send(items)`` sends one batch and deals with its own errors."""

    def __init__(self, send, most, interval=0.0):
        self.send = send
        self.most = most
        self.interval = interval
        self.waiting = []
        self.sender = None  # the task sending, while anything waits
        self.last_sent = -interval

    async def add(self, item):
        self.waiting.append(item)
        if self.sender is None:
            self.sender = asyncio.ensure_future(self.drain())
        elif len(self.waiting) >= self.most:
            await asyncio.shield(self.sender)  # the layer is behind: so is whoever adds

    async def drain(self):
        try:
            while self.waiting:
                pause = self.last_sent + self.interval - time.monotonic()
                if pause > 0 and len(self.waiting) < self.most:
                    await asyncio.sleep(pause)  # what arrives meanwhile joins this batch
                batch, self.waiting = self.waiting[: self.most], self.waiting[self.most :]
                self.last_sent = time.monotonic()
                await self.send(batch)
        finally:
            self.sender = None

    async def delivered(self):
        """Wait until what was added has been sent."""
        if self.sender is not None:
            await self.sender

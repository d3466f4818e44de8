"""Layer messages that carry what arrived while the last one was on its way."""

import asyncio


class Batches:
    """Items that arrive while a send is in flight go together in the next one: at low rates
    each item travels at once, at high rates a message carries up to ``most`` of them, so the
    channel layer sees a few messages per second rather than one per packet. Nothing waits for
    a timer, and a crashing instance loses at most what arrived during one send.

    ``send(items)`` sends one batch and deals with its own errors."""

    def __init__(self, send, most):
        self.send = send
        self.most = most
        self.waiting = []
        self.sender = None  # the task sending, while anything waits

    async def add(self, item):
        self.waiting.append(item)
        if self.sender is None:
            self.sender = asyncio.ensure_future(self.drain())
        elif len(self.waiting) >= self.most:
            await asyncio.shield(self.sender)  # the layer is behind: so is whoever adds

    async def drain(self):
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[: self.most], self.waiting[self.most :]
                await self.send(batch)
        finally:
            self.sender = None

    async def delivered(self):
        """Wait until what was added has been sent."""
        if self.sender is not None:
            await self.sender

"""The "channel" workers (archive, outbox) as the daemon runs them.

Channels' ``Worker`` with three changes: a listener whose receive fails because
the layer is down waits for it (gateway/layers.py) rather than ending the
worker; each channel's application starts at once (``worker.start``), not
at its first message: the outbox has retries to make after a restart; and
``finish()`` ends it without losing what it was handed. What still ends it
(a bug) is the supervisor's business (process.py).
"""

import asyncio
import logging
import time

from channels.worker import Worker

from gateway.layers import cancel_surely, receive_patiently, receive_within

logger = logging.getLogger("gateway.worker")

DRAINED_AFTER = 0.3
"""Seconds a channel must stay empty, once stopping, before the worker stops taking from it."""


class PatientWorker(Worker):
    listeners = ()

    async def handle(self):
        self.listeners = [asyncio.ensure_future(self.listener(channel)) for channel in self.channels]
        await asyncio.wait(self.listeners)
        for listener in self.listeners:
            listener.result()

    async def listener(self, channel):
        receive = self.channel_layer.receive
        await self.hand(channel, {"type": "worker.start"})
        while True:
            await self.hand(channel, await receive_patiently(lambda: receive(channel), f"worker {channel}"))

    async def hand(self, channel, message):
        if not message.get("type", None):
            raise ValueError("Worker received message with no type.")
        queue = self.get_or_create_application_instance(channel, {"type": "channel", "channel": channel})
        await queue.put(message)

    async def finish(self, timeout):
        """On stopping, once this node's connections have handed on what they held: take
        what waits on the channels until each stays empty for ``DRAINED_AFTER``, then let
        each application finish what it holds (``worker.stop``: the archive stores what it
        gathered), all within ``timeout`` seconds. Cancelling a receive loses nothing: the
        message stays in the in-memory queue, or in channels-redis's backup queue."""
        deadline = time.monotonic() + timeout
        stuck = await cancel_surely(self.listeners, deadline)
        taken = 0
        for channel in self.channels:
            while not stuck and time.monotonic() < deadline:
                message = await receive_within(self.channel_layer, channel, DRAINED_AFTER, deadline)
                if message is None:
                    break
                await self.hand(channel, message)
                taken += 1
        instances = list(self.application_instances.values())
        for details in instances:
            details["input_queue"].put_nowait({"type": "worker.stop"})
        futures = [details["future"] for details in instances]
        late = ()
        if futures:
            _, late = await asyncio.wait(futures, timeout=max(0.1, deadline - time.monotonic()))
        for future in late:
            future.cancel()
        logger.info(
            "worker: finished (%d messages taken on stopping%s%s)",
            taken,
            f"; {len(stuck)} channel receives would not end" if stuck else "",
            f"; {len(late)} applications cancelled after {timeout:g} s" if late else "",
        )

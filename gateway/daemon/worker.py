"""The "channel" workers (archive, outbox) as the daemon runs them.

Channels' ``Worker`` with two changes: a listener whose receive fails because
the layer is down waits for it (gateway/layers.py) rather than ending the
worker, and each channel's application starts at once (``worker.start``), not
at its first message: the outbox has retries to make after a restart. What still
ends it (a bug) is the supervisor's business (process.py).
"""

from channels.worker import Worker

from gateway.layers import receive_patiently


class PatientWorker(Worker):
    async def listener(self, channel):
        receive = self.channel_layer.receive
        queue = self.get_or_create_application_instance(channel, {"type": "channel", "channel": channel})
        await queue.put({"type": "worker.start"})
        while True:
            message = await receive_patiently(lambda: receive(channel), f"worker {channel}")
            if not message.get("type", None):
                raise ValueError("Worker received message with no type.")
            queue = self.get_or_create_application_instance(channel, {"type": "channel", "channel": channel})
            await queue.put(message)

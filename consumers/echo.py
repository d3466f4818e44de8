"""Diagnostics: echo websockets written with raw ASGI events, one sync, one async.

They show the two consumer bases at their plainest and prove the websocket
stack (origin check, auth middleware, routing) works end to end.
"""

from channels.consumer import AsyncConsumer, SyncConsumer
from channels.exceptions import StopConsumer


def echo(event):
    """The websocket.send event that returns a received frame as it came."""
    if event.get("text") is not None:
        return {"type": "websocket.send", "text": event["text"]}
    return {"type": "websocket.send", "bytes": event.get("bytes") or b""}


class EchoSyncConsumer(SyncConsumer):
    def websocket_connect(self, event):
        self.send({"type": "websocket.accept"})

    def websocket_receive(self, event):
        self.send(echo(event))

    def websocket_disconnect(self, event):
        raise StopConsumer()


class EchoAsyncConsumer(AsyncConsumer):
    async def websocket_connect(self, event):
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, event):
        await self.send(echo(event))

    async def websocket_disconnect(self, event):
        raise StopConsumer()

"""daphne's server, with what the feed needs from it.

Websocket consumers get two scope extensions (gateway/names.py):
``BACKLOG_EXTENSION``, how far behind the client is (the slow-client rule),
and ``FRAME_EXTENSION``, a writer of prebuilt frames (gateway/feed/wsframe.py):
the feed hub encodes each frame once for all clients and puts it on each
socket with one send(), bypassing Channels' per-copy send path, autobahn and
twisted's per-write selector registration (docs/fanout.md has the profile).
"""

from functools import partial

from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor

from gateway.feed.wsframe import frame_writer
from gateway.names import BACKLOG_EXTENSION, CLOSE_EXTENSION, FRAME_EXTENSION
from protocols.tcp import unsent_bytes


class GatewayServer(Server):
    """daphne's ``Server`` with the feed's scope extensions; reports when every port listens."""

    def __init__(self, *args, on_listening=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_listening = on_listening
        self.ports = []

    def create_application(self, protocol, scope):
        if scope["type"] == "websocket":
            extensions = scope.setdefault("extensions", {})
            extensions[BACKLOG_EXTENSION] = {"bytes": lambda: unsent_bytes(protocol.transport)}
            extensions[FRAME_EXTENSION] = {"write": frame_writer(protocol)}
            extensions[CLOSE_EXTENSION] = {"close": partial(close_with, protocol)}
        return super().create_application(protocol, scope)

    def listen_success(self, port):
        super().listen_success(port)
        self.ports.append(port)
        if self.on_listening and len(self.ports) == len(self.endpoints):
            self.on_listening()

    def websocket_connections(self):
        return [
            p
            for p, details in self.connections.items()
            if isinstance(p, WebSocketProtocol) and "disconnected" not in details
        ]


def close_with(protocol, code, reason):
    """Send a close frame with ``code`` (see CLOSE_EXTENSION), on the reactor's thread."""
    reactor.callFromThread(protocol.sendCloseFrame, code=code, reasonUtf8=reason.encode("utf-8")[:120])


def without_websockets(application):
    """The application of a node without the web role: websocket handshakes get 403."""

    async def refuse_websockets(scope, receive, send):
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close"})
            return
        await application(scope, receive, send)

    return refuse_websockets

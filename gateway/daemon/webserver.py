"""daphne's server, with what the feed needs from it, and a cap on request bodies.

Websocket consumers get two scope extensions (gateway/names.py):
``BACKLOG_EXTENSION``, how far behind the client is (the slow-client rule),
and ``FRAME_EXTENSION``, a writer of prebuilt frames (gateway/feed/wsframe.py):
the feed hub encodes each frame once for all clients and puts it on each
socket with one send(), bypassing Channels' per-copy send path, autobahn and
twisted's per-write selector registration (docs/fanout.md has the profile).

daphne hands a request to the application only once its whole body is read,
and then all of it at once: ``CappedRequest`` answers 413 as soon as a body
passes ``MAX_REQUEST_BODY`` (by its Content-Length, or as it arrives) and
never reads the rest.

Websocket frames a client may not send are answered as RFC 6455 says, with a
close frame rather than a dropped connection (autobahn's ``failByDrop``):
invalid UTF-8 in a text frame gets 1007, a message over
``WEBSOCKET_MAX_MESSAGE`` gets 1009. Smaller frames that are still too large
for an endpoint get its error frame (consumers/frames.py).
"""

from functools import partial

from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import reactor

from gateway.feed.wsframe import frame_writer
from gateway.names import BACKLOG_EXTENSION, CLOSE_EXTENSION, FRAME_EXTENSION
from protocols.tcp import bound_send_buffer, unsent_bytes

WEBSOCKET_MAX_MESSAGE = 64 * 1024
"""Bytes of one websocket message (and frame) past which the connection is closed with 1009."""


class GatewayServer(Server):
    """daphne's ``Server`` with the feed's scope extensions; reports when every port listens."""

    def __init__(self, *args, on_listening=None, on_listen_failure=None, **kwargs):
        kwargs.setdefault("websocket_max_message_size", WEBSOCKET_MAX_MESSAGE)
        kwargs.setdefault("websocket_max_frame_size", WEBSOCKET_MAX_MESSAGE)
        super().__init__(*args, **kwargs)
        self.on_listening = on_listening
        self.on_listen_failure = on_listen_failure
        self.ports = []

    def create_application(self, protocol, scope):
        if scope["type"] == "websocket":
            extensions = scope.setdefault("extensions", {})
            extensions[BACKLOG_EXTENSION] = {"bytes": lambda: unsent_bytes(protocol.transport)}
            extensions[FRAME_EXTENSION] = {"write": frame_writer(protocol)}
            extensions[CLOSE_EXTENSION] = {"close": partial(close_with, protocol)}
            bound_send_buffer(protocol.transport, settings.FEED_SOCKET_BUFFER)
        return super().create_application(protocol, scope)

    def listen_success(self, port):
        """Every port listens before any connection comes: the place to cap request bodies."""
        if not self.ports:
            self.ws_factory.setProtocolOptions(failByDrop=False)  # a close frame with the reason's code
            build = self.http_factory.buildProtocol

            def capped(addr):
                protocol = build(addr)
                if protocol is not None:
                    protocol.requestFactory = CappedRequest
                return protocol

            self.http_factory.buildProtocol = capped
        super().listen_success(port)
        self.ports.append(port)
        if self.on_listening and len(self.ports) == len(self.endpoints):
            self.on_listening()

    def listen_error(self, failure):
        """daphne logs and stops the reactor, and the process would exit 0: say why instead."""
        if self.on_listen_failure is None:
            return super().listen_error(failure)
        self.on_listen_failure(f"cannot listen for HTTP: {failure.getErrorMessage()}")

    def websocket_connections(self):
        return [
            p
            for p, details in self.connections.items()
            if isinstance(p, WebSocketProtocol) and "disconnected" not in details
        ]


class CappedRequest(WebRequest):
    """daphne's request, answering 413 once the body passes ``MAX_REQUEST_BODY``."""

    refused = False
    received = 0

    def gotLength(self, length):
        if length is not None and length > settings.MAX_REQUEST_BODY:
            return self._too_large()
        return super().gotLength(length)

    def handleContentChunk(self, data):
        if self.refused:
            return
        self.received += len(data)
        if self.received > settings.MAX_REQUEST_BODY:
            return self._too_large()
        return super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        if not self.refused:
            return super().requestReceived(command, path, version)

    def _too_large(self):
        self.refused = True
        body = b'{"error":"request body over %d bytes"}' % settings.MAX_REQUEST_BODY
        self.channel.transport.write(
            b"HTTP/1.1 413 Content Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.channel.transport.loseConnection()


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

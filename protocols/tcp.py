"""Two things twisted's TCP transports do not offer, for clients we send a lot to.

``unsent_bytes``: how far behind a peer is (the feed's slow-client rule looks
at it for websocket clients and TCP clients of the APRS-IS server port alike).
``write_now``: put bytes on the socket at once when twisted holds nothing for
it; ``transport.write`` would buffer them, register the socket with the
selector and send on a later loop turn, about 40 µs per write whatever its
size (docs/fanout.md). Behind what twisted holds, bytes queue as usual, so
their order on the wire never changes.
"""


def unsent_bytes(transport):
    """Bytes queued in a twisted transport's write buffer (0 without a transport)."""
    if transport is None:
        return 0
    # twisted.internet.abstract.FileDescriptor's write buffer.
    return (
        len(getattr(transport, "dataBuffer", b""))
        - getattr(transport, "offset", 0)
        + getattr(transport, "_tempDataLen", 0)
    )


def write_now(transport, data):
    """Write ``data``; False if the connection is closed or closing."""
    if transport is None or not transport.connected or transport.disconnecting:
        return False
    if not getattr(transport, "TLS", False) and not transport._tempDataBuffer \
            and len(transport.dataBuffer) == transport.offset:
        try:
            data = data[transport.socket.send(data):]
        except BlockingIOError:
            pass
        except OSError:  # reset by the peer: twisted will see it and close
            return False
    if data:
        transport.write(data)
    return True

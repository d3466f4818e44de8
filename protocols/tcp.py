"""Two things twisted's TCP transports do not offer, for clients we send a lot to.

``unsent_bytes``: how far behind a peer is (the feed's slow-client rule looks
at it for websocket clients and TCP clients of the APRS-IS server port alike).
``write_now``: put bytes on the socket at once when twisted holds nothing for
it; ``transport.write`` would buffer them, register the socket with the
selector and send on a later loop turn, about 40 µs per write whatever its
size (docs/fanout.md). Behind what twisted holds, bytes queue as usual, so
their order on the wire never changes.

Both read the write buffer of ``twisted.internet.abstract.FileDescriptor``
(``dataBuffer``, ``offset``, ``_tempDataBuffer``, ``_tempDataLen``), which
twisted does not promise to keep. ``check_twisted()`` runs once at daemon
start and refuses to go on if they changed, rather than let a rename silently
switch off the slow-client rule; pyproject.toml pins twisted to the versions
this was checked with.
"""

import socket

BUFFER_FIELDS = ("dataBuffer", "offset", "_tempDataBuffer", "_tempDataLen")


class TwistedChanged(RuntimeError):
    """The installed twisted's transports no longer have the write buffer we read."""


def unsent_bytes(transport):
    """Bytes queued in a twisted transport's write buffer (0 without a transport)."""
    if transport is None:
        return 0
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def write_now(transport, data):
    """Write ``data``; False if the connection is closed or closing."""
    if transport is None or not transport.connected or transport.disconnecting:
        return False
    if (
        not getattr(transport, "TLS", False)
        and not transport._tempDataBuffer
        and len(transport.dataBuffer) == transport.offset
    ):
        try:
            data = data[transport.socket.send(data) :]
        except BlockingIOError:
            pass
        except OSError:  # reset by the peer: twisted will see it and close
            return False
    if data:
        transport.write(data)
    return True


def bound_send_buffer(transport, size):
    """Cap the kernel's send buffer of a TCP transport (``size`` bytes; Linux doubles it)."""
    sock = getattr(transport, "socket", None)
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


def check_twisted(transport=None):
    """Raise TwistedChanged unless ``transport`` (by default a bare FileDescriptor) keeps
    its write buffer where ``unsent_bytes`` and ``write_now`` read it, and counts a write there."""
    if transport is None:
        from twisted.internet.abstract import FileDescriptor

        transport = FileDescriptor()
        transport.startWriting = lambda: None  # no socket to register
        transport.connected = True
    missing = [name for name in BUFFER_FIELDS if not hasattr(transport, name)]
    if missing:
        raise TwistedChanged(
            f"twisted's transports lack {', '.join(missing)}: the slow-client rule cannot work "
            "with this twisted version; install the version pyproject.toml pins"
        )
    before = unsent_bytes(transport)
    transport.write(b"probe")
    if unsent_bytes(transport) != before + 5:
        raise TwistedChanged(
            "twisted no longer queues writes where unsent_bytes reads them; install the version pyproject.toml pins"
        )

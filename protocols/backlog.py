"""How far behind a TCP peer is: bytes twisted holds for it but has not sent.

The feed's slow-client rule looks at this for websocket clients (daphne's
protocol) and TCP clients of the APRS-IS server port alike.
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

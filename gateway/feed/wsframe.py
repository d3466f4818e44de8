"""Prebuilt websocket frames, written straight to a client's socket.

The hub sends the same packets to many clients. Through Channels and daphne
each copy goes consumer.send -> daphne -> autobahn's framing -> twisted's
write buffer -> a selector registration -> send() on a later loop turn:
about 40 µs a frame, whatever it holds (docs/fanout.md). Clients that get the
same packets get the same bytes, so the hub builds a frame once; this module
puts it on each socket with ``protocols.tcp.write_now``: one send() when
twisted holds nothing for that connection (the usual case), else behind what
twisted holds, so the order of frames on the wire never changes. daphne
offers it to websocket consumers as the scope extension
``aprs-gateway.write_frame`` (see gateway/daemon/webserver.py).
"""

import json
import struct

from protocols.tcp import write_now

TEXT_FIN = 0x81  # FIN + opcode 1 (text); server frames are not masked (RFC 6455 5.1)


def dumps(content):
    """A frame's text, which can always be sent: a lone surrogate that got this far is
    written as an escape rather than failing the send."""
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(content, separators=(",", ":"))
    return text


def text_frame(text):
    payload = text.encode("utf-8")
    size = len(payload)
    if size < 126:
        header = bytes((TEXT_FIN, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", TEXT_FIN, 126, size)
    else:
        header = struct.pack("!BBQ", TEXT_FIN, 127, size)
    return header + payload


def frame_writer(protocol):
    """A callable putting a frame on this connection's wire; False once it is closed."""

    def write(frame):
        if protocol.state != protocol.STATE_OPEN:
            return False
        return write_now(protocol.transport, frame)

    return write

"""The TNC2 text form of a packet, ``SRC>DEST,PATH1,PATH2:info``, on bytes.

Every module that needs a packet's header or info field reads it here: the
decoder, the q-construct rules, the AX.25 codec, the duplicate filter and the
message router. Nothing is decoded but the header's ASCII where text is asked
for; the info field stays bytes.
"""

import re


class HeaderError(ValueError):
    """A line without a readable ``SRC>DEST[,PATH]:`` header; the message says why."""


def split_header(line):
    """``SRC>DEST,PATH:info`` -> (source, dest, [path...], info), all bytes; HeaderError if not a packet."""
    head, colon, info = line.partition(b":")
    source, arrow, rest = head.partition(b">")
    if not colon or not arrow or not source or not rest:
        raise HeaderError("no TNC2 header")
    dest, *path = rest.split(b",")
    if not dest or any(not hop for hop in path):
        raise HeaderError("empty path element")
    return source, dest, path, info


def join_header(source, dest, path, info):
    """The inverse of ``split_header``."""
    return b",".join([source + b">" + dest, *path]) + b":" + info


def header_fields(line):
    """The header as text, leniently: {"from", "to", "path"}; {} if there is none."""
    head, colon, _ = line.partition(b":")
    source, arrow, rest = head.partition(b">")
    if not colon or not arrow or not source:
        return {}
    dest, *path = rest.decode("ascii", "replace").split(",")
    return {"from": source.decode("ascii", "replace"), "to": dest, "path": path}


def info_field(line):
    """Everything after the header's colon (b"" if there is none)."""
    return line.partition(b":")[2]


def message_addressee(line):
    """The addressee of a message (``SRC>DEST::CALL     :text``) as text, spaces stripped;
    None when the info field is not a message."""
    info = info_field(line)
    if info[:1] != b":":
        return None
    return info[1:10].decode("ascii", "replace").strip()


_MESSAGE_NUMBER = re.compile(rb"\{([A-Za-z0-9]{1,5})(\}([A-Za-z0-9]{0,5}))?$")


def message_parts(line):
    """A message's (text, number, reply-ack, takes reply-acks) as text: ``text{MM}AA`` is
    APRS 1.1's reply-ack form (``{MM}`` alone: the sender takes reply-acks, has none to
    give). None when the info field is not a message."""
    info = info_field(line)
    if info[:1] != b":" or info[10:11] != b":":
        return None
    body = info[11:]
    number = _MESSAGE_NUMBER.search(body)
    if number is None:
        return body.decode("utf-8", "replace"), "", "", False
    text = body[: number.start()].decode("utf-8", "replace")
    reply_ack = (number.group(3) or b"").decode("ascii")
    return text, number.group(1).decode("ascii"), reply_ack, number.group(2) is not None

"""What an APRS-IS server does to a packet a client uploads: refuse it or add a q-construct.

The rules are aprsc's (its ``parse_qc.c``, after the q algorithm of
aprs-is.net), reduced to the cases our server port meets:

- a packet whose path says it must not reach APRS-IS (``NOGATE``, ``RFONLY``)
  or that came from an unverified login (``TCPXX``, ``qAX``) is refused;
- a packet that names our server or the client again after its q-construct
  has looped, and is refused;
- the client's own packet (source = login) gets its path replaced by
  ``TCPIP*,qAC,<server>``;
- a packet the client heard on RF and already carries a q-construct (direwolf
  adds ``qAO``/``qAR``) keeps it;
- one without gets ``qAR,<login>`` (``,CALL,I`` at the end of the path
  becomes ``qAR,CALL`` or ``qAr,CALL``), as an iGate port does.

Everything works on bytes: the info field is never decoded.
"""

from . import tnc2
from .tnc2 import join_header

NO_GATE = (b"NOGATE", b"RFONLY")
UNVERIFIED = (b"TCPXX", b"TCPXX*", b"qAX")


class Refused(ValueError):
    """A packet an APRS-IS server does not take; the message says why (for counting)."""


def split_header(line):
    """``tnc2.split_header``, refusing a line without a header as an APRS-IS server does."""
    try:
        return tnc2.split_header(line)
    except tnc2.HeaderError as exc:
        raise Refused(str(exc)) from None


def refusal(path):
    """Why a packet with this path may not go to APRS-IS, or None."""
    for hop in path:
        call = hop.rstrip(b"*").upper()
        if call in NO_GATE:
            return call.decode("ascii").lower()
        if call in UNVERIFIED or hop in UNVERIFIED:
            return "unverified"
    return None


def q_index(path):
    return next((i for i, hop in enumerate(path) if len(hop) == 3 and hop[:1] == b"q"), None)


def add_q(line, login, server_id):
    """The line as our server passes it on, for a verified client logged in as ``login``."""
    source, dest, path, info = split_header(line)
    reason = refusal(path)
    if reason:
        raise Refused(reason)
    login_b, server_b = login.upper().encode("ascii"), server_id.upper().encode("ascii")
    q = q_index(path)
    if q is not None and not path[q + 1 :]:
        del path[q:]  # a q-construct with no callsign after it is dropped and rebuilt
        q = None
    if source.upper() == login_b and (q is None or path[q] != b"qAI"):
        return join_header(source, dest, [b"TCPIP*", b"qAC", server_b], info)
    if q is not None:
        after = [hop.upper() for hop in path[q + 1 :]]
        if server_b in after or login_b in after[:-1] or len(set(after)) < len(after):
            raise Refused("loop")
        if path[q] == b"qAI":  # a trace: each server appends the login it came from, then itself
            path += ([] if login_b in after else [login_b]) + [server_b]
        return join_header(source, dest, path, info)
    if len(path) >= 2 and path[-1] == b"I":
        via = path[-2]
        kind = b"qAR" if via.upper() == login_b else b"qAr"
        return join_header(source, dest, [*path[:-2], kind, via], info)
    return join_header(source, dest, [*path, b"qAR", login_b], info)


def rf_gated(line, login):
    """A line heard on RF by our own TNC, as an iGate logged in as ``login`` gates it."""
    source, dest, path, info = split_header(line)
    reason = refusal(path)
    if reason:
        raise Refused(reason)
    if any(hop.rstrip(b"*").upper() in (b"TCPIP", b"TCPXX") for hop in path) or info.startswith(b"}"):
        raise Refused("came from the internet")  # third-party or IS traffic a digi put on air
    return join_header(source, dest, [*path, b"qAR", login.upper().encode("ascii")], info)


def with_server_q(line, server_id):
    """Our own (web) packet as our server hands it to its clients: ``...,TCPIP*,qAC,<server>``."""
    source, dest, path, info = split_header(line)
    if q_index(path) is not None:
        return line
    tail = [b"qAC", server_id.upper().encode("ascii")]
    if not path or path[-1] != b"TCPIP*":
        tail.insert(0, b"TCPIP*")
    return join_header(source, dest, [*path, *tail], info)

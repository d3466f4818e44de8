"""What an APRS-IS server does to a packet a client uploads: refuse it or add a q-construct.

``incoming`` follows aprsc (``incoming.c``: the checks of ``incoming_parse``;
``parse_qc.c``: the q algorithm of aprs-is.net) for a verified client on an
inbound port (not client-only, not UDP), which is what our server port is.
In order, a packet is refused when:

- its header cannot be read: no ``:``, no ``>`` within the first 10 bytes,
  a source or destination that is not 1-9 letters, digits and ``-``, no info;
- its path holds ``,TCPXX`` (unverified), ``,NOGATE`` or ``,RFONLY``, or a
  path call that is not 1-9 letters, digits and ``-`` (with an optional
  trailing ``*``), q-constructs aside;
- it is a third-party packet (``}``) whose inner header has TCPIP or TCPXX;
- the q algorithm drops it: ``qAZ``; our server ID after the q-construct; a
  call twice after it; the login after it but not last; another verified
  client's login after it; a call after it that is not letters, digits and
  ``-``; a path ending in ``,I`` with no call before it;
- its source has an empty SSID (``SRC-``); a q-construct is not of type ``qA``;
- it is a general query (``?APRS?``, ``?WX?``, ...), a DX spot, comes from
  a disallowed source (``N0CALL*``, ``NOCALL*``, ``SERVER*`` by default, aprsc's
  glob syntax), was gated by a disallowed iGate, or is a message to ``KIPSS``
  or ``javaMSG``;
- its source is another client logged in here (aprsc counts it a duplicate).

Otherwise its q-construct becomes (``source == login`` compared exactly, as
aprsc does): for the client's own packet, the path ``TCPIP*,qAC,<server>`` (a
``qAI`` trace is kept); an existing q-construct with a call after it is kept
(``qAI`` gets the login, if missing, and our server ID appended); with none,
``,CALL,I`` becomes ``qAR,CALL`` (CALL = login) or ``qAr,CALL``, else
``qAS,<login>`` is appended. A q-construct with no call after it, or not three
characters long, is dropped first.

Everything works on bytes: the info field is never decoded.
"""

import fnmatch
import re

from . import tnc2
from .tnc2 import join_header

NO_GATE = (b"NOGATE", b"RFONLY")
UNVERIFIED = (b"TCPXX", b"TCPXX*", b"qAX")
CALL = re.compile(rb"[A-Za-z0-9-]{1,9}")
PATH_CALL = re.compile(rb"[A-Za-z0-9-]{1,9}\*?")
Q_CALL = re.compile(rb"[A-Za-z0-9-]+")
DISALLOWED_SOURCES = ("N0CALL*", "NOCALL*", "SERVER*")
"""aprsc's disallowed source calls, which it matches as prefixes (``NOCALL-1``, ``SERVER-5``);
IGATE_DISALLOW_SOURCE replaces them, in aprsc's glob syntax."""
DISALLOWED_LOGINS = ("pass",)
"""aprsc's built-in refusal: a client that wrote ``user pass ...`` has its words in the wrong order."""
DROPPED_ADDRESSEES = ("KIPSS", "JAVAMSG")
"""Messages to these (a Kenwood TH-D7's query, javAPRS's chat) flood APRS-IS: aprsc drops them."""


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


def matches(call, patterns):
    """Whether ``call`` (text) is one of ``patterns``, case ignored, in aprsc's glob syntax:
    ``*`` any characters, ``?`` one (``*DROP``, ``OH?DRU``, ``mi*rej``, ``N0CALL*``)."""
    call = call.upper()
    return any(fnmatch.fnmatchcase(call, pattern.upper().replace("[", "[[]")) for pattern in patterns)


def incoming(
    line, login, server_id, local_logins=frozenset(), disallowed_sources=DISALLOWED_SOURCES, disallowed_igates=()
):
    """The line as our server passes it on, from a verified client logged in as ``login``;
    ``local_logins``: the other verified logins of the port (upper case); ``disallowed_igates``:
    iGates whose gated packets are refused (aprsc's DisallowIgateCall). Refused otherwise."""
    head, colon, info = line.partition(b":")
    if not colon:
        raise Refused("no colon")
    if b">" not in head[:10]:
        raise Refused("no destination")
    source, _, rest = head.partition(b">")
    if not rest:
        raise Refused("no path")
    if not CALL.fullmatch(source) or source.endswith(b"-"):  # "SRC-": an empty SSID (aprsc)
        raise Refused("invalid source callsign")
    if not info:
        raise Refused("no info")
    dest, *path = rest.split(b",")
    if not CALL.fullmatch(dest):
        raise Refused("invalid destination callsign")
    reason = refusal(path)
    if reason:
        raise Refused(reason)
    q = q_index(path)
    if any(not PATH_CALL.fullmatch(hop) for hop in path[:q]):  # after the q-construct: q_dropcheck's rules
        raise Refused("invalid path callsign")
    if q is not None and path[q][:2] != b"qA":
        raise Refused("q-construct not of type qA")
    if info[:1] == b"}":
        inner = info[1:].partition(b":")[0]
        if b",TCPIP" in inner or b",TCPXX" in inner:
            raise Refused("third-party packet from the internet")
    path = q_algorithm(source, path, login, server_id, local_logins)
    if info[:1] == b"?":
        raise Refused("general query")
    if info.startswith(b"DX de "):
        raise Refused("DX spot")
    text_source = source.decode("ascii")
    if matches(text_source, disallowed_sources):
        raise Refused("disallowed source callsign")
    if disallowed_igates and gated_by(path, disallowed_igates):
        raise Refused("gated by a disallowed iGate")
    addressee = info[1:10].decode("ascii", "replace").strip().upper() if info[:1] == b":" else ""
    if addressee in DROPPED_ADDRESSEES:
        raise Refused(f"message to {addressee}")
    if text_source != login and text_source.upper() in local_logins:
        raise Refused("source logged in on another connection")
    return join_header(source, dest, path, info)


def gated_by(path, patterns):
    """Whether the iGate that put this packet on APRS-IS (the call after a qAR, qAr, qAO or qAo
    construct) is one of ``patterns``."""
    q = q_index(path)
    if q is None or path[q] not in (b"qAR", b"qAr", b"qAO", b"qAo") or q + 1 >= len(path):
        return False
    return matches(path[q + 1].decode("ascii", "replace"), patterns)


def q_algorithm(source, path, login, server_id, local_logins):
    """The path with its q-construct, for a verified client on an inbound port."""
    login_b, server_b = login.encode("ascii"), server_id.encode("ascii")
    q = next((i for i, hop in enumerate(path) if hop[:1] == b"q"), None)
    if q is not None and (len(path[q]) != 3 or not path[q + 1 :]):
        del path[q:]  # not a qXX with a call after it: dropped, and rebuilt below
        q = None
    if source == login_b and (q is None or path[q] != b"qAI"):
        return [b"TCPIP*", b"qAC", server_b]
    if q is None:
        if path[-1:] == [b"I"]:
            if len(path) < 2:
                raise Refused("I without a via call")
            via = path[-2]
            return [*path[:-2], b"qAR" if via.upper() == login_b.upper() else b"qAr", via]
        path = [*path, b"qAS", login_b]
        q = len(path) - 2
    return q_dropcheck(path, q, login_b, server_b, local_logins)


def q_dropcheck(path, q, login_b, server_b, local_logins):
    """aprsc's checks of the calls after a q-construct, and the qAI trace."""
    if path[q] == b"qAZ":
        raise Refused("qAZ")
    after = path[q + 1 :]
    if server_b in after:
        raise Refused("loop: our server ID after the q-construct")
    if len(set(after)) < len(after):  # case-sensitive, as javAPRSSrvr and aprsc
        raise Refused("loop: a call twice after the q-construct")
    for i, call in enumerate(after):
        if call.upper() == login_b.upper():
            if i != len(after) - 1:
                raise Refused("loop: the login is not the last call after the q-construct")
        elif call.decode("ascii", "replace").upper() in local_logins:
            raise Refused("loop: another client's login after the q-construct")
        elif not Q_CALL.fullmatch(call):
            raise Refused("invalid call after the q-construct")
    if path[q] == b"qAI":
        login_seen = any(call.upper() == login_b.upper() for call in after)
        path = [*path, *([] if login_seen else [login_b]), server_b]
    return path


def traced(line, came_from, server_id):
    """A packet from another server, as ours passes it on: a ``qAI`` trace gets the server it
    came from (unless already there) and our server ID appended (the q algorithm's trace, as
    for a client's upload). Any other line, or one the trace would grow past 510 bytes, is
    returned as it is: a packet is never lost for its trace."""
    if b",qAI," not in line:  # the common case: one scan, nothing copied, on every uplink packet
        return line
    try:
        source, dest, path, info = split_header(line)
    except Refused:
        return line
    q = q_index(path)
    if q is None or path[q] != b"qAI":
        return line
    after = [call.upper() for call in path[q + 1 :]]
    trail = [
        call.encode("ascii") for call in (came_from, server_id) if call and call.encode("ascii").upper() not in after
    ]
    grown = join_header(source, dest, [*path, *trail], info)
    return grown if len(grown) <= 510 else line


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

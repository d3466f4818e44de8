"""The APRS-IS login exchange, both directions, as aprsc speaks it.

Client: ``user CALL-SSID pass PASSCODE vers NAME VERSION[ filter FILTER]``.
Server: ``# logresp CALL verified|unverified, server SERVERID``.

Read as aprsc's login.c reads it: words after ``user CALL`` in any order,
``pass`` that is no number is simply unverified, ``vers`` with one word,
``udp N`` ignored, everything after ``filter`` is the filter. The callsign
keeps the case it was given in (the logresp echoes it; aprslib compares).
"""

import re
from dataclasses import dataclass

import aprslib

RECEIVE_ONLY_PASSCODE = "-1"

_CALLSIGN = re.compile(r"^[A-Z0-9]{1,9}(-[A-Z0-9]{1,2})?$")
_LOGIN_CALL = re.compile(r"^[A-Za-z0-9-]{1,9}$")  # what aprsc's server port takes as a login
_KEYWORDS = {"pass", "vers", "udp", "filter"}
_LOGRESP = re.compile(
    r"^#\s*logresp\s+(?P<call>\S+)\s+(?P<verdict>verified|unverified)"
    r"(?:\s*,\s*server\s+(?P<server>\S+))?",
    re.IGNORECASE,
)


class LoginError(ValueError):
    """A login line that an APRS-IS server must refuse."""


@dataclass(frozen=True)
class Login:
    callsign: str  # upper case: how we compare and route
    passcode: str
    software: str
    version: str
    filter: str
    as_given: str = ""  # the callsign as the client wrote it: the logresp echoes it

    @property
    def verified(self):
        """True when the passcode is the one APRS-IS computes for this call."""
        return passcode_is_valid(self.callsign, self.passcode)


@dataclass(frozen=True)
class LogResp:
    callsign: str
    verified: bool
    server_id: str


def validate_callsign(callsign):
    callsign = callsign.upper()
    if not _CALLSIGN.match(callsign):
        raise LoginError(f"invalid callsign {callsign!r}")
    return callsign


def passcode_is_valid(callsign, passcode):
    try:
        return int(passcode) == aprslib.passcode(callsign.upper())
    except ValueError:  # "pass abc": unverified, as aprsc's atoi makes it
        return False


def format_login(callsign, passcode, software, version, filter_=""):
    """The login line a client sends, as bytes with CRLF."""
    if " " in software or " " in version:
        raise LoginError("software name and version must not contain spaces")
    line = f"user {callsign} pass {passcode} vers {software} {version}"
    if filter_:
        line += f" filter {filter_}"
    return line.encode("ascii") + b"\r\n"


def parse_login(line):
    """Parse a client's login line (bytes or str, no CRLF); raise LoginError."""
    if isinstance(line, bytes):
        line = line.decode("ascii", "replace")
    words = line.split()
    if len(words) < 2 or words[0].lower() != "user":
        raise LoginError("login line must be: user CALL pass PASSCODE vers NAME VERSION")
    call = words[1]
    if not _LOGIN_CALL.match(call):
        raise LoginError(f"invalid callsign {call!r}: 1 to 9 letters, digits or -")
    passcode, software, version, filter_ = RECEIVE_ONLY_PASSCODE, "", "", ""
    at = 2
    while at < len(words):
        keyword = words[at].lower()
        at += 1
        if keyword == "filter":
            filter_ = " ".join(words[at:])
            break
        if keyword == "pass" and at < len(words):
            passcode, at = words[at], at + 1
        elif keyword == "vers":
            taken = words[at : at + 2]
            while taken and taken[-1].lower() in _KEYWORDS:  # "vers Name filter ...": one word
                taken.pop()
            software, version = (taken + ["", ""])[:2]
            at += len(taken)
        elif keyword == "udp":
            at += 1  # aprsc would send UDP there; we do not, the login stands
    return Login(
        callsign=call.upper(),
        passcode=passcode,
        software=software,
        version=version,
        filter=filter_,
        as_given=call,
    )


def format_logresp(callsign, verified, server_id):
    verdict = "verified" if verified else "unverified"
    return f"# logresp {callsign} {verdict}, server {server_id}\r\n".encode("ascii")


def parse_logresp(line):
    """Parse a server comment line; None unless it is a logresp."""
    if isinstance(line, bytes):
        line = line.decode("ascii", "replace")
    match = _LOGRESP.match(line)
    if not match:
        return None
    return LogResp(
        callsign=match["call"].upper(),
        verified=match["verdict"].lower() == "verified",
        server_id=match["server"] or "",
    )

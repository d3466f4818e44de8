"""The APRS-IS login exchange, both directions, as aprsc speaks it.

Client: ``user CALL-SSID pass PASSCODE vers NAME VERSION[ filter FILTER]``.
Server: ``# logresp CALL verified|unverified, server SERVERID``.
"""

import re
from dataclasses import dataclass

import aprslib

RECEIVE_ONLY_PASSCODE = "-1"

_CALLSIGN = re.compile(r"^[A-Z0-9]{1,9}(-[A-Z0-9]{1,2})?$")
_LOGIN = re.compile(
    r"^user\s+(?P<call>\S+)"
    r"(?:\s+pass\s+(?P<passcode>-?\d+))?"
    r"(?:\s+vers\s+(?P<software>\S+)(?:\s+(?P<version>(?!filter\b)\S+))?)?"
    r"(?:\s+(?:UDP\s+\d+\s+)?filter\s+(?P<filter>.*))?\s*$",
    re.IGNORECASE,
)
_LOGRESP = re.compile(
    r"^#\s*logresp\s+(?P<call>\S+)\s+(?P<verdict>verified|unverified)"
    r"(?:\s*,\s*server\s+(?P<server>\S+))?",
    re.IGNORECASE,
)


class LoginError(ValueError):
    """A login line that an APRS-IS server must refuse."""


@dataclass(frozen=True)
class Login:
    callsign: str
    passcode: str
    software: str
    version: str
    filter: str

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
        return int(passcode) == aprslib.passcode(callsign)
    except ValueError:
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
    match = _LOGIN.match(line.strip())
    if not match:
        raise LoginError("login line must be: user CALL pass PASSCODE vers NAME VERSION")
    return Login(
        callsign=validate_callsign(match["call"]),
        passcode=match["passcode"] or RECEIVE_ONLY_PASSCODE,
        software=match["software"] or "",
        version=match["version"] or "",
        filter=(match["filter"] or "").strip(),
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

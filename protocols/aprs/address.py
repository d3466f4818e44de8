"""``host[:port]`` as the settings and the command line write a server's address.

An address that cannot be connected to is refused here, at start, rather
than retried forever: a host is an IP address (IPv6 in brackets when a port
follows) or a DNS name of letters, digits, ``-`` and ``.``.
"""

import ipaddress
import re

HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?")


def parse_host(text):
    """An IP address or a DNS name, as given; ValueError saying what is wrong."""
    host = text.strip()
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
        return bare
    except ValueError:
        pass
    if bare is host and len(host) <= 253 and HOST_NAME.fullmatch(host):
        return host
    raise ValueError(f"{text!r}: not an IP address or a host name")


def parse_server(text, default_port=14580):
    """``host[:port]`` (``[v6]:port`` too, or a bare IPv6 address) -> (host, port);
    ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: an IPv6 address goes in brackets, then :PORT")
        port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.count(":") > 1:  # an IPv6 address without a port, or nonsense
        host, port = text, ""
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{text!r}: not HOST:PORT (an IPv6 address with a port goes in brackets)") from None
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"{text!r}: no host")
    try:
        parse_host(f"[{host}]" if ":" in host else host)
    except ValueError:
        raise ValueError(f"{text!r}: {host!r} is not an IP address or a host name") from None
    try:
        port = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"{text!r}: port must be a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{text!r}: port out of range")
    return host, port

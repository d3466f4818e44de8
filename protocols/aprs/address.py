"""``host[:port]`` as the settings and the command line write a server's address."""


def parse_server(text, default_port=14580):
    """``host[:port]`` (``[v6]:port`` too) -> (host, port); ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"{text!r}: no host")
    try:
        port = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"{text!r}: port must be a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{text!r}: port out of range")
    return host, port

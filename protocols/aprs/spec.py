"""Names the ``aprs`` ASGI protocol defines (docs/aprs-asgi.md), for both its sides."""

SOFTWARE_NAME = "aprs-gateway"
"""How we name ourselves on APRS-IS: login ``vers``, greetings, keepalives."""

TOCALL = "APZGWY"
"""Destination of the packets we write ourselves (SERVER replies): APZ is the tocall
prefix the APRS registry leaves to experimental software."""

ASGI_VERSION = {"version": "3.0", "spec_version": "1.3"}

LINES_EXTENSION = "aprs-gateway.write_lines"
"""Scope extension of a server-port connection: write raw lines to the TCP client,
read its backlog, drop it (``write``, ``backlog``, ``drop``)."""

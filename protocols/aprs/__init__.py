"""The ``aprs`` ASGI protocol: APRS-IS connections as ASGI application instances.

The protocol is specified in docs/aprs-asgi.md. ``server`` owns application
instances, ``client`` speaks APRS-IS to upstream servers, ``lines`` frames the
byte stream, ``decode`` turns a line into a packet event, ``login`` holds the
login/logresp wire formats, and ``replay`` is a small APRS-IS server.
"""

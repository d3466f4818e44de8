"""APRS on the wire, and the ``aprs`` ASGI protocol (docs/aprs-asgi.md).

Codecs (pure, on bytes): ``lines`` (the APRS-IS byte stream into lines),
``tnc2`` (a packet's header, info field, addressee), ``login`` (login and
logresp lines), ``qconstruct`` (what a server does to an upload), ``dupes``
(the 30 s duplicate filter), ``kiss`` and ``ax25`` (radio frames),
``filters`` (the aprsc filter language), ``address`` (``host:port``).
Decoding: ``decode`` (aprslib, then ``parsing/``: one module per format
aprslib refuses).

The protocol server: ``server`` (one ASGI instance per connection), ``spec``
(its names), ``link`` (the shape of a link) and the three links: ``uplink``
(to APRS-IS), ``igate`` (our server port), ``tnc`` (a KISS TNC), with
``reconnect`` (backoff, rotating endpoints). ``replay`` is a small APRS-IS
server that plays a capture (the demo feed, tests, benchmarks).
"""

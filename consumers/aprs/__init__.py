"""The applications of the ``aprs`` ASGI protocol (docs/aprs-asgi.md), one per source.

``routing.SourceRouter`` picks one by ``scope["source"]``: ``aprsis``
(APRSNewsConsumer, the uplink to APRS-IS), ``igate`` (an iGate on our server
port), ``tnc`` (the KISS TNC). All three are an ``APRSConsumer`` (``base``:
packets to the feed, the archive and the news stream, gating upward) with
``messaging.Messaging`` (acks and web users' messages, with the outbox).
"""

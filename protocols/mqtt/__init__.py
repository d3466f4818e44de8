"""MQTT on the wire: the broker URL (``url.py``) and the link that turns one broker
session into ``mqtt`` ASGI events and back (``link.py``; spec: docs/mqtt-asgi.md)."""

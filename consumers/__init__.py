"""Channels consumers: the ``aprs`` application and the websocket endpoints."""

"""Every channel, group and scope-extension name, for every side that uses them.

Consumers, the feed hub, the daemon and the workers meet through these names
on the channel layer; one module holds them so a reader finds who talks to
whom (docs/architecture.md draws it).
"""

from protocols.aprs.spec import LINES_EXTENSION  # noqa: F401  (the aprs protocol's own, listed here too)

# --- worker channels ("channel" in config/asgi.py) ------------------------------
ARCHIVE_CHANNEL = "aprs-archive"
"""consumers/archive.py stores every packet the aprs applications send here."""
OUTBOX_CHANNEL = "aprs-outbox"
"""consumers/outbox.py: web users' APRS messages, transmitters, acks."""

# --- groups -------------------------------------------------------------------
FEED_GROUP = "aprs-feed"
"""Packets for the live feed, batched (``feed.packets``). Only each process's feed
hub (gateway/feed/hub.py) is a member: it reads the layer itself, not through a
consumer, and fans out to its local clients (docs/fanout.md says why)."""
HUB_CHANNEL_PREFIX = "aprs-feed-hub."
"""A hub's channel in the feed group (its capacity is set in config/settings.py)."""
ROOM_HUB_CHANNEL_PREFIX = "aprs-room-hub."
"""The chat rooms' hub's channel, in the group of every room with a member in its process
(gateway/room_hub.py)."""
NEWS_GROUP = "aprs-news"
"""Bulletins and announcements (``news.bulletin``) for the news stream."""
UPLINK_GROUP = "aprs-uplink"
"""The application instance of the APRS-IS uplink: where locally gated packets go up (``uplink.gate``)."""
MQTT_GROUP = "aprs-mqtt"
"""The MQTT bridge's application instance, on the node that leads: batches to publish (``mqtt.packets``)."""
TRANSMIT_GROUP = "aprs-transmitters"
"""Every aprs application instance of the cluster: the outbox's messages go to all (``transmitter.send``)."""


def room_group(room):
    """A chat room: each process's room hub, and the room's SSE streams."""
    return f"chat-room-{room}"


def user_group(user_id):
    """Every connection of one registered user (chat, outbox states)."""
    return f"chat-user-{user_id}"


def guest_group(nick):
    """Every connection of one chat guest."""
    return f"chat-guest-{nick.lower()}"


# --- websocket scope extensions our daphne server adds (gateway/daemon/webserver.py) ----
BACKLOG_EXTENSION = "aprs-gateway.send_backlog"
"""``bytes()``: how much the server holds unsent for this websocket client."""
FRAME_EXTENSION = "aprs-gateway.write_frame"
"""``write(frame)``: put a prebuilt websocket frame on the socket (gateway/feed/wsframe.py)."""
CLOSE_EXTENSION = "aprs-gateway.close_with"
"""``close(code, reason)``, from any thread: close with any RFC 6455 code. autobahn lets
an application send only 1000 and 3000-4999, so 1008 (policy violation) needs this."""

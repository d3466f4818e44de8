"""The one ASGI application of the daemon: every protocol it speaks.

Channels 4 documents ``path()`` and ``re_path()`` in ``URLRouter``; routes are
matched in order, first match wins. ``"channel"`` holds the background
workers, run in the daemon (role ``worker``) or by ``manage.py runworker``.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()  # sets Django up before consumers import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from consumers.aprs.aprsis import APRSNewsConsumer  # noqa: E402
from consumers.aprs.igate import IGateConsumer  # noqa: E402
from consumers.aprs.routing import SourceRouter  # noqa: E402
from consumers.aprs.tnc import TNCConsumer  # noqa: E402
from consumers.archive import ArchiveConsumer  # noqa: E402
from consumers.chat import AdminChatConsumer, PublicChatConsumer  # noqa: E402
from consumers.echo import EchoAsyncConsumer, EchoSyncConsumer  # noqa: E402
from consumers.feed import APRSFeedConsumer  # noqa: E402
from consumers.messages import MessagesConsumer  # noqa: E402
from consumers.mqtt import MQTTBridgeConsumer  # noqa: E402
from consumers.outbox import OutboxConsumer  # noqa: E402
from consumers.streams import LongPollConsumer, NotificationsConsumer  # noqa: E402
from gateway.names import ARCHIVE_CHANNEL, OUTBOX_CHANNEL  # noqa: E402
from gateway.web.limits import ConnectionLimit  # noqa: E402

websocket_routes = [
    path("ws/aprs/", APRSFeedConsumer.as_asgi()),
    path("ws/messages/", MessagesConsumer.as_asgi()),
    # chat/admin/ before the room pattern ("admin" is also no valid room name).
    path("chat/admin/", AdminChatConsumer.as_asgi()),
    path("chat/", PublicChatConsumer.as_asgi()),
    path("chat/<str:room>/", PublicChatConsumer.as_asgi()),
    path("ws/echo/sync/", EchoSyncConsumer.as_asgi()),
    path("ws/echo/async/", EchoAsyncConsumer.as_asgi()),
]

limit = ConnectionLimit()  # one count for HTTP, streams and websockets

application = ProtocolTypeRouter(
    {
        "http": limit(
            URLRouter(
                [
                    re_path(r"^notifications/(?P<stream>\w+)/$", NotificationsConsumer.as_asgi()),
                    path("longpoll/", LongPollConsumer.as_asgi()),
                    re_path(r"", django_application),
                ]
            )
        ),
        "websocket": limit(AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_routes)))),
        "aprs": SourceRouter(
            {
                "aprs-is": APRSNewsConsumer.as_asgi(),
                "igate": IGateConsumer.as_asgi(),
                "kiss": TNCConsumer.as_asgi(),
            }
        ),
        "mqtt": MQTTBridgeConsumer.as_asgi(),  # the MQTT bridge (docs/mqtt-asgi.md), with MQTT_URL
        "channel": ChannelNameRouter(
            {
                ARCHIVE_CHANNEL: ArchiveConsumer.as_asgi(),
                OUTBOX_CHANNEL: OutboxConsumer.as_asgi(),
            }
        ),
    }
)

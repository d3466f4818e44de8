"""Dispatch without Channels' per-event database housekeeping, for events that need none."""

from channels.consumer import get_handler_name


class NoDatabaseEvents:
    """Mixin for async consumers. Channels' ``AsyncConsumer.dispatch`` runs
    ``close_old_connections()`` in a thread before every event, so that Django
    never hands out a stale connection. The event types in ``NO_DATABASE``
    touch no database: they go straight to their handler, without the thread
    hop — at thousands of events a second, the difference between keeping up
    and falling seconds behind (docs/fanout.md)."""

    NO_DATABASE = frozenset()

    async def dispatch(self, message):
        if message["type"] in self.NO_DATABASE:
            return await getattr(self, get_handler_name(message))(message)
        return await super().dispatch(message)

"""Routing ``aprs`` connections by where they come from (``scope["source"]``)."""


class SourceRouter:
    """Like Channels' ProtocolTypeRouter, one level down: an application per APRS source."""

    def __init__(self, applications):
        self.applications = applications

    async def __call__(self, scope, receive, send):
        try:
            application = self.applications[scope["source"]]
        except KeyError:
            raise ValueError(f"no application for aprs source {scope['source']!r}") from None
        return await application(scope, receive, send)

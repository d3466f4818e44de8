"""The language a websocket client reads: what Django's LocaleMiddleware would pick for
its pages (the ``django_language`` cookie, else Accept-Language, else LANGUAGE_CODE).

Websockets do not pass through Django's middleware, so consumers take it from the scope.
"""

from types import SimpleNamespace

from django.utils import translation


def language_of(scope):
    headers = dict(scope.get("headers", ()))
    request = SimpleNamespace(
        COOKIES=scope.get("cookies", {}),
        META={"HTTP_ACCEPT_LANGUAGE": headers.get(b"accept-language", b"").decode("latin-1")},
    )
    return translation.get_language_from_request(request)


class InTheirLanguage:
    """Mixin for consumers: what they say on connecting and in answer to a client's frame
    (refusals, errors, the state of the connection) is in the client's language. Group
    events (the feed at thousands a second) pass untouched."""

    TRANSLATED = frozenset({"websocket.connect", "websocket.receive"})

    async def dispatch(self, message):
        if message["type"] not in self.TRANSLATED:
            return await super().dispatch(message)
        if not hasattr(self, "language"):
            self.language = language_of(self.scope)
        with translation.override(self.language):
            return await super().dispatch(message)

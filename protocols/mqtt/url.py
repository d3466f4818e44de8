"""``MQTT_URL``: ``mqtt://[user[:password]@]host[:port]`` (1883), ``mqtts://`` for TLS (8883)."""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool = False
    username: str = None
    password: str = None

    def __str__(self):
        """For logs and /api/status: never the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_broker_url(url):
    """The broker of ``url``; ValueError saying what is wrong with it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a broker URL ({exc})") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"{url!r}: the scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host (mqtt://host:1883)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: a broker URL has no path, query or fragment")
    return Broker(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )

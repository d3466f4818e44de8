"""Settings, read from the environment so one build serves every deployment.

Every variable is listed with its default in README.md ("Configuration").
A bad value stops the process at start with one line naming the variable
(``ImproperlyConfigured``), never later at run time.
"""

import ipaddress
import json
import math
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from protocols.aprs.address import parse_host, parse_server
from protocols.aprs.filters import FilterError, parse_filter
from protocols.mqtt.url import parse_broker_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected true/false")


def env_float(name, default, low, high):
    """A finite number from ``low`` to ``high`` (NaN and infinities are refused)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ImproperlyConfigured(f"{name}={value!r}: must be a number from {low:g} to {high:g}")
    return number


def env_int(name, default, low, high):
    """A whole number from ``low`` to ``high``."""
    number = env_float(name, default, low, high)
    if number != int(number):
        raise ImproperlyConfigured(f"{name}={os.environ[name]!r}: must be a whole number from {low} to {high}")
    return int(number)


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_servers(name, default_port, default=""):
    """``host[:port]`` addresses, comma-separated, as (host, port) pairs. A variable that is
    set but names no server (``,,,``) is refused rather than read as "none"."""
    if env(name, default).strip() and not env_list(name, default):
        raise ImproperlyConfigured(f"{name}={env(name)!r}: no HOST:PORT in it (unset it for none)")
    try:
        return [parse_server(text, default_port) for text in env_list(name, default)]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def env_host(name, default):
    """An address to listen on: an IP address or a host name."""
    value = env(name, default)
    try:
        return parse_host(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


DEBUG = env_bool("DEBUG")

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY and env("SECRET_KEY_FILE"):
    try:
        SECRET_KEY = Path(env("SECRET_KEY_FILE")).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"SECRET_KEY_FILE: {exc}") from None
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set unless DEBUG=true")
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
# Where the daemon's HTTP and websocket server listens (--bind, --port).
BIND = env_host("BIND", "127.0.0.1")
PORT = env_int("PORT", 8000, 1, 65535)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "gateway",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gateway.web.views.page_settings",
            ],
        },
    },
]


def env_database(name, default):
    """A database URL as dj-database-url reads it; a scheme it does not know stops the process."""
    try:
        return dj_database_url.parse(env(name, default), conn_max_age=600)
    except ValueError as exc:  # UnknownSchemeError is a ValueError
        raise ImproperlyConfigured(f"{name}: {exc}") from None


# By default a SQLite file in ./var/ (the checkout, for `make run`; the working
# directory, for an installed wheel or the systemd unit).
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{Path('var').resolve() / 'db.sqlite3'}")}
# The password may come from a file (docker secrets, systemd credentials) rather than the URL.
if env("DATABASE_PASSWORD_FILE"):
    try:
        DATABASES["default"]["PASSWORD"] = Path(env("DATABASE_PASSWORD_FILE")).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"DATABASE_PASSWORD_FILE: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several writers (archive and outbox workers, chat, and a second worker process)
    # share the file: a transaction takes the write lock when it begins, so none fails
    # at once on a lock upgrade ("database is locked"), and waits up to SQLITE_TIMEOUT
    # seconds for it; WAL lets the pages read while a worker writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=env_float("SQLITE_TIMEOUT", 20.0, 0.1, 3600),
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Outputs ----------------------------------------------------------------------
# What every batch of packets goes to (consumers/aprs/outputs.py: each says whether it
# runs once per node or once per cluster, and whether the settings turn it on).
APRS_OUTPUTS = [
    "consumers.aprs.outputs.FeedOutput",
    "consumers.aprs.outputs.BulletinOutput",
    "consumers.aprs.outputs.MessagesOutput",
    "consumers.aprs.outputs.GateUpOutput",
    "consumers.aprs.outputs.MQTTOutput",
    "consumers.aprs.outputs.ArchiveOutput",
]

# --- Archive ----------------------------------------------------------------------
ARCHIVE_ENABLED = env_bool("ARCHIVE_ENABLED", True)
ARCHIVE_RETENTION_DAYS = env_float("ARCHIVE_RETENTION_DAYS", 7.0, 0.01, 36500)
ARCHIVE_BATCH = env_int("ARCHIVE_BATCH", 2000, 1, 100_000)  # a write's own cost, over fewer packets: docs/fanout.md
ARCHIVE_FLUSH_INTERVAL = env_float("ARCHIVE_FLUSH_INTERVAL", 1.0, 0.01, 60)
# Packets the archive channel holds for a worker that is behind; past that they are counted and dropped.
ARCHIVE_CAPACITY = env_int("ARCHIVE_CAPACITY", 20000, 1, 10_000_000)


def env_redis(name):
    """A Redis URL (redis://, rediss://, unix://) with a host or a socket path, or None."""
    value = env(name)
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ImproperlyConfigured(f"{name}={value!r}: expected redis://HOST[:PORT][/DB] (or rediss://, unix://)")
    database = parts.path.lstrip("/") if parts.scheme != "unix" else ""
    if database and not (database.isascii() and database.isdigit() and int(database) <= 15):
        raise ImproperlyConfigured(f"{name}={value!r}: the database after the host is a number from 0 to 15")
    try:
        parts.port  # noqa: B018  (raises on a port that is no number or out of range)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r}: {exc}") from None
    return value


REDIS_URL = env_redis("REDIS_URL")
# Or Redis behind Sentinel, which fails over to a replica: the sentinels' host:port
# (comma-separated), the master's name, the database.
REDIS_SENTINELS = env_servers("REDIS_SENTINELS", 26379)
REDIS_SENTINEL_MASTER = env("REDIS_SENTINEL_MASTER", "mymaster")
REDIS_DB = env_int("REDIS_DB", 0, 0, 15)
if REDIS_URL and REDIS_SENTINELS:
    raise ImproperlyConfigured("REDIS_URL and REDIS_SENTINELS: set one of them")
# redis-py 8 times socket reads out after 5 s by default, the same as channels_redis'
# blocking BZPOPMIN: every idle receive would fail (channels_redis#422). Leave the pop
# room, still notice a dead Redis.
_REDIS_TIMEOUTS = {"socket_timeout": 15, "socket_connect_timeout": 5}
if REDIS_SENTINELS:
    REDIS = {"sentinels": REDIS_SENTINELS, "master_name": REDIS_SENTINEL_MASTER, "db": REDIS_DB, **_REDIS_TIMEOUTS}
elif REDIS_URL:
    REDIS = {"address": REDIS_URL, **_REDIS_TIMEOUTS}
else:
    REDIS = None
"""How to reach Redis (channels-redis's ``hosts`` entry; gateway/redis_client.py too), or None."""
_LAYER_CONFIG = {
    "capacity": 1000,
    "expiry": 60,
    # The feed hub (one per process) takes every packet: give it room for bursts.
    "channel_capacity": {"aprs-feed-hub.*": 20000, "aprs-archive": ARCHIVE_CAPACITY},
}
if REDIS:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "gateway.layers.RedisChannelLayer", "CONFIG": {"hosts": [REDIS], **_LAYER_CONFIG}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "gateway.layers.InMemoryChannelLayer", "CONFIG": _LAYER_CONFIG}}

# Vietnamese and English: the browser's Accept-Language chooses until the user picks one
# (the switcher on every page, remembered in the django_language cookie). English when
# the browser asks for neither. Catalogues: gateway/locale/ (docs/i18n.md).
LANGUAGE_CODE = "en"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "gateway" / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT")  # only for collectstatic; WhiteNoise serves from the apps
# Serve static files straight from the apps: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
# Browser libraries come from npm, pinned by package-lock.json, never a CDN. In a
# checkout they are served from node_modules (`make` runs `npm ci`), under the
# names package.json's "staticDirs" gives them; a wheel carries them in
# gateway/static/ (setup.py copies them there at build time).
NODE_MODULES = Path(env("NODE_MODULES", BASE_DIR / "node_modules"))
STATICFILES_DIRS = []
if (BASE_DIR / "package.json").exists():
    STATICFILES_DIRS = [
        (name, NODE_MODULES / source)
        for name, source in json.loads((BASE_DIR / "package.json").read_text())["staticDirs"].items()
    ]

# --- Web pages ------------------------------------------------------------
# Map tiles: any {z}/{x}/{y} URL; empty for no tiles (the map still works).
MAP_TILE_URL = env("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")
MAP_CENTER = [env_float("MAP_CENTER_LAT", 49.05, -90, 90), env_float("MAP_CENTER_LON", -72.03, -180, 180)]
MAP_ZOOM = env_int("MAP_ZOOM", 9, 1, 19)


def _origin(url):
    parts = urlsplit(url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


# No inline script anywhere, and nothing loaded from elsewhere but map tiles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *filter(None, [_origin(MAP_TILE_URL)])],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOG_LEVEL = env("LOG_LEVEL", "INFO").upper()
# No timestamps by default: journald and docker add their own.
LOG_TIMESTAMPS = env_bool("LOG_TIMESTAMPS", False)
LOG_REPEAT_LIMIT = env_int("LOG_REPEAT_LIMIT", 20, 0, 1_000_000)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": ("%(asctime)s " if LOG_TIMESTAMPS else "") + "%(levelname)s %(name)s: %(message)s"},
    },
    # Lines of one kind (logger, level, template) a minute before the rest of the minute is held
    # back (gateway/daemon/logs.py): 1,000 logins or bad frames cannot flood the log. 0: no limit.
    "filters": {"repeats": {"()": "gateway.daemon.logs.RepeatLimit", "limit": LOG_REPEAT_LIMIT}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["repeats"]}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}


# --- APRS-IS uplink -------------------------------------------------------
# Empty APRS_SERVERS means "demo": a sample capture played in-process.
APRS_SERVERS = env_servers("APRS_SERVERS", 14580)
APRS_CALLSIGN = env("APRS_CALLSIGN", "N0CALL").upper()
APRS_PASSCODE = env("APRS_PASSCODE", "-1")
APRS_FILTER = env("APRS_FILTER", "")
# A file holding the filter: read at start if set (over APRS_FILTER), and again on SIGHUP.
APRS_FILTER_FILE = env("APRS_FILTER_FILE", "")
if APRS_FILTER_FILE:
    try:
        APRS_FILTER = " ".join(Path(APRS_FILTER_FILE).read_text(encoding="ascii").split())
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(f"APRS_FILTER_FILE: {exc}") from None
APRS_STALE_TIMEOUT = env_float("APRS_STALE_TIMEOUT", 120.0, 1, 3600)
APRS_KEEPALIVE_INTERVAL = env_float("APRS_KEEPALIVE_INTERVAL", 240.0, 1, 3600)
APRS_RECONNECT_MIN = env_float("APRS_RECONNECT_MIN", 1.0, 0.01, 3600)
APRS_RECONNECT_MAX = env_float("APRS_RECONNECT_MAX", 60.0, 0.01, 86400)
APRS_ENABLED = env_bool("APRS_ENABLED", True)
if APRS_RECONNECT_MIN > APRS_RECONNECT_MAX:
    raise ImproperlyConfigured(
        f"APRS_RECONNECT_MIN={APRS_RECONNECT_MIN:g} is over APRS_RECONNECT_MAX={APRS_RECONNECT_MAX:g}"
    )

# --- Local radio: the APRS-IS server port for iGates, a KISS TNC --------------
# The port iGates (direwolf, aprx, APRSdroid) log in to; 0 = off. Runs on every
# node with the ingest role (14580 is APRS-IS's filtered port).
IGATE_PORT = env_int("IGATE_PORT", 0, 0, 65535)
IGATE_BIND = env_host("IGATE_BIND", BIND)  # --bind governs every listening socket
IGATE_LOGIN_TIMEOUT = env_float("IGATE_LOGIN_TIMEOUT", 30.0, 0.1, 3600)  # aprsc's
IGATE_KEEPALIVE_INTERVAL = env_float("IGATE_KEEPALIVE_INTERVAL", 20.0, 0.1, 3600)
# TCP clients the server port takes at once, in all and from one address (aprsc's maxclients).
IGATE_MAX_CLIENTS = env_int("IGATE_MAX_CLIENTS", 500, 1, 1_000_000)
# Source calls whose packets, logins, and iGates whose gated packets the server port refuses,
# as aprsc's DisallowSourceCall, DisallowLoginCall and DisallowIgateCall, in aprsc's glob
# syntax (* any characters, ? one: N0CALL*, *DROP, OH?DRU). aprsc matches its defaults as prefixes.
IGATE_DISALLOW_SOURCE = tuple(env_list("IGATE_DISALLOW_SOURCE", "N0CALL*,NOCALL*,SERVER*"))
IGATE_DISALLOW_LOGIN = tuple(env_list("IGATE_DISALLOW_LOGIN", ""))
IGATE_DISALLOW_IGATE = tuple(env_list("IGATE_DISALLOW_IGATE", ""))
IGATE_MAX_PER_ADDRESS = env_int("IGATE_MAX_PER_ADDRESS", 10, 1, 1_000_000)
# The server ID in logresp and q-constructs (qAC,<ID>): a callsign-like name.
IGATE_SERVER_ID = env("IGATE_SERVER_ID", "") or (APRS_CALLSIGN if APRS_CALLSIGN != "N0CALL" else "APRSGW")
# A KISS-over-TCP TNC (direwolf's KISSPORT is 8001): HOST:PORT, empty = none.
# Its link runs with the uplink (on the leading ingest node), so one node reads it.
KISS_SERVER = env_servers("KISS_SERVER", 8001)
if len(KISS_SERVER) > 1:
    raise ImproperlyConfigured("KISS_SERVER: one HOST:PORT")
KISS_SERVER = KISS_SERVER[0] if KISS_SERVER else None  # (host, port)
KISS_TRANSMIT = env_bool("KISS_TRANSMIT", False)  # web users' messages go on the air
KISS_TX_PATH = env("KISS_TX_PATH", "WIDE1-1")  # digipeater path of what we transmit; empty for none

# --- MQTT bridge (README "MQTT and Home Assistant"): off while MQTT_URL is unset --------
# mqtt://[user:password@]host[:port] (1883), mqtts:// for TLS (8883). The bridge runs on the
# node that leads (with the uplink), so each packet is published once in the cluster.
MQTT_URL = env("MQTT_URL", "")
try:
    MQTT_BROKER = parse_broker_url(MQTT_URL) if MQTT_URL.strip() else None
except ValueError as exc:
    raise ImproperlyConfigured(f"MQTT_URL: {exc}") from None
MQTT_PREFIX = env("MQTT_PREFIX", "aprs").strip("/")
if not MQTT_PREFIX or set(MQTT_PREFIX) & set("+#\x00"):
    raise ImproperlyConfigured(f"MQTT_PREFIX={MQTT_PREFIX!r}: a topic without + or # (default aprs)")
# What is published, in the APRS-IS filter language (empty: everything).
MQTT_FILTER = env("MQTT_FILTER", "")
try:
    parse_filter(MQTT_FILTER)
except FilterError as exc:
    raise ImproperlyConfigured(f"MQTT_FILTER: {exc}") from None
MQTT_HA_CALLSIGNS = tuple(call.upper() for call in env_list("MQTT_HA_CALLSIGNS", ""))
MQTT_QOS = env_int("MQTT_QOS", 0, 0, 1)
# Publications held while the broker is away (the oldest go first, counted).
MQTT_BUFFER = env_int("MQTT_BUFFER", 10_000, 1, 10_000_000)
MQTT_CLIENT_ID = env("MQTT_CLIENT_ID", "") or f"aprs-gateway-{socket.gethostname()}"

# What this node does: web (websocket clients), ingest (may hold the uplink),
# worker (background channel workers). Several nodes on one Redis split them.
ROLES = tuple(env_list("ROLES", "web,ingest,worker"))
if not ROLES or set(ROLES) - {"web", "ingest", "worker"}:
    raise ImproperlyConfigured(f"ROLES={','.join(ROLES)!r}: expected some of web, ingest, worker")

# --- Chat ----------------------------------------------------------------------
# Anonymous visitors may always read; with this on they may also speak under a
# guest nick (never a registered name or anything shaped like a callsign).
CHAT_ALLOW_GUESTS = env_bool("CHAT_ALLOW_GUESTS", False)
# Messages one sender may send in a burst, and the seconds that burst refills over.
CHAT_RATE_BURST = env_int("CHAT_RATE_BURST", 5, 1, 10_000_000)
CHAT_RATE_PERIOD = env_float("CHAT_RATE_PERIOD", 5.0, 0.01, 86400)
# --- Caps --------------------------------------------------------------------------
# Open HTTP requests, websockets and streams (SSE, long-poll) at once, in all and from
# one address; past them a websocket handshake gets 403 and a request 503.
MAX_CONNECTIONS = env_int("MAX_CONNECTIONS", 10000, 1, 10_000_000)
MAX_CONNECTIONS_PER_ADDRESS = env_int("MAX_CONNECTIONS_PER_ADDRESS", 64, 1, 10_000_000)
# Bytes a request body may have; a larger one is answered 413 before it is read.
MAX_REQUEST_BODY = env_int("MAX_REQUEST_BODY", 1024 * 1024, 1, 2**31)

# --- Accounts -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
# Failed logins an account, and an address, may have in LOGIN_FAILURE_WINDOW seconds
# before logins are refused for the rest of the window (gateway/web/throttle.py).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, 1, 10_000)
LOGIN_FAILURE_WINDOW = env_float("LOGIN_FAILURE_WINDOW", 900.0, 1, 10**7)
# The cache the login throttle counts in: shared by every node when Redis is there.
CACHES = {
    # Django's Redis cache takes a URL only: behind Sentinel each node counts on its own.
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Behind a TLS-terminating proxy (nginx, deploy/nginx.conf) -------------------------
# Trust its X-Forwarded-Proto, send cookies only over HTTPS, ask browsers for HTTPS
# only (HSTS), and redirect plain HTTP except the health and metrics endpoints.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000, 0, 10**9)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)

LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- APRS messages from the web (outbox) ---------------------------------------------
APRS_MESSAGING = env_bool("APRS_MESSAGING", False)
OUTBOX_TRIES = env_int("OUTBOX_TRIES", 5, 1, 100)
OUTBOX_RETRY = env_float("OUTBOX_RETRY", 30.0, 0.1, 86400)  # the first retry; each next one waits twice as long
OUTBOX_ROUTE_WAIT = env_float("OUTBOX_ROUTE_WAIT", 5.0, 0.1, 3600)  # seconds for a transmitter to take a new message


# --- Metrics --------------------------------------------------------------------
def env_networks(name, default):
    try:
        return [ipaddress.ip_network(item, strict=False) for item in env_list(name, default)]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
METRICS_TOKEN = env("METRICS_TOKEN", "")

# --- Live feed ---------------------------------------------------------------
# Packets a websocket client may have waiting before its oldest are dropped.
FEED_CLIENT_BUFFER = env_int("FEED_CLIENT_BUFFER", 1000, 1, 1_000_000)
# Bytes the server may have queued on one client's socket before it counts as slow.
FEED_CLIENT_BACKLOG = env_int("FEED_CLIENT_BACKLOG", 256 * 1024, 1024, 2**31)
# The kernel's send buffer for each feed socket (websocket and server-port clients).
# Bounded, so a client that stops reading shows up in FEED_CLIENT_BACKLOG at once
# instead of hiding megabytes in the kernel (Linux doubles the value given).
FEED_SOCKET_BUFFER = env_int("FEED_SOCKET_BUFFER", 64 * 1024, 1024, 2**31)
# Seconds between batched frames to a client (several packets per frame).
FEED_FLUSH_INTERVAL = env_float("FEED_FLUSH_INTERVAL", 0.02, 0.001, 10)
# Frames per second the hub aims not to pass: with more clients than this x the
# interval, the interval grows (1,000 clients: 50 ms). See docs/fanout.md.
FEED_FRAMES_PER_SECOND = env_float("FEED_FRAMES_PER_SECOND", 20000, 1, 10**7)
# Most packets one channel-layer message to the feed group carries.
FEED_BATCH_MAX = env_int("FEED_BATCH_MAX", 200, 1, 1000)
# Least seconds between two channel-layer messages of one connection's packets (feed,
# archive): a packet after a quiet moment goes at once; under load, what arrives within
# the interval travels together. Each message to Redis costs CPU whatever it holds: on
# channels-redis at 100 packets/s (archive on), 0.05 takes the daemon from 60 % of a core
# to 18 %, for 40-70 ms more latency (docs/fanout.md); 0.01 keeps the feed fastest.
LAYER_BATCH_INTERVAL = env_float("LAYER_BATCH_INTERVAL", 0.01, 0, 10)
# Seconds between a hub's "alive" notes in Redis; a hub silent for 4.5 of them (its
# node killed) is taken out of the feed group and chat rooms (gateway/members.py).
FEED_HUB_HEARTBEAT = env_float("FEED_HUB_HEARTBEAT", 20.0, 0.1, 3600)
# Recent packets each node keeps for long-polling clients (longpoll/).
LONGPOLL_BUFFER = env_int("LONGPOLL_BUFFER", 5000, 1, 10_000_000)
# Stations whose last position each node keeps for new map viewers ("recent").
FEED_HELD_STATIONS = env_int("FEED_HELD_STATIONS", 20000, 1, 10_000_000)

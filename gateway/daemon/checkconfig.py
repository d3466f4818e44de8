"""``aprs-gateway check-config``: what this configuration would do, secrets masked.

Loading the settings already validated every value, exactly as ``run`` loads
them (a bad one raised ImproperlyConfigured, which the command line prints as
one line); this adds the checks that need more than one setting, and says the
result in words.
"""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from protocols.aprs.login import RECEIVE_ONLY_PASSCODE, passcode_is_valid, validate_callsign


def mask_url(url):
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def local_radio():
    if "ingest" not in settings.ROLES:
        return []
    lines = []
    if settings.IGATE_PORT:
        lines.append(
            f"iGate server port: {settings.IGATE_BIND}:{settings.IGATE_PORT}, server ID {settings.IGATE_SERVER_ID}"
        )
    if settings.KISS_SERVER:
        host, port = settings.KISS_SERVER
        mode = (
            f"transmits web messages via {settings.KISS_TX_PATH or '(no path)'}"
            if settings.KISS_TRANSMIT
            else "receive only"
        )
        lines.append(f"KISS TNC: {host}:{port}, {mode}, gated as {validate_callsign(settings.APRS_CALLSIGN)}")
    return lines


def describe():
    lines = [f"roles: {', '.join(settings.ROLES)}"]
    if not settings.APRS_ENABLED or "ingest" not in settings.ROLES:
        lines.append("APRS-IS uplink: off on this node")
    elif not settings.APRS_SERVERS and (settings.IGATE_PORT or settings.KISS_SERVER):
        lines.append("APRS-IS uplink: none (no APRS_SERVERS; local radio only)")
    elif not settings.APRS_SERVERS:
        lines.append("APRS-IS uplink: DEMO feed (no APRS_SERVERS): a bundled capture, played locally")
    else:
        servers = settings.APRS_SERVERS
        callsign = validate_callsign(settings.APRS_CALLSIGN)
        if settings.APRS_PASSCODE == RECEIVE_ONLY_PASSCODE:
            login = "receive-only (passcode -1)"
        elif passcode_is_valid(callsign, settings.APRS_PASSCODE):
            login = "passcode *** (valid for this callsign: verified login expected)"
        else:
            login = "passcode *** (NOT valid for this callsign: the login will be unverified)"
        lines += [
            f"APRS-IS servers: {', '.join('%s:%d' % s for s in servers)} (tried in turn)",
            f"callsign: {callsign}, {login}",
            f"filter: {settings.APRS_FILTER or '(none)'}"
            + (f" (from {settings.APRS_FILTER_FILE}, re-read on SIGHUP)" if settings.APRS_FILTER_FILE else ""),
            f"stale after {settings.APRS_STALE_TIMEOUT:g} s; reconnect backoff "
            f"{settings.APRS_RECONNECT_MIN:g}-{settings.APRS_RECONNECT_MAX:g} s",
        ]
    lines += local_radio()
    if settings.MQTT_BROKER is not None:
        lines.append(
            f"MQTT bridge: {settings.MQTT_BROKER} as {settings.MQTT_CLIENT_ID}, topics {settings.MQTT_PREFIX}/..., "
            f"filter {settings.MQTT_FILTER or '(everything)'}, QoS {settings.MQTT_QOS}"
            + (f", Home Assistant: {', '.join(settings.MQTT_HA_CALLSIGNS)}" if settings.MQTT_HA_CALLSIGNS else "")
        )
    if settings.REDIS_SENTINELS:
        sentinels = ", ".join("%s:%d" % s for s in settings.REDIS_SENTINELS)
        lines.append(
            f"channel layer: Redis master {settings.REDIS_SENTINEL_MASTER!r} (database {settings.REDIS_DB}) "
            f"through the sentinels {sentinels} (nodes share it; one node holds the uplink)"
        )
    elif settings.REDIS_URL:
        lines.append(f"channel layer: Redis {mask_url(settings.REDIS_URL)} (nodes share it; one node holds the uplink)")
    else:
        lines.append("channel layer: in-memory (this process only)")
    database = settings.DATABASES["default"]
    where = (
        database["NAME"]
        if "sqlite" in database["ENGINE"]
        else (f"{database.get('USER')}:***@{database.get('HOST')}:{database.get('PORT')}/{database['NAME']}")
    )
    lines.append(f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {where}")
    lines.append(f"allowed hosts: {', '.join(settings.ALLOWED_HOSTS)}")
    lines.append(f"chat guests: {'may speak' if settings.CHAT_ALLOW_GUESTS else 'read only'}")
    networks = ", ".join(str(n) for n in settings.METRICS_ALLOWED_NETWORKS)
    lines.append(f"/metrics: {networks}" + (", or with the bearer token ***" if settings.METRICS_TOKEN else ""))
    lines.append(f"secret key: {'set' if settings.SECRET_KEY else 'MISSING'}; debug: {settings.DEBUG}")
    lines += [f"WARNING: {warning}" for warning in insecure_settings()]
    return "\n".join(lines)


def insecure_settings():
    """What a production deployment should not run with, in words."""
    public = [host for host in settings.ALLOWED_HOSTS if host not in ("localhost", "127.0.0.1", "[::1]")]
    warnings = []
    if settings.DEBUG:
        warnings.append("DEBUG is on: tracebacks and settings are shown to anyone who causes an error")
    if public and not settings.BEHIND_TLS_PROXY:
        warnings.append(
            f"ALLOWED_HOSTS names {', '.join(public)} but BEHIND_TLS_PROXY is off: logins and "
            "session cookies travel without TLS (set it when nginx terminates TLS)"
        )
    if len(settings.SECRET_KEY) < 50:
        warnings.append("SECRET_KEY is shorter than 50 characters")
    if public and not settings.METRICS_TOKEN:
        warnings.append("no METRICS_TOKEN: /metrics answers only direct requests from METRICS_ALLOWED_NETWORKS")
    return warnings

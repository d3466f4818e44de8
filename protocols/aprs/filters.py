"""APRS-IS server-side filters (aprsc's language) for the live feed and the server port.

A filter is space-separated parts such as ``r/49.05/-72.03/100 t/pw b/N0CALL*``.
A packet passes when any positive part matches and no ``-`` part does.
Packets are reduced once to a small dict of facts (``packet_facts``) so that
each client's filter is a few dict look-ups, not a re-parse.

Some parts need what the node knows beyond the packet (``Known``): ``m/`` the
client's own last position, ``f/`` a friend's, ``t/.../call/km`` a station's,
``q//I`` which iGates gate RF packets. A part that cannot be read is refused
with the reason; ``lenient`` parsing (the server port, as aprsc) keeps the
others and lists the refused ones in ``Filter.errors``.
"""

import math
import re

TYPE_LETTERS = "poimqstunwc*"
Q_LETTERS = "CXUoOSrRZI"
MIN_DISTANCE_KM = 0.1  # aprsc's smallest radius
MAX_CALL_PATTERN = 9  # aprsc's CALLSIGNLEN_MAX
_CWOP = re.compile(r"[CDE]W\d")  # Citizen Weather Observer Program stations: CW1234, DW..., EW...

# APRS data type identifier (first byte of the info field) -> t/ letter.
_TYPE_BY_DTI = {
    "!": "p",
    "=": "p",
    "/": "p",
    "@": "p",
    "`": "p",
    "'": "p",
    "$": "p",
    ";": "o",
    ")": "i",
    ":": "m",
    "?": "q",
    ">": "s",
    "T": "t",
    "{": "u",
    "_": "w",
}
_NWS_PREFIXES = ("NWS", "SKY", "CWA", "BOM")
_EARTH_RADIUS_KM = 6371.0
KM_PER_DEGREE = math.pi * _EARTH_RADIUS_KM / 180  # along a meridian


def gettext_noop(message):
    """Marks a message for the application's translation catalogues (Django's makemessages
    finds it by this name); protocols/ knows nothing of Django, so here it stays English."""
    return message


class FilterError(ValueError):
    """A filter the user must correct; the message says which part and why. ``template``
    and ``params`` let an application say it in its user's language:
    ``gettext(error.template) % error.params``."""

    def __init__(self, template, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


class Known:
    """What filters may ask the node beyond the packet; this one knows nothing.
    The feed hub (gateway/feed/hub.py) answers from the packets it has seen."""

    def position(self, call):
        """The last (lat, lon) of a station or object (upper case), or None."""
        return None

    def rf_igate(self, call):
        """Whether ``call`` gated RF packets (qAR/qAr) in the last hour (q//I)."""
        return False


NOTHING_KNOWN = Known()


def packet_facts(packet, raw):
    """What filters look at, computed once per packet (msgpack-safe)."""
    info = raw.partition(b":")[2]
    dti = chr(info[0]) if info else ""
    source = (packet.get("from") or "").upper()
    types = set()
    if dti in _TYPE_BY_DTI:
        types.add(_TYPE_BY_DTI[dti])
    if packet.get("format") in ("telemetry", "telemetry-message"):
        types.add("t")
    if "weather" in packet or packet.get("format") == "wx":
        types.add("w")
    addressee = (packet.get("addresse") or "").strip().upper()
    if dti == ":" and addressee.startswith(_NWS_PREFIXES):
        types.add("n")
    if _CWOP.match(source):
        types.add("c")
    path = packet.get("path") or []
    facts = {
        "raw": raw,  # what TCP clients of the server port get
        "from": source,
        "to": (packet.get("to") or "").upper(),
        "path": [hop.upper() for hop in path],
        "types": "".join(sorted(types)),
        "object": (packet.get("object_name") or packet.get("item_name") or "").strip().upper(),
        "symbol": (packet.get("symbol_table") or "") + (packet.get("symbol") or ""),
    }
    for at, hop in enumerate(path):  # the q-construct, case kept (qAR and qAr differ), and the entry call
        if len(hop) == 3 and hop.startswith("qA"):
            facts["q"] = hop[2]
            if at + 1 < len(path):
                facts["entry"] = path[at + 1].upper()
            break
    if dti == ":" and addressee:
        facts["addressee"] = addressee
    lat, lon = packet.get("latitude"), packet.get("longitude")
    if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
        facts["lat"], facts["lon"] = float(lat), float(lon)
    return facts


def distance_km(lat1, lon1, lat2, lon2):
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _numbers(part, args, count, names):
    if len(args) != count:
        raise FilterError(gettext_noop("%(part)r: expected %(fields)s"), part=part, fields="/".join(names))
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise FilterError(
            gettext_noop("%(part)r: %(fields)s must be numbers"), part=part, fields="/".join(names)
        ) from None
    if not all(math.isfinite(v) for v in values):
        raise FilterError(gettext_noop("%(part)r: numbers must be finite"), part=part)
    return values


def _check_lat_lon(part, lat, lon):
    if not -90 <= lat <= 90:
        raise FilterError(gettext_noop("%(part)r: latitude %(lat)s out of range -90..90"), part=part, lat=lat)
    if not -180 <= lon <= 180:
        raise FilterError(gettext_noop("%(part)r: longitude %(lon)s out of range -180..180"), part=part, lon=lon)


def _distance(part, value):
    if value < MIN_DISTANCE_KM:
        raise FilterError(gettext_noop("%(part)r: distance must be at least %(km)g km"), part=part, km=MIN_DISTANCE_KM)
    return value


def _calls(part, args, wildcards=True):
    if not args or not all(args):
        raise FilterError(gettext_noop("%(part)r: expected at least one callsign"), part=part)
    patterns = []
    for arg in args:
        if not re.fullmatch(rf"[A-Za-z0-9*?-]{{1,{MAX_CALL_PATTERN}}}", arg):
            raise FilterError(gettext_noop("%(part)r: %(arg)r is not a callsign pattern"), part=part, arg=arg)
        if not wildcards and ("*" in arg or "?" in arg):
            raise FilterError(gettext_noop("%(part)r: wildcards are not allowed here"), part=part)
        patterns.append(arg.upper())
    return _pattern_matcher(patterns)


def _pattern_matcher(patterns):
    exact = {p for p in patterns if "*" not in p and "?" not in p}
    wild = [p for p in patterns if p not in exact]
    if not wild:
        return exact.__contains__
    regex = re.compile("|".join(re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") for p in wild))
    return lambda value: value in exact or regex.fullmatch(value) is not None


def _within(centre, km):
    """A match for packets within ``km`` of where ``centre()`` says (None: nowhere known)."""

    def match(f):
        if "lat" not in f:
            return False
        where = centre()
        return where is not None and distance_km(where[0], where[1], f["lat"], f["lon"]) <= km

    return match


def _range(part, args, known, login):
    lat, lon, km = _numbers(part, args, 3, ["lat", "lon", "km"])
    _check_lat_lon(part, lat, lon)
    _distance(part, km)
    match = lambda f: "lat" in f and distance_km(lat, lon, f["lat"], f["lon"]) <= km  # noqa: E731
    # The box around the circle, for the subscriber index (gateway/feed/index.py).
    dlat = km / KM_PER_DEGREE
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if abs(lat) + dlat >= 89.0:  # around or near a pole: every longitude
        match.box = (south, -180.0, north, 180.0)
    else:  # a degree of longitude is shortest at the circle's most poleward point
        dlon = km / (math.cos(math.radians(abs(lat) + dlat)) * KM_PER_DEGREE)
        match.box = (south, lon - dlon, north, lon + dlon) if dlon < 180 else (south, -180.0, north, 180.0)
    return match


def _my_range(part, args, known, login):
    (km,) = _numbers(part, args, 1, ["km"])
    _distance(part, km)
    if not login:
        raise FilterError(gettext_noop("%(part)r: m/ needs a logged-in callsign"), part=part)
    call = login.upper()
    return _within(lambda: known.position(call), km)


def _friend_range(part, args, known, login):
    if len(args) != 2 or not re.fullmatch(rf"[A-Za-z0-9-]{{1,{MAX_CALL_PATTERN}}}", args[0]):
        raise FilterError(gettext_noop("%(part)r: expected f/call/km"), part=part)
    (km,) = _numbers(part, args[1:], 1, ["km"])
    _distance(part, km)
    call = args[0].upper()
    return _within(lambda: known.position(call), km)


def _area(part, args, known, login):
    north, west, south, east = _numbers(part, args, 4, ["latN", "lonW", "latS", "lonE"])
    _check_lat_lon(part, north, west)
    _check_lat_lon(part, south, east)
    if south > north:
        raise FilterError(gettext_noop("%(part)r: latS must not be north of latN"), part=part)
    if west <= east:
        match = lambda f: "lat" in f and south <= f["lat"] <= north and west <= f["lon"] <= east  # noqa: E731
    else:  # a box across the antimeridian
        match = lambda f: "lat" in f and south <= f["lat"] <= north and (f["lon"] >= west or f["lon"] <= east)  # noqa: E731
    match.box = (south, west, north, east)
    return match


def _budlist(part, args, known, login):
    match = _calls(part, args)
    return lambda f: match(f["from"])


def _prefix(part, args, known, login):
    if not args or not all(re.fullmatch(rf"[A-Za-z0-9-]{{1,{MAX_CALL_PATTERN}}}", a) for a in args):
        raise FilterError(gettext_noop("%(part)r: expected prefixes such as p/OH/N0"), part=part)
    prefixes = tuple(a.upper() for a in args)
    return lambda f: f["from"].startswith(prefixes)


def _object(part, args, known, login):
    if not args or not all(args):
        raise FilterError(gettext_noop("%(part)r: expected at least one object name"), part=part)
    match = _pattern_matcher([a.upper() for a in args])
    return lambda f: bool(f["object"]) and match(f["object"])


def _type(part, args, known, login):
    if len(args) not in (1, 3):
        raise FilterError(
            gettext_noop("%(part)r: expected t/%(letters)s or t/%(letters)s/call/km"), part=part, letters=TYPE_LETTERS
        )
    letters = args[0].lower()
    if not letters or any(c not in TYPE_LETTERS for c in letters):
        raise FilterError(
            gettext_noop("%(part)r: type letters must be from %(letters)r"), part=part, letters=TYPE_LETTERS
        )
    wanted = set(letters)
    if "*" in wanted:  # everything but CWOP (unless c is asked for too), as aprsc
        cwop_too = "c" in wanted
        match = lambda f: cwop_too or "c" not in f["types"]  # noqa: E731
    else:
        match = lambda f: not wanted.isdisjoint(f["types"])  # noqa: E731
    if len(args) == 1:
        return match
    near = _friend_range(part, args[1:], known, login)
    return lambda f: match(f) and near(f)


def _entry(part, args, known, login):
    match = _calls(part, args)
    return lambda f: "entry" in f and match(f["entry"])


def _group(part, args, known, login):
    match = _calls(part, args)
    return lambda f: "addressee" in f and match(f["addressee"])


def _q_construct(part, args, known, login):
    if not 1 <= len(args) <= 2 or any(c not in Q_LETTERS for c in args[0]):
        raise FilterError(
            gettext_noop("%(part)r: expected q/letters[/I], letters from %(letters)r (case counts)"),
            part=part,
            letters=Q_LETTERS,
        )
    analytic = len(args) == 2 and args[1] in ("i", "I")
    if len(args) == 2 and not analytic:
        raise FilterError(gettext_noop("%(part)r: the second field may only be I"), part=part)
    wanted = set(args[0])
    if not analytic:
        return lambda f: f.get("q") in wanted
    return lambda f: f.get("q") in wanted or ("entry" in f and known.rf_igate(f["entry"]))


def _symbol(part, args, known, login):
    if not 1 <= len(args) <= 3:
        raise FilterError(gettext_noop("%(part)r: expected s/primary[/alternate[/overlay]]"), part=part)
    primary, alternate, overlays = (args + ["", ""])[:3]

    def match(f):
        if len(f["symbol"]) != 2:
            return False
        table, code = f["symbol"]
        if table == "/":
            return code in primary
        # Alternate table: "\\" or an overlay character; overlays narrow it.
        return code in alternate and (not overlays or table in overlays)

    return match


def _digipeater(part, args, known, login):
    """aprsc (``filter.c``, ``filter_process_one_d``): a digipeater counts as used when it stands
    at or before the last hop marked ``*`` ahead of the q-construct, since TNC2 marks only the
    last hop a packet went through (``WIDE1,OH7RDA,OH8RDA*``: all three were used)."""
    match = _calls(part, args)

    def used(f):
        hops = f["path"]
        last = -1
        for at, hop in enumerate(hops):
            if len(hop) == 3 and hop.startswith("QA"):
                break
            if hop.endswith("*"):
                last = at
        return any(match(hop.rstrip("*")) for hop in hops[: last + 1])

    return used


def _unproto(part, args, known, login):
    match = _calls(part, args)
    return lambda f: match(f["to"])


_PARSERS = {
    "r": _range,
    "a": _area,
    "b": _budlist,
    "p": _prefix,
    "o": _object,
    "t": _type,
    "s": _symbol,
    "d": _digipeater,
    "u": _unproto,
    "m": _my_range,
    "f": _friend_range,
    "e": _entry,
    "g": _group,
    "q": _q_construct,
}
SUPPORTED = "".join(sorted(_PARSERS))


class Filter:
    """A parsed filter; ``matches(facts)`` tells whether a packet passes. ``errors``:
    the parts lenient parsing refused, each with its reason."""

    def __init__(self, text, include, exclude, errors=()):
        self.text = text
        self.errors = list(errors)
        self._include = include
        self._exclude = exclude
        # When every part that lets packets in is an area (r/, a/): their boxes
        # (south, west, north, east), so an index can skip this filter for
        # packets elsewhere. None when some part matches anywhere.
        boxes = [getattr(match, "box", None) for match in include]
        self.boxes = None if None in boxes else boxes
        if len(include) == 1 and not exclude:  # the usual filter of one part: asked once per packet per client
            self.matches = include[0]

    def matches(self, facts):
        for match in self._include:
            if match(facts):
                break
        else:
            return False
        for match in self._exclude:
            if match(facts):
                return False
        return True

    def __repr__(self):
        return f"Filter({self.text!r})"


class PassAll:
    """The empty filter: the whole feed."""

    text = ""
    boxes = None
    errors = ()

    def matches(self, facts):
        return True


MAX_FILTER = 8190
"""Characters of one filter: what aprsc reads of a login or #filter line (its 8 kB buffer, less
CRLF); a client that needs a 300-part filter gets it, as from aprsc."""

PASS_NOTHING = Filter("", [], [])
"""A server-port client without a filter: nothing from the feed (port 14580's rule)."""


def parse_filter(text, login="", known=NOTHING_KNOWN, lenient=False):
    """Parse a filter string for a client logged in as ``login``. Strict: raise
    FilterError naming the first bad part. Lenient (aprsc on its server port): keep
    the good parts, list the bad ones in ``errors``; nothing good is a filter that
    passes nothing."""
    if not isinstance(text, str):
        raise FilterError(gettext_noop("filter must be a string"))
    if len(text) > MAX_FILTER:
        raise FilterError(gettext_noop("filter longer than %(most)s characters"), most=MAX_FILTER)
    parts = text.split()
    if not parts:
        return PassAll()
    include, exclude, kept, errors = [], [], [], []
    for part in parts:
        negative = part.startswith("-")
        body = part[1:] if negative else part
        kind, slash, rest = body.partition("/")
        parser = _PARSERS.get(kind.lower())
        try:
            if parser is None or not slash:
                raise FilterError(
                    gettext_noop("%(part)r: unknown filter type (supported: %(types)s)"),
                    part=part,
                    types=", ".join(SUPPORTED),
                )
            match = parser(part, rest.split("/"), known, login)
        except FilterError as exc:
            if not lenient:
                raise
            errors.append(exc)
            continue
        (exclude if negative else include).append(match)
        kept.append(part)
    if not include and not lenient:
        raise FilterError(gettext_noop("a filter needs at least one part that is not an exclusion"))
    return Filter(" ".join(kept), include, exclude, errors)

"""Raw NMEA from GPS receivers: ``$GPRMC`` and ``$GPGGA`` positions (APRS 1.0.1 ch. 7).

Any talker (``GP``, ``GN``, ``GL`` ...). A checksum, when present, must match.
Speed comes in knots and is given in km/h, as aprslib gives it.
"""

from functools import reduce

KNOT_KMH = 1.852


def decode(body):
    sentence = body.strip()
    if "*" in sentence:
        sentence, _, checksum = sentence.partition("*")
        computed = reduce(lambda a, b: a ^ b, sentence[1:].encode("ascii", "replace"), 0)
        if checksum[:2].upper() != f"{computed:02X}":
            raise ValueError(f"NMEA: checksum {checksum[:2]!r} does not match {computed:02X}")
    fields = sentence.split(",")
    kind = fields[0][3:6]
    if kind == "RMC" and len(fields) >= 9:
        if fields[2] != "A":
            raise ValueError("NMEA: RMC without a fix (status V)")
        packet = _position(fields[3], fields[4], fields[5], fields[6])
        if fields[7]:
            packet["speed"] = float(fields[7]) * KNOT_KMH
        if fields[8]:
            packet["course"] = int(float(fields[8]))
    elif kind == "GGA" and len(fields) >= 10:
        if fields[6] in ("", "0"):
            raise ValueError("NMEA: GGA without a fix")
        packet = _position(fields[2], fields[3], fields[4], fields[5])
        if fields[9]:
            packet["altitude"] = float(fields[9])
    else:
        raise ValueError(f"NMEA: {fields[0][:6]!r} is not an RMC or GGA sentence")
    packet.update({"format": "nmea", "nmea": fields[0][1:6]})
    return packet


def _position(lat, ns, lon, ew):
    try:
        latitude = int(lat[:2]) + float(lat[2:]) / 60
        longitude = int(lon[:3]) + float(lon[3:]) / 60
    except ValueError:
        raise ValueError("NMEA: unreadable latitude or longitude") from None
    if ns not in "NS" or ew not in "EW" or not ns or not ew or latitude > 90 or longitude > 180:
        raise ValueError("NMEA: latitude or longitude out of range")
    return {"latitude": -latitude if ns == "S" else latitude, "longitude": -longitude if ew == "W" else longitude}

"""The JSON a packet takes for web clients, made once per packet upstream of the hub.

``text`` is the line decoded as UTF-8 with replacement characters; when that
loses bytes, ``raw_b64`` carries the line exactly (the archive API follows the
same rule).
"""

import base64
import json


def lossless(raw, text):
    """``{"raw_b64": ...}`` when ``text`` does not give back ``raw``, else ``{}``."""
    if text.encode("utf-8") == raw:
        return {}
    return {"raw_b64": base64.b64encode(raw).decode("ascii")}


def packet_json(packet):
    """A decoded packet as JSON text, made once: the feed's items and the archive's
    ``data`` column both carry it."""
    return json.dumps(packet, separators=(",", ":"), ensure_ascii=False)


def feed_item(event, packet_text=None):
    """The JSON one packet takes in every feed frame (a str, made once): ``received``,
    ``text``, ``packet`` (``packet_text`` when it was made already) and, if ``text``
    loses bytes, ``raw_b64``."""
    if packet_text is None:
        packet_text = packet_json(event["packet"])
    extra = lossless(event["raw"], event["text"])
    return '{"received":%s,"text":%s,"packet":%s%s}' % (
        json.dumps(event["received"]),
        json.dumps(event["text"], ensure_ascii=False),
        packet_text,
        ',"raw_b64":"%s"' % extra["raw_b64"] if extra else "",
    )


def packets_frame(items, dropped=0):
    """A ``packets`` frame from packet JSON made upstream: no parsing, no re-encoding."""
    return '{"type":"packets","dropped":%d,"packets":[%s]}' % (dropped, ",".join(items))

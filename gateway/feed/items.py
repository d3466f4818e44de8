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


def feed_item(event):
    """The JSON one packet takes in every feed frame (a str, made once)."""
    item = {
        "received": event["received"],
        "text": event["text"],
        "packet": event["packet"],
        **lossless(event["raw"], event["text"]),
    }
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def packets_frame(items, dropped=0):
    """A ``packets`` frame from packet JSON made upstream: no parsing, no re-encoding."""
    return '{"type":"packets","dropped":%d,"packets":[%s]}' % (dropped, ",".join(items))

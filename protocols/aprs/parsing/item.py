"""Items: ``)NAME!`` (alive) or ``)NAME_`` (killed), then a position and a comment
(APRS 1.0.1 ch. 11). The position is aprslib's to read: only the item header
is ours.
"""

import re

from aprslib.exceptions import ParseError, UnknownFormat
from aprslib.parsing.position import parse_position

HEADER = re.compile(r"\)(?P<name>[ -~]{3,9}?)(?P<flag>[!_])")


def decode(body):
    match = HEADER.match(body)
    if not match:
        raise ValueError("item: expected )NAME! or )NAME_ with a 3-9 character name")
    try:
        _, packet = parse_position("!", body[match.end() :])
    except (ParseError, UnknownFormat, ValueError) as exc:
        raise ValueError(f"item: {exc}") from None
    packet.update(
        {
            "format": "item",
            "item_name": match["name"],
            "alive": match["flag"] == "!",
            "item_format": packet.get("format"),
        }
    )
    packet.pop("messagecapable", None)
    return packet

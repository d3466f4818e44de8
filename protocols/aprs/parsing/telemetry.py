"""Telemetry reports: ``T#sss,a1,a2,a3,a4,a5,bbbbbbbb[comment]`` (APRS 1.0.1 ch. 13).

The sequence is a number (or ``MIC``); analog values are numbers (APRS 1.2
allows decimals and fewer than five); the eight digital bits are optional.
Their names, units and scaling come in PARM/UNIT/EQNS/BITS messages, which
aprslib decodes (``format: "telemetry-message"``).
"""

import re

REPORT = re.compile(r"T#(?P<seq>MIC|\d{1,5}),?(?P<rest>.*)", re.DOTALL)
BITS = re.compile(r"[01]{8}")


def decode(body):
    match = REPORT.fullmatch(body)
    if not match:
        raise ValueError("telemetry: expected T#sequence,values")
    fields = match["rest"].split(",")
    analog = []
    while fields and len(analog) < 5:
        try:
            analog.append(float(fields[0]))
        except ValueError:
            break
        fields.pop(0)
    if not analog:
        raise ValueError("telemetry: no analog value")
    packet = {"format": "telemetry", "sequence": match["seq"], "analog": analog}
    tail = ",".join(fields)
    if BITS.match(tail):
        packet["bits"], tail = tail[:8], tail[8:]
    if tail.strip():
        packet["comment"] = tail.strip()
    return packet

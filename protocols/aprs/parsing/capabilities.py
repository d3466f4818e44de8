"""Station capabilities: ``<IGATE,MSG_CNT=n,LOC_CNT=n`` (APRS 1.0.1 ch. 15).

Comma-separated tokens, each a name or ``NAME=value``.
"""


def decode(body):
    tokens = [token.strip() for token in body[1:].split(",") if token.strip()]
    if not tokens:
        raise ValueError("capabilities: empty")
    found = {}
    for token in tokens:
        name, equals, value = token.partition("=")
        found[name] = value if equals else True
    return {"format": "capabilities", "capabilities": found}

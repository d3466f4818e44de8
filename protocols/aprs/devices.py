"""Which device or software sent a packet, from the APRS device identification list.

The list is aprs-deviceid's ``tocalls.yaml`` (https://github.com/aprsorg/aprs-deviceid),
as the ``aprs_tocall`` package ships it: we read its data, not a table of our own.
Three ways a packet names its sender: the destination (``APDR16``: APRSdroid),
a Mic-E comment's two-character suffix (`` _% ``: Yaesu FTM-400DR), or a legacy
Kenwood Mic-E prefix and suffix (``]...=``: TM-D710).
"""

import functools
import re
from importlib import resources

import yaml

_WILDCARDS = {"?": "[A-Z0-9]", "n": "[0-9]", "*": "[A-Z0-9]*"}


def _name(entry):
    parts = [entry.get(key) for key in ("vendor", "model")]
    return " ".join(part for part in parts if part and part != "Unknown") or None


@functools.cache
def _catalogue():
    text = (resources.files("aprs_tocall") / "tocalls.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    exact, patterns = {}, []
    for entry in data.get("tocalls", []):
        tocall = entry["tocall"]
        if not any(mark in tocall for mark in _WILDCARDS):
            exact[tocall] = _name(entry)
            continue
        regex = "".join(_WILDCARDS.get(char, re.escape(char)) for char in tocall)
        specific = sum(char not in _WILDCARDS for char in tocall)
        patterns.append((specific, re.compile(regex), _name(entry)))
    patterns.sort(key=lambda pattern: -pattern[0])  # the most specific first
    mice = {entry["suffix"]: _name(entry) for entry in data.get("mice", [])}
    legacy = sorted(data.get("micelegacy", []), key=lambda entry: -len(entry.get("suffix", "")))
    return exact, patterns, mice, [(e["prefix"], e.get("suffix", ""), _name(e)) for e in legacy]


@functools.lru_cache(maxsize=4096)
def by_destination(destination):
    """The device a destination (tocall, SSID ignored) names, or None."""
    tocall = destination.split("-", 1)[0].upper()
    exact, patterns, _, _ = _catalogue()
    if tocall in exact:
        return exact[tocall]
    for _, regex, name in patterns:
        if regex.fullmatch(tocall):
            return name
    return None


def mic_e(comment):
    """(device, comment without its device bytes) for a Mic-E comment (after the
    altitude); device None if the comment names none."""
    _, _, mice, legacy = _catalogue()
    if comment[:1] in ("`", "'"):  # current devices: this mark first, two characters last
        if comment[-2:] in mice and len(comment) >= 3:
            return mice[comment[-2:]], comment[1:-2].strip()
        return None, comment[1:].strip()
    for prefix, suffix, name in legacy:  # Kenwood: a first character, maybe a last one
        if comment.startswith(prefix) and comment.endswith(suffix) and len(comment) > len(suffix):
            return name, comment[len(prefix) : len(comment) - len(suffix)].strip()
    return None, comment

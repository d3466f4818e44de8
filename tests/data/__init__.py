"""Real APRS traffic for the tests and benchmarks (README.md here says where it comes from)."""

from pathlib import Path

DATA = Path(__file__).resolve().parent
CORPUS_FILES = ("benjojo_aprstestdata.txt", "sp8ebc_aprsis_lines.txt", "sp8ebc_rf_lines.txt")


def corpus_lines(name):
    """Lines of a capture as bytes, as they travel on APRS-IS (never decoded)."""
    lines = [line.rstrip(b"\r") for line in (DATA / name).read_bytes().split(b"\n")]
    return [line for line in lines if line]

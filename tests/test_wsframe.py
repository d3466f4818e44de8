"""Prebuilt websocket frames: what websockets' own parser reads back, at every length encoding."""

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from gateway.feed.wsframe import text_frame


def parse(data):
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300000])
def test_text_frames_of_every_length_encoding_parse_back(size):
    text = ("é" + "x" * size)[:size] if size else ""
    frame = parse(text_frame(text))
    assert frame.opcode == Opcode.TEXT and frame.fin
    assert frame.data.decode("utf-8") == text

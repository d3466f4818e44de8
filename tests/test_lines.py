from protocols.aprs.lines import MAX_CONTENT, MAX_LINE, LineSplitter


def test_crlf_and_bare_lf_lines():
    splitter = LineSplitter()
    assert splitter.feed(b"A>B:one\r\nC>D:two\nE>F:thr") == [b"A>B:one", b"C>D:two"]
    assert splitter.pending == len(b"E>F:thr")
    assert splitter.feed(b"ee\r\n") == [b"E>F:three"]


def test_line_split_across_chunks_and_cr_lf_split():
    splitter = LineSplitter()
    data = b"N0CALL>APRS:>status\r\nN1CALL>APRS:>more\r\n"
    lines = []
    for i in range(len(data)):
        lines += splitter.feed(data[i : i + 1])
    assert lines == [b"N0CALL>APRS:>status", b"N1CALL>APRS:>more"]
    assert splitter.oversized == 0


def test_bytes_are_never_decoded():
    splitter = LineSplitter()
    line = b"SP8EBC>APRS:>\xb0C \xff\xfe\x00 latin-1 and garbage"
    assert splitter.feed(line + b"\r\n") == [line]


def test_limit_is_512_bytes_with_crlf():
    assert MAX_LINE == 512 and MAX_CONTENT == 510
    splitter = LineSplitter()
    longest = b"A>B:" + b"x" * (MAX_CONTENT - 4)
    too_long = longest + b"y"  # 511 bytes + CRLF = 513 bytes on the wire
    lines = splitter.feed(b"A>B:before\r\n" + longest + b"\r\n" + too_long + b"\r\nA>B:after\r\n")
    assert lines == [b"A>B:before", longest, b"A>B:after"]
    assert splitter.oversized == 1


def test_oversized_line_in_pieces_is_dropped_once_and_resyncs():
    splitter = LineSplitter()
    lines = splitter.feed(b"A>B:ok\r\n" + b"z" * 300)
    lines += splitter.feed(b"z" * 300)  # now past the limit without a terminator
    lines += splitter.feed(b"z" * 5000)
    lines += splitter.feed(b"zz\r\nA>B:next\r\n")
    assert lines == [b"A>B:ok", b"A>B:next"]
    assert splitter.oversized == 1
    assert splitter.pending == 0


def test_a_bare_cr_ends_a_line_as_in_aprsc():
    splitter = LineSplitter()
    assert splitter.feed(b"A>B:one\rC>D:two\rE>F:three\r\n\r\n\n") == [b"A>B:one", b"C>D:two", b"E>F:three"]
    assert splitter.pending == 0

"""KISS framing (the TNC's side of a KISS-over-TCP link, e.g. direwolf's KISSPORT).

Frames are ``FEND command data FEND``; inside, FEND and FESC are escaped as
``FESC TFEND`` and ``FESC TFESC``. The command byte's high nibble is the
radio port, the low nibble the command: 0 is a data frame (an AX.25 frame).
Reference: K9NG/KA9Q, "The KISS TNC" (1987).
"""

FEND, FESC, TFEND, TFESC = 0xC0, 0xDB, 0xDC, 0xDD
DATA = 0x00
MAX_FRAME = 2048  # well above an AX.25 UI frame (~330 bytes); more is garbage


def escape(data):
    return data.replace(bytes([FESC]), bytes([FESC, TFESC])).replace(bytes([FEND]), bytes([FESC, TFEND]))


def unescape(data):
    out = bytearray()
    pending_escape = False
    for byte in data:
        if pending_escape:
            if byte == TFEND:
                out.append(FEND)
            elif byte == TFESC:
                out.append(FESC)
            else:
                raise ValueError(f"KISS: FESC followed by 0x{byte:02X}")
            pending_escape = False
        elif byte == FESC:
            pending_escape = True
        else:
            out.append(byte)
    if pending_escape:
        raise ValueError("KISS: frame ends in FESC")
    return bytes(out)


def data_frame(frame, port=0):
    """A KISS data frame carrying one AX.25 frame, for sending to the TNC."""
    return bytes([FEND, (port << 4) | DATA]) + escape(frame) + bytes([FEND])


class KISSDecoder:
    """Feed bytes as they come from the socket; get (port, AX.25 frame) for each data frame.

    Non-data commands (TX delay, persistence, ...) are not expected from a TNC
    and are skipped; frames with bad escapes or over ``MAX_FRAME`` bytes are
    counted in ``bad`` with the last reason in ``last_error``, and the stream
    goes on at the next FEND.
    """

    def __init__(self):
        self.buffer = bytearray()
        self.bad = 0
        self.last_error = None

    def feed(self, data):
        self.buffer += data
        frames = []
        while True:
            end = self.buffer.find(FEND)
            if end < 0:
                if len(self.buffer) > MAX_FRAME:
                    self._refuse(f"KISS: no FEND in {len(self.buffer)} bytes")
                    self.buffer.clear()
                return frames
            raw, self.buffer = bytes(self.buffer[:end]), self.buffer[end + 1 :]
            if not raw:
                continue  # between frames, or back-to-back FENDs
            if len(raw) > MAX_FRAME:
                self._refuse(f"KISS: frame of {len(raw)} bytes")
                continue
            command = raw[0]
            if command & 0x0F != DATA:
                continue
            try:
                frames.append((command >> 4, unescape(raw[1:])))
            except ValueError as exc:
                self._refuse(str(exc))

    def _refuse(self, reason):
        self.bad += 1
        self.last_error = reason

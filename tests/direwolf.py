"""Dire Wolf (Debian's ``direwolf``) driven from tests: audio in, an iGate and a KISS port out.

``gen_packets`` turns each TNC2 line into AFSK audio; ``Direwolf`` runs the
modem headless (``ADEVICE stdin null``) and is fed silence in real time, as
a radio would be, with the test's audio mixed in when it asks. Without that
silence it would exit at the end of its input. As an iGate it logs in about
3 s after start and gates nothing for about 7 s more, so tests play their
audio well after that.
"""

import shutil
import socket
import subprocess
import threading
import time
import wave

RATE = 48000
CHUNK = RATE // 10 * 2  # 0.1 s of 16-bit mono samples
SILENCE = bytes(CHUNK)


def low_free_port():
    """A free port below 32768: direwolf 1.6 was seen failing to connect above it."""
    for port in range(20000 + int(time.time() * 1000) % 9000, 32000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32000")


def audio_of(lines, workdir):
    """Raw 48 kHz 16-bit mono AFSK audio of the packets, a quarter second of silence apart."""
    audio = bytearray()
    for n, line in enumerate(lines):
        path = workdir / f"packet-{n}.wav"
        subprocess.run(
            ["gen_packets", "-r", str(RATE), "-o", str(path), "-"],
            input=line,
            check=True,
            capture_output=True,
            timeout=30,
        )
        with wave.open(str(path)) as sound:
            assert (sound.getframerate(), sound.getsampwidth(), sound.getnchannels()) == (RATE, 2, 1)
            audio += sound.readframes(sound.getnframes()) + bytes(RATE // 2)
    return bytes(audio)


class Direwolf:
    def __init__(self, workdir, mycall, igate=None, igate_login=None, kiss_port=None, igtxvia=False):
        self.workdir = workdir
        self.kiss_port = kiss_port
        config = [
            "ADEVICE stdin null",
            f"ARATE {RATE}",
            "ACHANNELS 1",
            "CHANNEL 0",
            f"MYCALL {mycall}",
            "MODEM 1200",
            "AGWPORT 0",
            f"KISSPORT {kiss_port or 0}",
        ]
        if igate:
            config += [f"IGSERVER {igate}", f"IGLOGIN {igate_login}"]
        if igtxvia:
            config += ["IGTXVIA 0 WIDE1-1"]
        (workdir / "direwolf.conf").write_text("\n".join(config) + "\n")
        self.log_path = workdir / "direwolf.log"
        self.pending = bytearray()
        self.lock = threading.Lock()
        self.process = None
        self.running = False

    def start(self):
        assert shutil.which("direwolf"), "direwolf is not installed (make test installs it)"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["direwolf", "-c", str(self.workdir / "direwolf.conf"), "-t", "0", "-"],
                cwd=self.workdir,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.running = True
        threading.Thread(target=self._feed, daemon=True).start()
        return self

    def _feed(self):
        """0.1 s of sound every 0.1 s: the test's audio if any waits, else silence."""
        next_at = time.monotonic()
        while self.running and self.process.poll() is None:
            with self.lock:
                chunk, self.pending[:CHUNK] = bytes(self.pending[:CHUNK]), b""
            try:
                self.process.stdin.write(chunk.ljust(CHUNK, b"\0"))
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            next_at += 0.1
            time.sleep(max(0.0, next_at - time.monotonic()))

    def play(self, audio):
        with self.lock:
            self.pending += audio

    def log(self):
        return self.log_path.read_text(errors="replace")

    def until_log(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{text!r} not in direwolf's output:\n{self.log()}")
            time.sleep(0.1)

    def stop(self):
        self.running = False
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

"""systemd's notify protocol: one datagram per state change to $NOTIFY_SOCKET.

Written here rather than taken from a package: the protocol is a single
``sendto`` (see sd_notify(3)), and the packages that wrap it either need
libsystemd headers to build or are unmaintained. Outside systemd
(no NOTIFY_SOCKET) every call is a no-op.
"""

import os
import socket
import time


def notify(*fields):
    """Send ``KEY=value`` fields, e.g. ``notify("READY=1", "STATUS=linked")``."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall("\n".join(fields).encode("utf-8"))
    return True


def reloading():
    """The fields that start a reload (MONOTONIC_USEC is required by Type=notify-reload)."""
    return ("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")


def watchdog_interval():
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None if not asked."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 1e6 / 2

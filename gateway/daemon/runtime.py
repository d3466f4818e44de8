"""What the running daemon shares with its views and metrics: the ``aprs`` protocol
server's links.

Set by gateway/daemon/links.py as it starts them; None in a process without
them (tests with channels.testing, manage.py commands, ``--no-aprs``, a
standby node).
"""

import asyncio
from collections import Counter

aprs_server = None
"""The protocol server (protocols/aprs/server.py), on ingest nodes."""
uplink = None
"""The APRS-IS uplink (protocols/aprs/uplink.py) while this node holds it."""
igate_port = None
"""The APRS-IS server port for iGates (protocols/aprs/igate.py), when enabled."""
tnc = None
"""The KISS TNC link (protocols/aprs/tnc.py) while this node holds it."""
mqtt = None
"""The MQTT bridge's link (protocols/mqtt/link.py) while this node leads and MQTT_URL is set."""

uplink_role = "off"
"""What this node does about the uplink: "off", "leader", "standby" or "demo"."""


class Flag:
    """Set once, awaited from whichever event loop asks (an asyncio.Event would bind to the
    first loop that waits on it; tests run many)."""

    def __init__(self):
        self._set = False
        self._waiters = []

    def is_set(self):
        return self._set

    def set(self):
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self):
        if self._set:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


stopping = Flag()
"""Set on SIGTERM/SIGINT: HTTP streams end cleanly and pending long-polls answer now."""
open_streams = 0
"""SSE streams and long-polls in progress: the daemon waits for them to end before it stops."""

tasks = {}
"""Long-lived tasks by name (gateway/daemon/supervisor.py): the workers, the leader election."""

link_counters = {"uplink": Counter(), "igate": Counter(), "tnc": Counter(), "mqtt": Counter()}
"""What each kind of link counted in this process, kept across link restarts
(a node may lose and regain the uplink): Prometheus counters must not go back."""

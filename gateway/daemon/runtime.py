"""What the running daemon shares with its views and metrics: the ``aprs`` protocol
server's links.

Set by gateway/daemon/links.py as it starts them; None in a process without
them (tests with channels.testing, manage.py commands, ``--no-aprs``, a
standby node).
"""

from collections import Counter

aprs_server = None
"""The protocol server (protocols/aprs/server.py), on ingest nodes."""
uplink = None
"""The APRS-IS uplink (protocols/aprs/uplink.py) while this node holds it."""
igate_port = None
"""The APRS-IS server port for iGates (protocols/aprs/igate.py), when enabled."""
tnc = None
"""The KISS TNC link (protocols/aprs/tnc.py) while this node holds it."""

uplink_role = "off"
"""What this node does about the uplink: "off", "leader", "standby" or "demo"."""

tasks = {}
"""Long-lived tasks by name (gateway/daemon/supervisor.py): the workers, the leader election."""

link_counters = {"uplink": Counter(), "igate": Counter(), "tnc": Counter()}
"""What each kind of link counted in this process, kept across link restarts
(a node may lose and regain the uplink): Prometheus counters must not go back."""

"""What the running daemon shares with its views: the APRS protocol server.

Set by ``gateway.daemon`` when it starts one; None in a process without an
uplink (tests with channels.testing, manage.py commands, ``--no-aprs``).
"""

aprs_server = None

uplink_role = "off"
"""What this node does about the uplink: "off", "leader", "standby" or "demo"."""

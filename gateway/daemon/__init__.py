"""The daemon: one process running daphne and the ``aprs`` protocol server in one reactor.

``cli`` turns the command line into settings; ``process`` is the lifecycle
(roles, signals, systemd, workers); ``webserver`` is daphne with our scope
extensions; ``links`` starts the protocol server and its links as this node
leads or stands by (``leader``); ``metrics``, ``systemd``, ``checkconfig``
and ``runtime`` (what the views read) serve operators.
"""

"""TNCConsumer: the ``aprs`` application for the KISS TNC link.

What every source does (consumers/aprs/base.py, messaging.py), plus: what
the TNC hears goes up to APRS-IS (``forward``), and with transmitting on, web
users' messages go on the air as third-party packets from our callsign, the
way an iGate passes APRS-IS traffic to RF:
``CALL>APRS,PATH:}SRC>DEST,TCPIP,CALL*:info``.
"""

from django.conf import settings

from consumers.aprs.base import APRSConsumer
from consumers.aprs.messaging import Messaging
from protocols.aprs.tnc2 import HeaderError, split_header


def third_party(line, callsign, path):
    source, dest, _path, info = split_header(line)
    inner = b"%s>%s,TCPIP,%s*:%s" % (source, dest, callsign.encode("ascii"), info)
    head = ",".join([f"{callsign}>APRS", *path.split(",")]) if path else f"{callsign}>APRS"
    return head.encode("ascii") + b":}" + inner


class TNCConsumer(Messaging, APRSConsumer):
    def transmit_line(self, line):
        try:
            return third_party(line, self.scope["login"], settings.KISS_TX_PATH)
        except HeaderError:
            return None

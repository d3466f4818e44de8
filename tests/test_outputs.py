"""Outputs, the one extension point of the packet path (consumers/aprs/outputs.py): a new
output is a class and a line in APRS_OUTPUTS, with no change to the consumer."""

import itertools

import pytest
from channels.layers import channel_layers
from channels.testing import ApplicationCommunicator
from django.utils.module_loading import import_string

from consumers.aprs.aprsis import APRSNewsConsumer
from consumers.aprs.outputs import CLUSTER, NODE, Output
from protocols.aprs.decode import decode_line
from tests.test_feed_consumer import CAR, FAR, SCOPE

pytestmark = pytest.mark.django_db(transaction=True)
SEQ = itertools.count(10_000)
SEEN = []


class Recorder(Output):
    """An output a plug-in would write: notes what it is given, holds the last batch until
    the connection ends (as an output with its own flush interval would)."""

    runs = CLUSTER

    def __init__(self, consumer):
        super().__init__(consumer)
        self.held = []

    def collect(self, packet, facts, text):
        self.held.append((packet["seq"], facts["from"], text))

    async def flush(self):
        SEEN.append(("flush", [seq for seq, _, _ in self.held]))

    def holds_from(self):
        return self.held[0][0] if self.held else None

    async def finish(self):
        SEEN.append(("finish", [seq for seq, _, _ in self.held]))
        self.held = []


@pytest.fixture(autouse=True)
def fresh_layer():
    channel_layers.backends.clear()
    SEEN.clear()
    yield
    channel_layers.backends.clear()


def test_every_output_says_whether_it_runs_once_per_node_or_once_per_cluster(settings):
    for path in settings.APRS_OUTPUTS:
        assert import_string(path).runs in (NODE, CLUSTER), path


async def test_a_registered_output_gets_every_packet_and_holds_the_acknowledgement(settings):
    settings.APRS_OUTPUTS = [*settings.APRS_OUTPUTS, f"{__name__}.Recorder"]
    settings.ARCHIVE_ENABLED = False  # the recorder alone holds packets back
    news = ApplicationCommunicator(APRSNewsConsumer.as_asgi(), dict(SCOPE))
    await news.send_input({"type": "aprs.connect"})
    assert (await news.receive_output(1))["type"] == "aprs.batches"
    packets = [{"type": "aprs.packet", "seq": next(SEQ), **decode_line(raw, 1.0)} for raw in (CAR, FAR)]
    await news.send_input({"type": "aprs.packets", "packets": packets})
    first, last = packets[0]["seq"], packets[-1]["seq"]
    assert await news.receive_output(2) == {"type": "aprs.ack", "seq": first - 1}  # held: not acknowledged
    assert SEEN == [("flush", [first, last])]
    await news.send_input({"type": "aprs.disconnect", "reason": "test"})
    assert await news.receive_output(2) == {"type": "aprs.ack", "seq": last}  # handed on: acknowledged
    assert SEEN[-1] == ("finish", [first, last])
    await news.wait(1)


async def test_an_output_the_settings_turn_off_is_not_made(settings):
    settings.ARCHIVE_ENABLED = False
    news = APRSNewsConsumer()
    assert "ArchiveOutput" not in [type(output).__name__ for output in news.outputs]
    settings.ARCHIVE_ENABLED = True
    assert "ArchiveOutput" in [type(output).__name__ for output in APRSNewsConsumer().outputs]

"""The protocol server's inbox of one instance: batches, acknowledgements, hand-over."""

import asyncio

from protocols.aprs.inbox import Inbox


def packet(seq):
    return {"type": "aprs.packet", "seq": seq, "raw": b"N0CALL>APRS:>%d" % seq}


async def test_one_event_at_a_time_until_batches_are_asked_for():
    inbox = Inbox([{"type": "aprs.connect"}, packet(1), packet(2)])
    assert (await inbox.get())["type"] == "aprs.connect"
    assert await inbox.get() == packet(1)
    assert len(inbox) == 1  # nothing is held for an instance that does not acknowledge


async def test_a_batch_is_the_packets_waiting_in_a_row_up_to_most():
    inbox = Inbox([packet(1), packet(2), packet(3), {"type": "aprs.disconnect", "reason": "r"}, packet(4)])
    inbox.most = 2
    assert await inbox.get() == {"type": "aprs.packets", "packets": [packet(1), packet(2)]}
    assert await inbox.get() == {"type": "aprs.packets", "packets": [packet(3)]}  # other events keep their place
    assert (await inbox.get())["type"] == "aprs.disconnect"
    assert await inbox.get() == {"type": "aprs.packets", "packets": [packet(4)]}
    assert len(inbox) == 4  # taken, not acknowledged: held


async def test_acknowledged_packets_are_forgotten_the_others_handed_over_first():
    inbox = Inbox([packet(1), packet(2), packet(3)])
    inbox.most = 2
    await inbox.get()
    inbox.acknowledge(1)
    inbox.put(packet(4))
    inbox.put({"type": "aprs.connect"})  # never passed on: the replacement gets its own
    assert [event["seq"] for event in inbox.handed_over()] == [2, 3, 4]
    inbox.acknowledge(2)
    assert [event["seq"] for event in inbox.handed_over()] == [3, 4]


async def test_get_waits_for_an_event():
    inbox = Inbox()
    waiting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    inbox.put(packet(1))
    assert await asyncio.wait_for(waiting, 1) == packet(1)

"""Batches: what the feed and the archive send through the channel layer, per connection."""

import asyncio
import time

from consumers.aprs.batches import Batches


class Layer:
    """Records each batch and when it went; a send takes ``delay`` seconds."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.sent = []

    async def send(self, batch):
        self.sent.append((time.monotonic(), list(batch)))
        await asyncio.sleep(self.delay)


async def test_after_a_quiet_moment_an_item_goes_at_once():
    layer = Layer()
    batches = Batches(layer.send, most=10, interval=0.05)
    began = time.monotonic()
    await batches.add(1)
    await batches.delivered()
    assert [items for _, items in layer.sent] == [[1]]
    assert layer.sent[0][0] - began < 0.02  # no timer before the first


async def test_under_load_one_message_per_interval_carries_what_arrived():
    layer = Layer()
    batches = Batches(layer.send, most=1000, interval=0.05)
    for item in range(100):  # 100 items over ~0.2 s: one every 2 ms
        await batches.add(item)
        await asyncio.sleep(0.002)
    await batches.delivered()
    sent = [items for _, items in layer.sent]
    assert [item for items in sent for item in items] == list(range(100))  # all, in order, once
    assert 3 <= len(sent) <= 8, [len(items) for items in sent]  # ~0.2 s / 0.05 s, not 100 messages
    gaps = [later - earlier for (earlier, _), (later, _) in zip(layer.sent, layer.sent[1:], strict=False)]
    assert min(gaps) >= 0.045


async def test_a_batch_holds_at_most_most_and_the_adder_waits_for_a_slow_layer():
    layer = Layer(delay=0.05)
    batches = Batches(layer.send, most=10, interval=0.0)
    for item in range(35):
        await batches.add(item)
    await batches.delivered()
    sizes = [len(items) for _, items in layer.sent]
    assert max(sizes) <= 10 and sum(sizes) == 35
    assert len(sizes) < 35  # what arrived while a send was in flight went together


async def test_with_no_interval_items_go_as_soon_as_the_last_send_is_done():
    layer = Layer(delay=0.01)
    batches = Batches(layer.send, most=100, interval=0.0)
    await batches.add("a")
    await asyncio.sleep(0)  # the sender takes "a" and sends it
    await batches.add("b")  # in flight: "b" waits for that send, then goes alone
    await batches.delivered()
    assert [items for _, items in layer.sent] == [["a"], ["b"]]

"""The one backoff of every retry loop: it lengthens, is capped, spreads, and resets."""

from protocols.backoff import Backoff


def test_waits_double_to_the_cap_with_jitter_below_each_ceiling():
    backoff = Backoff(1.0, 8.0)
    waits = [backoff.next() for _ in range(6)]
    for wait, ceiling in zip(waits, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling / 2 <= wait <= ceiling, waits
    assert waits[3] > waits[0] and waits[2] > 1.0  # it lengthens (the feed hub's never did)


def test_jitter_spreads_the_nodes_that_lost_the_same_server():
    firsts = {round(Backoff(10.0, 60.0).next(), 3) for _ in range(50)}
    assert len(firsts) > 40 and min(firsts) >= 5.0 and max(firsts) <= 10.0


def test_reset_starts_again_from_the_minimum():
    backoff = Backoff(1.0, 30.0)
    for _ in range(5):
        backoff.next()
    backoff.reset()
    assert backoff.next() <= 1.0


async def test_a_hub_waits_longer_each_time_the_layer_stays_away(monkeypatch, caplog):
    """The feed hub's wait never lengthened for an outage (issue 33); both hubs share this loop."""
    import asyncio
    import re

    from gateway import hubs

    class Away:
        async def group_add(self, group, channel):
            raise ConnectionError("Redis is down")

    class Hub(hubs.LayerHub):
        def groups(self):
            return ["g"]

    monkeypatch.setattr(hubs, "Backoff", lambda minimum, maximum: Backoff(0.1, 0.8))
    hub = Hub(Away(), "hub.test")
    task = asyncio.ensure_future(hub._run())
    await asyncio.sleep(2.0)
    task.cancel()
    waits = [float(w) for w in re.findall(r"retrying in ([\d.]+) s", caplog.text)]
    assert len(waits) >= 4 and not hub.receiving.is_set()
    assert waits[0] <= 0.1 and max(waits) >= 0.4, waits

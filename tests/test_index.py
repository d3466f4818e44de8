"""The subscriber index: a packet is offered to the area filters of its cell only,
and never misses a subscription whose filter matches it."""

import random

from gateway.feed.index import SubscriberIndex
from gateway.feed.subscriptions import Subscription
from protocols.aprs.filters import parse_filter


async def nowhere(frame):
    raise AssertionError("nothing is sent in these tests")


def subscription(text):
    return Subscription(nowhere, parse_filter(text))


def facts(lat=None, lon=None):
    found = {"from": "N0CALL", "to": "APRS", "path": [], "types": "p", "object": "", "symbol": "/>"}
    if lat is not None:
        found.update(lat=lat, lon=lon)
    return found


def test_area_filters_are_asked_only_for_packets_in_their_cells():
    index = SubscriberIndex()
    montreal = subscription("a/46/-74/45/-73")
    sydney = subscription("r/-33.87/151.21/50")
    calls = subscription("b/N0CALL")
    everything = subscription("")
    for each in (montreal, sydney, calls, everything):
        index.add(each)
    assert set(index.candidates(facts(45.5, -73.6))) == {montreal, calls}
    assert set(index.candidates(facts(-33.9, 151.2))) == {sydney, calls}
    assert set(index.candidates(facts(10.0, 10.0))) == {calls}
    assert set(index.candidates(facts())) == {calls}  # no position: only those that match anywhere
    assert index.everything == {everything} and len(index) == 4
    index.discard(montreal)
    assert set(index.candidates(facts(45.5, -73.6))) == {calls}
    assert index.cells.keys() == {cell for cell in index.filed[sydney]}


def test_a_filter_covering_half_the_world_is_asked_every_time():
    index = SubscriberIndex()
    huge = subscription("r/0/0/9000")
    index.add(huge)
    assert huge in index.anywhere and not index.cells


def test_no_matching_packet_is_ever_missed():
    rng = random.Random(7)
    index = SubscriberIndex()
    subscriptions = []
    for _ in range(300):
        lat, lon = rng.uniform(-89, 89), rng.uniform(-180, 180)
        if rng.random() < 0.5:
            text = f"r/{lat:.3f}/{lon:.3f}/{rng.uniform(1, 3000):.1f}"
        else:  # boxes, some across the antimeridian
            west, east = lon, (lon + rng.uniform(0.1, 40) + 180) % 360 - 180
            north, south = min(90, lat + rng.uniform(0.1, 20)), lat
            text = f"a/{north:.3f}/{west:.3f}/{south:.3f}/{east:.3f}"
        subscriptions.append(subscription(text))
        index.add(subscriptions[-1])
    checked = 0
    for _ in range(4000):
        # Points near the subscriptions' centres, so that many of them match.
        base = rng.choice(subscriptions).filter.boxes[0]
        point = facts(
            max(-90, min(90, base[0] + rng.uniform(-2, 25))), (base[1] + rng.uniform(-2, 45) + 180) % 360 - 180
        )
        offered = set(index.candidates(point))
        for each in subscriptions:
            if each.filter.matches(point):
                checked += 1
                assert each in offered, (each.filter.text, point)
    assert checked > 1000

"""Several daemons on one Redis: one uplink, every packet once, failover, Redis restarts."""

import asyncio
import json
import signal
import time

import pytest

from tests.feedclient import FeedClient, raw_bytes

LEADER = "holds the APRS-IS uplink (took the Redis lock"


def numbered(start, stop):
    return [f"N0DEMO-{n % 10}>APRS:>packet {n}".encode() for n in range(start, stop)]


async def send_and_receive(session, client, lines, timeout=15):
    reading = asyncio.ensure_future(client.packets(len(lines), timeout=timeout))
    session.send_lines(lines)
    await session.drain()
    return [raw_bytes(item) for item in await reading]


async def nodes(daemon, count, redis_url, *flags):
    started = [daemon(*flags, env={"REDIS_URL": redis_url, "LOG_TIMESTAMPS": "true"}) for _ in range(count)]
    return [await node.started() for node in started]


async def test_one_uplink_every_packet_once_and_failover_within_10_s(daemon, upstream, redis):
    gateways = await nodes(daemon, 3, redis.url, "--aprs-server", upstream.address)
    session = await upstream.next_session()
    session.logresp()
    await asyncio.sleep(2)
    assert upstream.sessions.empty()  # exactly one node connected upstream
    leader = next(g for g in gateways if LEADER in g.log())
    followers = [g for g in gateways if g is not leader]
    assert all("standing by: the uplink is held by" in g.log() for g in followers)
    await leader.until_log("aprs application started")
    clients = [await FeedClient.connect(g.ws_url) for g in followers]
    for client in clients:
        await client.subscribe("")
    before = numbered(0, 50)
    reading = [asyncio.ensure_future(c.packets(len(before), timeout=15)) for c in clients]
    session.send_lines(before)
    for task in reading:  # ingested on the leader, received on the other nodes
        assert [raw_bytes(i) for i in await task] == before
    killed_at = time.monotonic()
    leader.process.send_signal(signal.SIGKILL)
    takeover = await upstream.next_session(timeout=15)
    failover = takeover.opened - killed_at
    assert failover < 10, failover
    takeover.logresp()
    new_leader = next(g for g in followers if g.log().count(LEADER) == 1)
    await new_leader.until_log("aprs application started")
    after = numbered(50, 100)
    reading = [asyncio.ensure_future(c.packets(len(after), timeout=15)) for c in clients]
    takeover.send_lines(after)
    for task in reading:
        assert [raw_bytes(i) for i in await task] == after  # nothing lost, nothing twice
    await asyncio.sleep(1)
    for client in clients:  # and nothing more arrives afterwards
        with pytest.raises(asyncio.TimeoutError):
            await client.frame(timeout=0.5)
    assert upstream.sessions.empty()
    print(f"failover: leader killed, new uplink login after {failover:.2f} s")
    for gateway in gateways:
        print(f"--- node on port {gateway.port}")
        print(
            "\n".join(
                line
                for line in gateway.log().splitlines()
                if any(k in line for k in ("uplink", "standing by", "logged in", "connecting"))
            )
        )


async def test_redis_restart_mid_stream_resumes_within_10_s(daemon, upstream, redis):
    gateways = await nodes(daemon, 2, redis.url, "--aprs-server", upstream.address)
    session = await upstream.next_session()
    session.logresp()
    leader = next(g for g in gateways if LEADER in g.log())
    follower = next(g for g in gateways if g is not leader)
    await leader.until_log("aprs application started")
    client = await FeedClient.connect(follower.ws_url)
    await client.subscribe("")
    assert await send_and_receive(session, client, numbered(0, 20)) == numbered(0, 20)
    redis.kill()
    await asyncio.sleep(1)
    redis.start()
    restarted_at = time.monotonic()
    # The leader could not renew its lock: it let the uplink go; a node takes it again.
    await leader.until_log("gives up the APRS-IS uplink")
    again = await upstream.next_session(timeout=15)
    again.logresp()
    resumed = numbered(20, 40)
    deadline = restarted_at + 10
    while True:  # packets flow again once the hubs are back in the feed group
        again.send_lines(resumed[:1])
        try:
            got = await client.packets(1, timeout=0.5)
            break
        except asyncio.TimeoutError:
            assert time.monotonic() < deadline, "delivery did not resume within 10 s of the restart"
    assert raw_bytes(got[0]) == resumed[0]
    print(f"redis restart: delivery resumed {time.monotonic() - restarted_at:.2f} s after Redis came back")
    assert client.dropped == 0


async def test_roles_split_web_and_ingest(daemon, upstream, redis):
    web = daemon("--aprs-server", upstream.address, "--role", "web", env={"REDIS_URL": redis.url})
    ingest = daemon("--aprs-server", upstream.address, "--role", "ingest", env={"REDIS_URL": redis.url})
    web, ingest = await web.started(), await ingest.started()
    session = await upstream.next_session()
    session.logresp()
    await ingest.until_log("aprs application started")
    assert "APRS uplink off on this node (roles: web)" in web.log()
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        await FeedClient.connect(ingest.ws_url)
    assert refused.value.response.status_code == 403
    client = await FeedClient.connect(web.ws_url)
    await client.subscribe("")
    assert await send_and_receive(session, client, numbered(0, 10)) == numbered(0, 10)
    assert upstream.sessions.empty()


async def test_readyz_is_not_ready_while_no_node_holds_the_uplink(daemon, upstream, redis):
    """A node standing by feeds nothing while no node leads: after a Redis outage two nodes
    said ready for 6 s with no uplink anywhere. Here a web node waits for an ingest node."""
    env = {"REDIS_URL": redis.url}
    web = await daemon("--aprs-server", upstream.address, "--role", "web", env=env).started()
    status, body = await web.request("/readyz")
    link = json.loads(body)["checks"]["aprs_link"]
    assert status == 503 and link == {"ok": False, "state": "off", "error": "no node of the cluster holds the uplink"}
    ingest = await daemon("--aprs-server", upstream.address, "--role", "ingest", "--role", "worker", env=env).started()
    session = await upstream.next_session()
    session.logresp()
    await ingest.until_log("aprs application started")
    ready = await web.get_json("/readyz")
    assert ready["ready"] and ready["checks"]["aprs_link"]["leader"].endswith(f":{ingest.process.pid}")
    redis.kill()
    status, body = await web.request("/readyz")
    assert status == 503 and "cannot ask Redis who leads" in json.loads(body)["checks"]["aprs_link"]["error"]

"""A cluster that never lies: a frozen leader (SIGSTOP past its lease) publishes nothing
stale when it wakes (fencing), on any node's clients or in the archive."""

import asyncio
import signal
import time

from tests.feedclient import FeedClient


async def test_a_frozen_leader_wakes_up_and_publishes_nothing_stale(daemon, upstream, redis):
    env = {"REDIS_URL": redis.url, "ARCHIVE_ENABLED": "true", "ARCHIVE_FLUSH_INTERVAL": "0.2", "LOG_TIMESTAMPS": "true"}
    old = await daemon("--aprs-server", upstream.address, env=env).started()
    first = await upstream.next_session()
    first.logresp()
    await old.until_log("aprs application started")
    new = await daemon("--aprs-server", upstream.address, env=env).started()
    await new.until_log("standing by")
    watchers = [await FeedClient.connect(node.ws_url) for node in (old, new)]
    for watcher in watchers:
        await watcher.subscribe("")

    sessions, sent = [first], []

    async def feed():  # APRS-IS: the same stream to every connected client, 50 packets/s
        n = 0
        while True:
            line = f"N0FZ-{n % 10}>APRS:>packet {n}".encode()
            for session in sessions:
                if not session.writer.is_closing():
                    session.send_lines([line])
            sent.append(n)
            n += 1
            await asyncio.sleep(0.02)

    feeding = asyncio.ensure_future(feed())
    await asyncio.sleep(1)
    old.process.send_signal(signal.SIGSTOP)
    frozen_at = time.monotonic()
    takeover = await upstream.next_session(timeout=20)
    takeover.logresp()
    sessions.append(takeover)
    print(f"new uplink login {takeover.opened - frozen_at:.1f} s after the freeze")
    await asyncio.sleep(max(0, 15 - (time.monotonic() - frozen_at)))
    old.process.send_signal(signal.SIGCONT)
    woke_at = time.monotonic()
    try:
        await first.until_closed(30)
    except ConnectionResetError:  # aborted: what it held unread is thrown away
        pass
    print(f"the old leader closed its uplink {time.monotonic() - woke_at:.2f} s after waking")
    await asyncio.sleep(3)
    feeding.cancel()
    await asyncio.sleep(2)

    for watcher, node in zip(watchers, (old, new), strict=True):
        numbers = []
        try:
            while True:
                frame = await watcher.frame(timeout=2)
                numbers += [int(item["text"].rsplit(" ", 1)[1]) for item in frame.get("packets", [])]
        except (asyncio.TimeoutError, TimeoutError):
            pass
        duplicates = len(numbers) - len(set(numbers))
        print(f"node {node.port}: {len(numbers)} packets, {duplicates} twice")
        assert duplicates == 0
        assert numbers == sorted(numbers)  # and none late
    assert "the leader's lease lapsed; discarding its lines and closing it" in old.log()
    twice = daemon.manage(
        "shell",
        "-c",
        (
            "from django.db.models import Count; from gateway.models import Packet; "
            "print(Packet.objects.values('raw').annotate(n=Count('id')).filter(n__gt=1).count())"
        ),
    )
    assert twice.strip().splitlines()[-1] == "0"

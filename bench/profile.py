"""Where the daemon's time goes under fan-out load: py-spy on the real process.

``python -m bench.profile --clients 1000 --rate 200 --seconds 15`` starts the
replay server and the daemon, connects whole-feed clients (``--igate``: TCP
clients of the server port with a filter passing everything) in two processes,
samples the daemon with py-spy and prints the functions with the most samples
(own time, and time including callees). docs/fanout.md quotes its headlines.
"""

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.__main__ import all_corpus_lines
from bench.fanout import Clients, free_port, start_daemon, start_replay, stop, wait_listening


def summarise(raw_path, top):
    """py-spy's raw (collapsed) stacks -> (own, total) sample counts per function."""
    own, total, samples = collections.Counter(), collections.Counter(), 0
    for line in Path(raw_path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        count = int(count)
        samples += count
        frames = [frame.split(" (")[0] + " " + frame.split("/")[-1].rstrip(")") for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return samples, own.most_common(top), total.most_common(top)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--redis-url", help="profile the daemon on channels-redis")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--archive", action="store_true", help="with the archive on (the default settings)")
    parser.add_argument("--igate", action="store_true", help="TCP clients of the server port, not websockets")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        replay, upstream = start_replay(all_corpus_lines(), args.rate)
        env = {"REDIS_URL": args.redis_url} if args.redis_url else {}
        igate_port = free_port()
        flags = ["--igate-port", str(igate_port)] if args.igate else []
        env["ARCHIVE_ENABLED"] = "true" if args.archive else "false"
        daemon, port = start_daemon(upstream, env, flags=flags)
        try:
            wait_listening(igate_port if args.igate else port, daemon)
            url = f"aprs://127.0.0.1:{igate_port}" if args.igate else f"ws://127.0.0.1:{port}/ws/aprs/"
            clients = Clients([url], [""] * args.clients, 2)
            clients.connected(timeout=60 + args.clients / 50)
            clients.open_window(3.0, args.seconds)
            raw = Path(work) / "profile.txt"
            subprocess.run(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-d",
                    str(int(args.seconds)),
                    "-r",
                    "200",
                    "-p",
                    str(daemon.pid),
                    "-o",
                    str(raw),
                ],
                check=True,
                capture_output=True,
            )
            stats = clients.stats()
        finally:
            stop([daemon, replay])
        samples, own, total = summarise(raw, args.top)
    delivered = sum(s["packets"] for s in stats) / args.seconds
    print(
        f"{args.clients} clients, {args.rate:g} packets/s offered: {delivered:,.0f} copies/s delivered; "
        f"{samples} samples"
    )
    print("own time:")
    for name, count in own:
        print(f"  {100 * count / samples:5.1f}%  {name}")
    print("including callees:")
    for name, count in total:
        print(f"  {100 * count / samples:5.1f}%  {name}")


if __name__ == "__main__":
    main()

"""``make bench``: ingest and fan-out figures, as ratios to same-run baselines.

Prints a table and writes JSON under bench/results/. ``--quick`` runs tiny
numbers in seconds (the test suite uses it so the harness cannot rot).
"""

import argparse
import json
import os
import time
from pathlib import Path

from bench import chat, fanout, ingest  # bench/__init__ sets Django up

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
RESULTS = Path(__file__).resolve().parent / "results"


def corpus_lines():
    lines = []
    for name in ("benjojo_aprstestdata.txt", "sp8ebc_aprsis_lines.txt", "sp8ebc_rf_lines.txt"):
        lines += [line.rstrip(b"\r") for line in (CORPUS / name).read_bytes().split(b"\n")]
    return [line for line in lines if line]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes: a smoke test")
    parser.add_argument("--clients", default="100,500", help="comma-separated client counts")
    parser.add_argument("--rate", type=float, default=400.0, help="offered packets/s")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring window per scenario")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"),
                        help="also measure the daemon on channels-redis")
    parser.add_argument("--chat-members", type=int, default=100, help="members of the chat room")
    parser.add_argument("--output", type=Path, help="JSON file (default: bench/results/<time>.json)")
    return parser.parse_args(argv)


def table(rows):
    print(f"{'scenario':<24}{'clients':>8}{'offered/s':>11}{'copies/s':>11}{'ratio':>7}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'dropped':>9}{'cpu %':>7}{'rss MiB':>9}")
    for row in rows:
        print(f"{row['scenario']:<24}{row['clients']:>8}{row['offered_copies_per_s']:>11.0f}"
              f"{row['delivered_copies_per_s']:>11.0f}{row.get('ratio', 1.0):>7.2f}"
              f"{row['p50_ms'] or 0:>8.1f}{row['p99_ms'] or 0:>8.1f}{row['dropped']:>9}"
              f"{row['server_cpu_percent']:>7.0f}{row['server_rss_mib']:>9.1f}")


def main(argv=None):
    args = parse_args(argv)
    lines = corpus_lines()
    clients = [2] if args.quick else [int(c) for c in args.clients.split(",")]
    seconds = 1.0 if args.quick else args.seconds
    warmup = 1.0 if args.quick else 3.0
    rate = 50.0 if args.quick else args.rate

    result = ingest.run(lines[:3000] if args.quick else lines, 0.3 if args.quick else 3.0)
    print(f"ingest: {result['packets_per_s']:,.0f} packets/s through lines+decode+JSON+facts; "
          f"aprslib.parse alone {result['baseline_per_s']:,.0f}/s; ratio {result['ratio']:.2f}")

    layers = {"daemon (in-memory)": {}}
    if args.redis_url:
        layers["daemon (redis)"] = {"REDIS_URL": args.redis_url}
    rows = []
    for count in clients:
        baseline = fanout.measure("baseline", count, rate, lines, warmup, seconds, {})
        rows.append({"scenario": "websockets.broadcast", **baseline})
        for name, env in layers.items():
            row = fanout.measure("daemon", count, rate, lines, warmup, seconds, env)
            ratio = row["delivered_copies_per_s"] / max(baseline["delivered_copies_per_s"], 1e-9)
            rows.append({"scenario": name, **row, "ratio": ratio})
    table(rows)
    room = chat.run(members=4 if args.quick else args.chat_members, senders=2 if args.quick else 5,
                    seconds=seconds)
    print(f"chat: one room, {room['members']} members, {room['senders']} senders: "
          f"{room['stored_per_s']:,.0f} messages/s stored, {room['copies_per_s']:,.0f} copies/s delivered, "
          f"p50 {room['p50_ms'] or 0:.1f} ms, p99 {room['p99_ms'] or 0:.1f} ms")
    output = args.output or RESULTS / time.strftime("%Y%m%d-%H%M%S.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"ingest": result, "fanout": rows, "chat": room}, indent=2))
    print(f"written {output}")
    return rows


if __name__ == "__main__":
    main()

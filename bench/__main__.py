"""``make bench``: the fan-out targets P1-P6 of docs/fanout.md, ingest, chat and the archive.

Every figure is set against a baseline measured in the same run (these
machines are noisy: only ratios travel). Prints tables and writes JSON under
bench/results/. ``--quick`` runs tiny numbers in seconds (the test suite uses
it so the harness cannot rot); ``--soak MINUTES`` adds the P5 soak.
"""

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

from bench import archive, chat, fanout, ingest, mqtt  # bench/__init__ sets Django up
from protocols.aprs.decode import decode_line
from tests.data import CORPUS_FILES, corpus_lines

RESULTS = Path(__file__).resolve().parent / "results"
IGATE_FEED_RATE = 100.0
"""Packets/s the server-port part offers every client: about the whole APRS-IS feed."""


def all_corpus_lines():
    return [line for name in CORPUS_FILES for line in corpus_lines(name)]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes: a smoke test")
    parser.add_argument("--clients", type=int, default=1000, help="P1/P6 clients (default 1000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring window per step")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"),
        help="Redis for the channels-redis runs (default: database 7 on localhost)",
    )
    parser.add_argument(
        "--only",
        default="P1,P2,P3,P3archive,P4,P5,P6,igate,chat,archive,mqtt",
        help="comma-separated parts to run (P1..P6, P3archive, igate, chat, archive, mqtt)",
    )
    parser.add_argument(
        "--configs",
        help="P1: comma-separated configurations to ladder (default: all of "
        "baseline, baseline-batched, inmemory, redis and, with P6, redis-2nodes)",
    )
    parser.add_argument(
        "--soak",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="P5 soak: RSS over this many minutes at P2 load (default: off)",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default: bench/results/<time>.json)")
    return parser.parse_args(argv)


HEADER = (
    f"{'configuration':<14}{'clients':>8}{'offered/s':>10}{'copies/s':>11}{'ratio':>7}"
    f"{'p50 ms':>8}{'p99 ms':>8}{'loss':>7}{'srv cpu%':>9}{'cli cpu%':>9}{'rss MiB':>8}"
)


def us_per_copy(row):
    return 1e4 * row["server_cpu_percent"] / max(row["delivered_copies_per_s"], 1e-9)


def line_of(row, baseline=None):
    ratio = row["delivered_copies_per_s"] / baseline["delivered_copies_per_s"] if baseline else None
    loss = row.get("loss")
    return (
        f"{row['config']:<14}{row['clients']:>8}{row['offered_per_s']:>10.0f}"
        f"{row['delivered_copies_per_s']:>11,.0f}{'' if ratio is None else f'{ratio:.2f}':>7}"
        f"{row['p50_ms'] or 0:>8.1f}{row['p99_ms'] or 0:>8.1f}"
        f"{'' if loss is None else f'{100 * loss:.1f}%':>7}{row['server_cpu_percent']:>9.0f}"
        f"{row['client_cpu_percent']:>9.0f}{row['server_rss_mib']:>8.0f}"
    )


def curve_of(config, rows):
    """One line per rate a ladder measured, in order of rate: the p99 of each run, and whether
    the step kept up (K) or not (-), and was client-bound (C)."""
    steps = []
    for row in sorted(rows, key=lambda row: row["offered_per_s"]):
        p99s = "/".join(f"{run['p99_ms']:.0f}" if run["p99_ms"] is not None else "-" for run in row["runs"])
        flags = ("K" if row["kept_up"] else "-") + ("C" if any(fanout.client_bound(run) for run in row["runs"]) else "")
        steps.append(f"{row['offered_per_s']:g}/s {p99s} ms {flags}")
    return f"  {config:<16}" + "; ".join(steps)


def area_filters(lines, count, rng, size=0.5):
    """``count`` map viewports (``size``° boxes) around positions found in the corpus."""
    positions = []
    for raw in lines[:20000]:
        packet = decode_line(raw, 0.0)["packet"]
        if isinstance(packet.get("latitude"), float):
            positions.append((packet["latitude"], packet["longitude"]))
    boxes = []
    for _ in range(count):
        lat, lon = rng.choice(positions)
        lat, lon = lat + rng.uniform(-size, size), lon + rng.uniform(-size, size)
        boxes.append(
            f"a/{min(90, lat + size / 2):.3f}/{max(-180, lon - size / 2):.3f}/"
            f"{max(-90, lat - size / 2):.3f}/{min(180, lon + size / 2):.3f}"
        )
    return boxes


def worker_cpu(row):
    """The archive worker's CPU, for a P3 line, when the archive ran in a process of its own."""
    return f", archive worker {row['worker_cpu_percent']:.0f}%" if row and row.get("worker_cpu_percent") else ""


def main(argv=None):
    args = parse_args(argv)
    parts = set(args.only.split(","))
    lines = all_corpus_lines()
    quick = args.quick
    step = {"seconds": 1.0 if quick else args.seconds, "warmup": 1.0 if quick else 3.0}
    # quick, with the archive on: a packet reaches the database about two ARCHIVE_FLUSH_INTERVALs
    # (1 s) after it arrives (its connection's message, then the worker's batch): the window
    # opens after them, and is long enough to hold one of the worker's writes (about every second)
    archive_step = {"warmup": 3.0, "seconds": 2.0} if quick else step
    # --quick measures one step of each ladder: under a loaded test machine a step may
    # miss its targets, and the smoke test is about the harness, not the figures.
    ladder = {"start_rate": 20.0, "max_rate": 20.0, "min_rate": 20.0, "bisections": 0, "repeat": False} if quick else {}
    clients = 4 if quick else args.clients
    report = {"settings": {"quick": quick, "clients": clients, **step}}
    log = print

    if "P1" in parts or "P6" in parts:
        print(
            f"\nP1/P6: {clients} clients, all subscribed to everything: highest rate kept up "
            f"(>= {fanout.MIN_DELIVERED:.0%} delivered, p99 <= {fanout.MAX_P99_MS:.0f} ms, nothing dropped)"
        )
        configs = ["baseline", "baseline-batched", "inmemory", "redis"] + (["redis-2nodes"] if "P6" in parts else [])
        if args.configs:
            configs = [config for config in configs if config in args.configs.split(",")]
        best = {}
        for config in configs:
            best[config], rows = fanout.sustainable(config, clients, lines, args.redis_url, log=log, **ladder, **step)
            report.setdefault("ladders", {})[config] = rows
        baseline = best.get("baseline")
        print(f"\np99 against the offered rate, {clients} clients (every step's runs: docs/fanout.md)")
        for config in configs:
            print(curve_of(config, report["ladders"][config]))
        print(HEADER)
        for config in configs:
            if best[config]:
                print(line_of(best[config], baseline))
            else:
                print(f"{config:<14} kept up with no rate tried")
        report["P1"] = best
        batched = best.get("baseline-batched")
        if batched:  # what survives client-limited runs: the server's CPU per delivered copy
            print(f"server CPU per delivered copy, against the batched baseline ({us_per_copy(batched):.2f} µs):")
            for config in ("inmemory", "redis"):
                if best.get(config):
                    mine = us_per_copy(best[config])
                    print(f"  {config:<9}{mine:6.2f} µs/copy, {mine / us_per_copy(batched):.2f} × (target <= 1.5)")
        elif "baseline-batched" in configs:  # a --quick step of one second may miss by a packet
            print("server CPU per delivered copy: the batched baseline kept up at no rate tried; nothing to compare")
        if best.get("redis") and best.get("redis-2nodes"):
            report["P6_ratio"] = (
                best["redis-2nodes"]["delivered_copies_per_s"] / best["redis"]["delivered_copies_per_s"]
            )
            print(f"P6: two nodes / one node (redis) = {report['P6_ratio']:.2f}")

    if "P6" in parts:
        rate, per_node = (20.0, 2) if quick else (200.0, 10)
        print(
            f"\nP6 as cost: 1, 2, 4 nodes on one Redis, {per_node} whole-feed clients each, {rate:g} packets/s: "
            "per node CPU and Redis commands per packet (target: flat within 15 %)"
        )
        rows = [fanout.cluster_cost(n, per_node, rate, lines, args.redis_url, **step) for n in (1, 2, 4)]
        print(f"{'nodes':>6}{'ingest node µs/pkt':>20}{'web node µs/pkt':>17}{'redis cmds/pkt/node':>21}{'p99 ms':>8}")
        for row in rows:
            web = f"{row['web_us_per_packet']:.0f}" if row["web_us_per_packet"] is not None else "-"
            print(
                f"{row['nodes']:>6}{row['ingest_us_per_packet']:>20.0f}{web:>17}"
                f"{row['redis_commands_per_packet_per_node']:>21.2f}{row['p99_ms'] or 0:>8.0f}"
            )
        one = rows[0]
        for row in rows[1:]:
            cpu = row["ingest_us_per_packet"] / one["ingest_us_per_packet"]
            commands = row["redis_commands_per_packet_per_node"] / one["redis_commands_per_packet_per_node"]
            print(f"  {row['nodes']} nodes / 1: ingest node CPU {cpu:.2f}, Redis commands per node {commands:.2f}")
        report["P6_cost"] = rows

    if "P2" in parts:
        print("\nP2: 100 clients, 50 packets/s")
        rows = [
            fanout.run_step(config, 10 if quick else 100, 50.0, lines, args.redis_url, **step)
            for config in ("baseline", "inmemory", "redis")
        ]
        print(HEADER)
        for row in rows:
            print(line_of(row, rows[0]))
        report["P2"] = rows

    if "P3" in parts:
        print(
            "\nP3: ingest with the default settings (archive on, SQLite), no clients: line -> parsed -> "
            "feed group and archive, on one core (<= 100 % CPU)"
        )
        micro = ingest.run(lines[:3000] if quick else lines, 0.3 if quick else 3.0)
        print(
            f"in-process: {micro['packets_per_s']:,.0f} packets/s (lines+decode+JSON+facts); "
            f"aprslib.parse alone {micro['baseline_per_s']:,.0f}/s; ratio {micro['ratio']:.2f}"
        )
        report["P3"] = {"in_process": micro}
        quick_ingest = {"start_rate": 200.0, "max_rate": 200.0, "min_rate": 200.0, "bisections": 0, "repeat": False}
        quick_ingest = quick_ingest if quick else {}
        # redis-worker: not the default settings, what an operator can do when ingest is the limit
        for config in ("inmemory", "redis", "redis-worker"):
            best_ingest, rows = fanout.ingest_capacity(
                config, lines, args.redis_url, log=log, **quick_ingest, **archive_step
            )
            report["P3"][config] = {"best": best_ingest, "ladder": rows}
            # against the baseline of this run: this machine's speed varies from day to day
            held, cpu = (best_ingest["offered_per_s"], best_ingest["server_cpu_percent"]) if best_ingest else (0, 0)
            cost = 1e4 * cpu / held if held else 0
            print(
                f"daemon ({config}): kept up with {held:,.0f} packets/s "
                f"(server cpu {cpu:.0f}%{worker_cpu(best_ingest)}; target 5,000); "
                f"{held / micro['baseline_per_s']:.3f} × aprslib.parse alone's rate, "
                f"{cost:.0f} µs of CPU a packet = {cost * micro['baseline_per_s'] / 1e6:.1f} × aprslib.parse's"
            )

    if "P3archive" in parts:
        print("\nP3 with the default settings (archive on, SQLite): server CPU per packet, archive off vs on")
        report["P3archive"] = {}
        for config in ("inmemory", "redis"):
            for rate in (100.0,) if quick else (100.0, 1000.0):
                rows = fanout.ingest_cost(config, rate, lines, args.redis_url, **archive_step)
                report["P3archive"][f"{config}@{rate:g}"] = rows
                off, on = rows["off"], rows["on"]
                print(
                    f"  {config:<9}{rate:>6.0f}/s: off {off['server_cpu_percent']:4.0f}% cpu "
                    f"{off['us_per_packet']:6.0f} µs/packet; on {on['server_cpu_percent']:4.0f}% cpu "
                    f"{on['us_per_packet']:6.0f} µs/packet, archived {on['archived_per_s']:,.0f}/s; "
                    f"on/off {on['us_per_packet'] / max(off['us_per_packet'], 1e-9):.2f}"
                )

    if "P4" in parts:
        rate = 20.0 if quick else 200.0
        counts = [5, 10] if quick else [100, 1000, 5000]
        print(f"\nP4: clients with different {0.5}° area filters (map viewports), {rate:g} packets/s")
        rng = random.Random(4)
        rows = []
        for count in counts:
            row = fanout.run_step(
                "inmemory",
                count,
                rate,
                lines,
                filters=area_filters(lines, count, rng),
                client_processes=2 if count <= 1000 else 4,
                **step,
            )
            row["cpu_ms_per_packet"] = 10 * row["server_cpu_percent"] / rate
            row["copies_per_packet"] = row["delivered_copies_per_s"] / rate
            rows.append(row)
        print(f"{'clients':>8}{'copies/packet':>15}{'cpu ms/packet':>15}{'srv cpu%':>10}{'p99 ms':>8}{'rss MiB':>9}")
        for row in rows:
            print(
                f"{row['clients']:>8}{row['copies_per_packet']:>15.1f}{row['cpu_ms_per_packet']:>15.3f}"
                f"{row['server_cpu_percent']:>10.0f}{row['p99_ms'] or 0:>8.1f}{row['server_rss_mib']:>9.0f}"
            )
        report["P4"] = rows

    if "P5" in parts:
        idle = fanout.idle_rss_per_client(20 if quick else 1000)
        print(
            f"\nP5: {idle['online']} idle websocket clients: {idle['bytes_per_client'] / 1024:.1f} KiB RSS each "
            f"(daemon {idle['rss_before_mib']:.0f} -> {idle['rss_after_mib']:.0f} MiB)"
        )
        report["P5"] = idle
        if args.soak:
            soak = report["P5_soak"] = fanout.soak(args.soak, lines, log=log)
            print(
                f"P5 soak: {soak['minutes']:g} min, {soak['clients']} clients at {soak['rate']:g} packets/s: RSS "
                f"{soak['rss_mib'][0]:.0f} -> {soak['rss_mib'][-1]:.0f} MiB, "
                f"{soak['growth_after_first_minute_percent']:+.1f} % after the first minute, "
                f"{soak['growth_after_warmup_percent']:+.1f} % after the warm-up of {soak['warmup_s']:.0f} s "
                "(one pass of the capture; target within 5 %)"
            )

    if "igate" in parts:
        rate = 20.0 if quick else IGATE_FEED_RATE
        print(
            f"\niGate server port: TCP clients on everything at {rate:g} packets/s: most that all get it "
            f"(>= {fanout.MIN_DELIVERED:.0%} delivered, none disconnected)"
        )
        capacity = {"start_clients": 4, "max_clients": 4, "min_clients": 4, "bisections": 0, "repeat": False}
        capacity = capacity if quick else {}
        best = {}
        for config in ("baseline-tcp", "baseline-tcp-batched", "igate"):
            best[config], rows = fanout.tcp_clients_capacity(config, rate, lines, log=log, **capacity, **step)
            report.setdefault("igate_ladders", {})[config] = rows
        held = {config: row["clients"] if row else 0 for config, row in best.items()}
        for baseline in ("baseline-tcp", "baseline-tcp-batched"):
            print(
                f"{baseline} holds {held[baseline]:,} clients, the daemon's server port {held['igate']:,} "
                f"(ratio {held['igate'] / max(1, held[baseline]):.2f}; target >= 0.9)"
            )
        report["igate"] = best

    if "chat" in parts:
        members, senders = (4, 2) if quick else (100, 10)
        for config, redis_url in (("inmemory", None), ("redis", args.redis_url)):
            print(f"\nchat ({config}): one room, {members} members, {senders} senders, offered rate ladder")
            room = chat.run(
                members,
                senders,
                seconds=step["seconds"],
                rates=chat.RATES[:1] if quick else chat.RATES,
                redis_url=redis_url,
                log=lambda row: print(
                    f"  {row['offered_per_s']:>4} offered: {row['stored_per_s']:,.0f} messages/s stored, "
                    f"{row['copies_per_s']:,.0f} copies/s, "
                    f"p50 {row['p50_ms'] or 0:.0f} ms, p99 {row['p99_ms'] or 0:.0f} ms, "
                    f"server {row['server_cpu_percent']:.0f} % CPU ({row['server_us_per_copy']:.0f} µs/copy), "
                    f"client {row['client_cpu_percent']:.0f} %{'' if row['held'] else ': not held'}"
                ),
            )
            print(f"chat ({config}): held {room['held_per_s']} messages/s (target >= 100, p99 <= 250 ms to all)")
            report.setdefault("chat", {})[config] = room

    if "archive" in parts:
        for vendor, postgres, packets in (("SQLite", False, 100_000), ("PostgreSQL", True, 1_000_000)):
            packets = 2_000 if quick else packets
            print(f"\narchive ({vendor}): {packets:,} packets stored in batches, then the API over them")
            report.setdefault("archive", {})[vendor] = archive.run(packets, postgres=postgres)

    if "mqtt" in parts:
        print("\nMQTT: packets/s published on one core, the bridge's path against a bare client, same lines")
        figures = report["mqtt"] = mqtt.run(lines, quick=quick)
        for name, row in (("bare client (1 publication a packet)", "bare"), ("bridge (3 publications)", "bridge")):
            found = figures[row]
            print(
                f"  {name:<38}{found['packets_per_cpu_s']:>9,.0f} packets per CPU-second, "
                f"{found['packets_per_s']:>9,.0f}/s wall"
            )
        print(f"  bridge / bare: {figures['ratio_cpu']:.2f} (target >= 0.5, and >= 2,000 packets/s)")

    report["killed_on_stop"] = fanout.KILLED
    output = args.output or RESULTS / time.strftime("%Y%m%d-%H%M%S.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {output}")
    if fanout.KILLED:
        print(f"{len(fanout.KILLED)} processes did not stop on SIGTERM and were killed (see '!!' above)")
    return report


if __name__ == "__main__":
    sys.exit(1 if main()["killed_on_stop"] else 0)

"""``aprs-gateway``: run the daemon, manage its database, replay a capture, compute a passcode.

Command-line flags are turned into the environment variables of
config/settings.py before Django loads, so a flag and its variable are one
setting with one validation.
"""

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

MANAGEMENT = {
    "migrate": ("migrate", "create or upgrade the database (first, and after every upgrade)"),
    "createsuperuser": ("createsuperuser", "create an admin account (for /admin/ and chat moderation)"),
    "changepassword": ("changepassword", "change an account's password"),
    "purge-archive": ("purge_archive", "delete archived packets older than ARCHIVE_RETENTION_DAYS (or --days)"),
}
"""Django management commands offered without manage.py: our name -> (Django's, help)."""

ENV_FLAGS = {
    "bind": "BIND",
    "port": "PORT",
    "aprs_server": "APRS_SERVERS",
    "callsign": "APRS_CALLSIGN",
    "passcode": "APRS_PASSCODE",
    "filter": "APRS_FILTER",
    "stale_timeout": "APRS_STALE_TIMEOUT",
    "role": "ROLES",
    "igate_port": "IGATE_PORT",
    "kiss": "KISS_SERVER",
}


def port_number(text):
    """A TCP port, for argparse."""
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 65536):
        raise argparse.ArgumentTypeError(f"{text!r}: a port from 1 to 65535")
    return int(text)


def build_parser():
    parser = argparse.ArgumentParser(prog="aprs-gateway", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the gateway daemon")
    run.add_argument("--bind", help="address to listen on (BIND, default 127.0.0.1)")
    run.add_argument("--port", help="HTTP port (PORT, default 8000)")
    run.add_argument(
        "--aprs-server",
        action="append",
        metavar="HOST:PORT",
        help="APRS-IS server; repeat to rotate over several (APRS_SERVERS)",
    )
    run.add_argument("--callsign", help="login callsign (APRS_CALLSIGN)")
    run.add_argument("--passcode", help="APRS-IS passcode, -1 for receive-only (APRS_PASSCODE)")
    run.add_argument("--filter", help="APRS-IS server-side filter (APRS_FILTER)")
    run.add_argument("--stale-timeout", help="seconds of silence before reconnecting (APRS_STALE_TIMEOUT)")
    run.add_argument(
        "--igate-port", metavar="PORT", help="APRS-IS server port for local iGates, 0 for none (IGATE_PORT)"
    )
    run.add_argument("--kiss", metavar="HOST:PORT", help="KISS-over-TCP TNC to read, e.g. 127.0.0.1:8001 (KISS_SERVER)")
    run.add_argument("--no-aprs", action="store_true", help="no uplink, no demo feed")
    run.add_argument(
        "--role",
        action="append",
        choices=["web", "ingest", "worker"],
        help="what this node does; repeat for several (ROLES, default all)",
    )
    run.add_argument("--application", default="config.asgi.application", help=argparse.SUPPRESS)

    replay = commands.add_parser("replay", help="serve a capture file as a small APRS-IS server")
    replay.add_argument("file", help="capture: one TNC2 line per line, played byte-for-byte")
    replay.add_argument("--listen", default="127.0.0.1:14580", metavar="HOST:PORT")
    replay.add_argument("--rate", type=float, default=10.0, help="lines per second (default 10)")
    replay.add_argument("--loop", action="store_true", help="start over at the end")

    passcode = commands.add_parser("passcode", help="print the APRS-IS passcode of a callsign")
    passcode.add_argument("callsign")

    commands.add_parser("check-config", help="validate the configuration and say what it would do")

    probe = commands.add_parser("probe", help="health check of a running daemon: exit 0 if it answers 200")
    probe.add_argument(
        "what",
        choices=["live", "ready"],
        help="live: /healthz (the process answers); "
        "ready: /readyz (it can do its job: database, channel layer, links, tasks)",
    )
    probe.add_argument("--port", type=port_number, default=os.environ.get("PORT", "8000"), help="HTTP port (PORT)")

    importer = commands.add_parser("import", help="store packet captures in the archive, with their own times")
    importer.add_argument("files", nargs="+", metavar="FILE", help="TNC2 lines, aprx-rf.log or direwolf output")
    importer.add_argument("--format", choices=["tnc2", "aprx", "direwolf"], help="default: told from each file")
    importer.add_argument("--dry-run", action="store_true", help="say what would be stored; store nothing")

    for name, (_, what) in MANAGEMENT.items():
        # Django parses the rest (``aprs-gateway migrate --help`` is Django's own help).
        command = commands.add_parser(name, help=what, add_help=False)
        command.add_argument("arguments", nargs=argparse.REMAINDER)
    return parser


def apply_flags(args):
    for flag, variable in ENV_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            os.environ[variable] = ",".join(value) if isinstance(value, list) else str(value)
    if getattr(args, "no_aprs", False):
        os.environ["APRS_ENABLED"] = "false"


def command_run(args):
    apply_flags(args)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import daphne.server  # noqa: F401  (installs twisted's asyncio reactor before anything imports twisted)
    import django

    django.setup()
    refuse_unmigrated_database()
    from django.conf import settings

    from gateway.daemon import process

    process.run(settings.BIND, settings.PORT, args.application)


def refuse_unmigrated_database():
    """Stop before serving anything if the database is missing or behind the code."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        raise ImproperlyConfigured(
            f"cannot open the database ({connection.settings_dict['NAME']}): {exc}; "
            "if it does not exist yet, create it with `aprs-gateway migrate`"
        ) from None
    finally:
        connection.close()
    if pending:
        raise ImproperlyConfigured(
            f"the database has {len(pending)} unapplied migrations: run `aprs-gateway migrate` first"
        )


def command_manage(args):
    """One of MANAGEMENT, as ``manage.py`` would run it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    if args.command == "migrate":
        from django.db import connection

        if connection.vendor == "sqlite":  # SQLite makes the file, not its folder
            Path(connection.settings_dict["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    execute_from_command_line(["aprs-gateway", MANAGEMENT[args.command][0], *args.arguments])


def command_replay(args):
    from protocols.aprs.address import parse_server
    from protocols.aprs.replay import ReplayServer, read_capture

    host, port = parse_server(args.listen)
    if args.rate <= 0:
        raise ValueError("--rate must be greater than 0")
    server = ReplayServer(read_capture(args.file), rate=args.rate, loop=args.loop)

    async def serve():
        await server.start(host, port)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


def command_passcode(args):
    import aprslib

    from protocols.aprs.login import validate_callsign

    print(aprslib.passcode(validate_callsign(args.callsign)))


def command_check_config(args):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from gateway.daemon.checkconfig import describe

    print(describe())


def command_import(args):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    refuse_unmigrated_database()
    from gateway.importer import import_files

    with ImportProgress() as progress:
        report = import_files(args.files, fmt=args.format, dry_run=args.dry_run, progress=progress)
    for path, fmt in report.formats.items():
        print(f"{path}: {fmt}")
    verb = "would store" if args.dry_run else "stored"
    print(
        f"{report.lines} lines, {report.packets} packets: {verb} {report.stored}, "
        f"{report.already} already in the archive"
    )
    for reason, count in report.not_packets.most_common():
        print(f"  not imported: {count} ({reason})")


class ImportProgress:
    """A progress bar on a terminal (tqdm: lines/s, ETA); elsewhere a log line every
    ``LOG_EVERY`` seconds, so journald and CI logs stay readable."""

    LOG_EVERY = 5.0

    def __enter__(self):
        self.bar = None
        self.logged_at = self.started = time.monotonic()
        return self

    def __call__(self, done, total):
        if sys.stderr.isatty():
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit=" lines", unit_scale=True, dynamic_ncols=True)
            self.bar.update(done - self.bar.n)
            return
        now = time.monotonic()
        if now - self.logged_at >= self.LOG_EVERY or done == total:
            self.logged_at = now
            rate = done / max(now - self.started, 1e-9)
            eta = (total - done) / rate if rate else 0
            logging.getLogger("gateway.import").info(
                "%d of %d lines (%.0f%%), %.0f lines/s, %.0f s to go",
                done,
                total,
                100 * done / max(total, 1),
                rate,
                eta,
            )

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def command_probe(args):
    """GET /healthz or /readyz on this host, naming a host ALLOWED_HOSTS accepts (Django answers
    400 to any other Host), so the check works whatever the deployment's host names."""
    import http.client

    hosts = [h.strip().lstrip(".") for h in os.environ.get("ALLOWED_HOSTS", "localhost").split(",") if h.strip()]
    host = next((h for h in hosts if h != "*"), "localhost")
    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
    connection.request("GET", "/healthz" if args.what == "live" else "/readyz", headers={"Host": host})
    response = connection.getresponse()
    print(response.status, response.read().decode("utf-8", "replace"))
    return 0 if response.status == 200 else 1


def main(argv=None):
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)  # REMAINDER misses a leading --option
    if args.command in MANAGEMENT:
        args.arguments = extra + args.arguments
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from django.core.exceptions import ImproperlyConfigured

    from protocols.tcp import TwistedChanged

    try:
        commands = {
            **dict.fromkeys(MANAGEMENT, command_manage),
            "run": command_run,
            "replay": command_replay,
            "passcode": command_passcode,
            "check-config": command_check_config,
            "import": command_import,
            "probe": command_probe,
        }
        status = commands[args.command](args)
    except (ImproperlyConfigured, ValueError, OSError, TwistedChanged) as exc:
        print(f"aprs-gateway: error: {exc}", file=sys.stderr)
        return 2
    return status or 0


if __name__ == "__main__":
    sys.exit(main())

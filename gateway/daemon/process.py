"""The daemon's lifecycle: daphne and the ``aprs`` protocol server in one twisted reactor.

``run()`` is what ``aprs-gateway run`` calls once the command line has been
turned into settings. daphne serves HTTP and websockets (``webserver.py``);
the APRS protocol server and its links (``links.py``) start when the reactor
runs and stop before it shuts down, so SIGTERM/SIGINT close the uplink
cleanly; the "channel" workers run in the same loop.
"""

import asyncio
import gc
import logging
import os
import resource
import signal
import time
from functools import partial

import daphne.server  # noqa: F401  (installs the asyncio reactor; must come first)
from channels.layers import get_channel_layer
from daphne.endpoints import build_endpoint_description_strings
from django.conf import settings
from django.utils.module_loading import import_string
from twisted.internet import defer, reactor
from twisted.internet.task import LoopingCall

from gateway import metrics
from gateway.daemon import runtime, systemd
from gateway.daemon.links import APRSLinks, software_version
from gateway.daemon.supervisor import Supervised
from gateway.daemon.webserver import GatewayServer, without_websockets
from gateway.daemon.worker import PatientWorker
from gateway.feed.hub import get_hub, running_hub
from gateway.names import ARCHIVE_CHANNEL, OUTBOX_CHANNEL
from gateway.room_hub import running_room_hub
from protocols.tcp import check_twisted

logger = logging.getLogger("gateway.daemon")

CLOSE_TIMEOUT = 10
"""Seconds applications get to finish when their connection closes."""
STATUS_INTERVAL = 5.0
GOING_AWAY = 1001
PROXY_HEADERS = {
    "proxy_forwarded_address_header": "X-Forwarded-For",
    "proxy_forwarded_port_header": "X-Forwarded-Port",
    "proxy_forwarded_proto_header": "X-Forwarded-Proto",
}
WORKER_GRACE = 10.0
FINISH_TIMEOUT = 5.0
"""Seconds the last tasks get to end once cancelled, after the reactor stopped."""


class Gateway:
    """One daemon process: daphne, the uplink while this node leads, systemd, signals.

    Lifecycle: ``run()`` listens; on an ingest node the ``aprs`` protocol
    server starts with the iGate server port, and the uplink and the KISS TNC
    link start once this node leads (or it stands by for them); READY=1 goes
    to systemd once listening and leading or standing by. SIGHUP re-reads
    the filter; the first SIGTERM/SIGINT stops gracefully (websockets are
    closed with 1001, the links' applications get up to 10 s to hand on what
    they hold, then the workers up to 10 s to store it), a second one exits
    at once. A port it cannot listen on stops it with an error (exit 2).
    """

    def __init__(self, bind, port, application_path, roles):
        check_twisted()  # before anything relies on twisted's transports
        self.bind, self.port = bind, port
        self.application = import_string(application_path)
        if "web" not in roles:
            self.application = without_websockets(self.application)
        self.roles = roles
        self.links = None  # the aprs protocol server and its links, on ingest nodes
        self.workers = self.worker = None  # the supervised worker task, and the worker it runs
        self.stopping = False
        self.links_stopping = None
        self.failure = None  # why the daemon could not start (a port it cannot listen on)
        self.not_listening = {"http"} | ({"igate"} if "ingest" in roles and settings.IGATE_PORT else set())
        self.ready = {"listening": False, "uplink": not self.runs_uplink}
        self.server = GatewayServer(
            application=self.application,
            endpoints=build_endpoint_description_strings(host=bind, port=port),
            signal_handlers=False,
            application_close_timeout=CLOSE_TIMEOUT,
            server_name="aprs-gateway",
            on_listening=partial(self.listening, "http"),
            on_listen_failure=self.fail,
            # Behind nginx the client is the one X-Forwarded-For names (per-address caps, logs).
            **(PROXY_HEADERS if settings.BEHIND_TLS_PROXY else {}),
        )

    @property
    def runs_uplink(self):
        """Whether this node competes to hold the leader's links: the uplink and the TNC."""
        return "ingest" in self.roles and (settings.APRS_ENABLED or bool(settings.KISS_SERVER))

    def run(self):
        reactor.callWhenRunning(self.install_signal_handlers)
        if "ingest" in self.roles:
            self.links = APRSLinks(
                self.application,
                CLOSE_TIMEOUT,
                on_ready=partial(self._mark_ready, "uplink"),
                on_listening=partial(self.listening, "igate"),
                on_failure=self.fail,
            )
            reactor.callWhenRunning(self.links.start)
        if self.runs_uplink:
            reactor.callWhenRunning(self.links.elect)
        else:
            logger.info(
                "APRS uplink off on this node (%s)",
                "--no-aprs" if not settings.APRS_ENABLED else f"roles: {','.join(self.roles)}",
            )
        if "worker" in self.roles:
            reactor.callWhenRunning(self.start_workers)
        if "web" in self.roles:
            reactor.callWhenRunning(self.start_hub)
        reactor.addSystemEventTrigger("before", "shutdown", self.finish_links_then_workers)
        reactor.addSystemEventTrigger("before", "shutdown", self.leave_groups)
        LoopingCall(self.report_status).start(STATUS_INTERVAL, now=False)
        interval = systemd.watchdog_interval()
        if interval:
            LoopingCall(systemd.notify, "WATCHDOG=1").start(interval)
        collect_garbage_rarely()
        self.server.run()
        finish_pending_tasks(asyncio.get_event_loop())
        if self.failure:
            raise OSError(self.failure)

    def listening(self, what):
        """Said once every port listens (HTTP, and the iGate port where there is one)."""
        self.not_listening.discard(what)
        if self.not_listening:
            return
        logger.info(
            "serving http://%s:%d/ (websocket feed at ws/aprs/), roles %s", self.bind, self.port, ",".join(self.roles)
        )
        self._mark_ready("listening")

    def fail(self, reason):
        """A port the daemon cannot listen on: stop, and exit non-zero saying why (a systemd
        unit's Restart=on-failure then tries again; an exit 0 would not be restarted)."""
        if self.failure is None:
            self.failure = reason
            logger.critical("%s: stopping", reason)
            if reactor.running:
                reactor.stop()
            else:
                reactor.callWhenRunning(reactor.stop)

    def install_signal_handlers(self):
        """On the reactor's own asyncio loop (daphne makes it current as it starts)."""
        loop = asyncio.get_event_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.on_stop_signal, signum)
        loop.add_signal_handler(signal.SIGHUP, self.reload)

    def start_hub(self):
        """In the feed group before the first client comes, so a new map viewer finds
        the stations heard since the start. callWhenRunning runs before the asyncio
        loop does: the hub starts on the loop's first turn."""
        asyncio.get_event_loop().call_soon(get_hub)

    def start_workers(self):
        """The "channel" workers (archive, outbox) in this process, as runworker would run
        them: they wait out a layer outage, and a failure restarts them (supervised)."""
        channels = [OUTBOX_CHANNEL] + ([ARCHIVE_CHANNEL] if settings.ARCHIVE_ENABLED else [])

        async def work():
            self.worker = PatientWorker(
                application=self.application, channels=channels, channel_layer=get_channel_layer()
            )
            await self.worker.arun()

        def retire():
            """The failed worker's consumers may hold work in hand (the archive's batch):
            they get WORKER_GRACE seconds to finish it before they are cancelled."""
            for instance in self.worker.application_instances.values() if self.worker else ():
                asyncio.get_event_loop().call_later(WORKER_GRACE, instance["future"].cancel)

        self.workers = Supervised("worker", work, on_failure=retire).start()
        logger.info("worker: consuming %s", ", ".join(channels))

    def _mark_ready(self, what):
        self.ready[what] = True
        if all(self.ready.values()):
            systemd.notify("READY=1", f"STATUS={self.status_line()}")

    def finish_links_then_workers(self):
        """Before the reactor stops: the links' stop (begun by the signal if there was
        one), their applications getting ``CLOSE_TIMEOUT`` to hand on what they hold;
        then the workers take it and finish (``WORKER_GRACE``): the archive stores every
        packet this node handed to its clients."""
        stopped = defer.succeed(None)
        if self.links is not None:
            stopping, self.links_stopping = self.links_stopping, None
            stopped = self.links.stop(released=stopping)
        return stopped.addCallback(lambda _: self.finish_workers())

    def finish_workers(self):
        if self.workers is None:
            return None
        self.workers.stop()  # no restart from here on
        if self.worker is None:
            return None
        return defer.Deferred.fromFuture(asyncio.ensure_future(self.worker.finish(WORKER_GRACE)))

    def leave_groups(self):
        """Before the reactor stops: this node's hubs leave their groups (gateway/members.py)."""
        leaving = [hub.leave() for hub in (running_hub(), running_room_hub()) if hub is not None]
        return defer.Deferred.fromFuture(asyncio.ensure_future(asyncio.gather(*leaving))) if leaving else None

    # --- signals --------------------------------------------------------------
    def on_stop_signal(self, signum):
        name = signal.Signals(signum).name
        if self.stopping:
            logger.warning("second %s: exiting now", name)
            os._exit(1)
        self.stopping = True
        logger.info("%s: stopping (websocket clients get 1001, applications up to %d s)", name, CLOSE_TIMEOUT)
        systemd.notify("STOPPING=1")
        if self.links is not None:
            self.links_stopping = self.links.release()  # upstream goes now, while websockets close
        runtime.stopping.set()  # SSE streams end with a "bye" event, pending long-polls answer
        for port in self.server.ports:
            port.stopListening()
        for protocol in self.server.websocket_connections():
            # 1001 "going away" is the RFC 6455 code for this, but autobahn's
            # sendClose() only lets applications send 1000 or 3000-4999.
            protocol.sendCloseFrame(code=GOING_AWAY, reasonUtf8=b"server shutting down")
        self._stop_when_closed(time.monotonic() + CLOSE_TIMEOUT)

    def _stop_when_closed(self, deadline):
        if (self.server.websocket_connections() or runtime.open_streams) and time.monotonic() < deadline:
            reactor.callLater(0.1, self._stop_when_closed, deadline)
        else:
            reactor.stop()

    def reload(self):
        """SIGHUP: take the filter from APRS_FILTER_FILE; clients stay connected."""
        systemd.notify(*systemd.reloading())
        path = settings.APRS_FILTER_FILE
        if not path:
            logger.warning("SIGHUP: nothing to reload (set APRS_FILTER_FILE to change the filter live)")
        else:
            try:
                with open(path, encoding="ascii") as source:
                    new_filter = " ".join(source.read().split())
            except (OSError, UnicodeDecodeError) as exc:
                logger.error("SIGHUP: cannot read APRS_FILTER_FILE: %s; filter unchanged", exc)
            else:
                settings.APRS_FILTER = new_filter
                if self.links is not None:
                    self.links.change_filter(new_filter)
                logger.info("SIGHUP: APRS filter is now %r", new_filter)
        systemd.notify("READY=1", f"STATUS={self.status_line()}")

    # --- status -----------------------------------------------------------------
    def status_line(self):
        return self.links.status_line() if self.links is not None else "no aprs links on this node"

    def report_status(self):
        systemd.notify(f"STATUS={self.status_line()}")


GC_YOUNG_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def collect_garbage_rarely():
    """Set the cyclic garbage collector for a long-running server: what start-up loaded
    (Django, the apps, their modules) is frozen out of its sight, and the young generation
    is collected every 10,000 allocations instead of 700. At 4,000 packets/s the collector
    took 7 % of a core, nearly all for objects reference counting frees anyway; after, under
    1 % (docs/fanout.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def run(bind, port, application_path):
    metrics.build.info({"version": software_version()})
    ensure_file_descriptors()
    Gateway(bind, port, application_path, settings.ROLES).run()


FD_SPARE = 256
"""Descriptors beyond the connection caps: database, Redis, log files, the links."""


def ensure_file_descriptors():
    """Raise the soft limit on open files to what the caps need (up to the hard limit), and
    say so at start if that is not enough: past it, accept() fails and twisted tells no one."""
    needed = settings.MAX_CONNECTIONS + (settings.IGATE_MAX_CLIENTS if settings.IGATE_PORT else 0) + FD_SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = min(needed, hard) if hard != resource.RLIM_INFINITY else needed
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft < needed:
        logger.warning(
            "only %d file descriptors for caps needing %d: lower MAX_CONNECTIONS (or IGATE_MAX_CLIENTS) "
            "or raise the limit (systemd: LimitNOFILE=)",
            soft,
            needed,
        )


def finish_pending_tasks(loop):
    """Cancel what still runs on the loop (the feed hub, replay sessions) and let it end.

    Left pending, such tasks are destroyed by the garbage collector at
    interpreter exit, which has crashed CPython 3.11 with a segfault here.
    """
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        _, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=FINISH_TIMEOUT))
        if stuck:  # a library task that will not end: do not wait for it, nor let GC meet it
            logger.warning("%d tasks did not finish on cancel; exiting without them", len(stuck))
            logging.shutdown()
            os._exit(0)
    loop.close()

"""Long-lived tasks of the daemon that must never die quietly.

``Supervised`` runs a coroutine factory for ever: when the coroutine fails
(or returns, which a long-lived task must not), the failure is logged once
with its traceback, counted in ``aprs_gateway_task_restarts_total{task}``,
and the task is started again after a backoff (protocols/backoff.py: 1 s
doubling to 30 s, back to 1 s once a run has lasted a minute). Its ``state`` ("running",
"restarting") and last error are what /readyz reports (``runtime.tasks``).
"""

import asyncio
import logging
import time

from gateway import metrics
from gateway.daemon import runtime
from protocols.backoff import Backoff

logger = logging.getLogger("gateway.supervisor")

BACKOFF_MIN = 1.0
BACKOFF_MAX = 30.0
STABLE_RUN = 60.0


class Supervised:
    def __init__(self, name, factory, on_failure=None):
        self.name = name
        self.factory = factory  # () -> coroutine
        self.on_failure = on_failure  # called after a failure, before the restart
        self.state = "starting"
        self.error = None
        self.restarts = 0
        self.task = None

    def start(self):
        runtime.tasks[self.name] = self
        self.task = asyncio.ensure_future(self._run())
        return self

    def stop(self):
        if self.task is not None:
            self.task.cancel()

    async def _run(self):
        backoff = Backoff(BACKOFF_MIN, BACKOFF_MAX)
        while True:
            started = time.monotonic()
            self.state = "running"
            try:
                await self.factory()
                self.error = "returned while it should run for ever"
            except asyncio.CancelledError:
                self.state = "stopped"
                raise
            except Exception as exc:  # noqa: BLE001  (whatever it was, the task must come back)
                self.error = f"{type(exc).__name__}: {exc}"
                failure = exc
            else:
                failure = None
            if time.monotonic() - started >= STABLE_RUN:
                backoff.reset()
            delay = backoff.next()
            logger.error("%s failed (%s); restarting it in %.1f s", self.name, self.error, delay, exc_info=failure)
            self.state = "restarting"
            self.restarts += 1
            metrics.task_restarts.labels(self.name).inc()
            if self.on_failure is not None:
                self.on_failure()
            await asyncio.sleep(delay)

    def status(self):
        return {
            "ok": self.state == "running",
            "state": self.state,
            "restarts": self.restarts,
            **({"error": self.error} if self.error and self.state != "running" else {}),
        }

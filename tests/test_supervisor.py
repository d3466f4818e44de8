"""gateway/daemon/supervisor.py: a long-lived task that fails is logged with its traceback,
counted, reported, and started again with backoff."""

import asyncio
import logging

from prometheus_client import REGISTRY

from gateway.daemon import runtime, supervisor
from gateway.daemon.supervisor import Supervised


async def test_a_failing_task_is_restarted_counted_and_reported(monkeypatch, caplog):
    monkeypatch.setattr(supervisor, "BACKOFF_MIN", 0.01)
    runs, failures = [], []

    async def flaky():
        runs.append(len(runs))
        if len(runs) <= 2:
            raise RuntimeError(f"bug number {len(runs)}")
        await asyncio.Event().wait()  # the third run stays up

    before = REGISTRY.get_sample_value("aprs_gateway_task_restarts_total", {"task": "flaky"}) or 0
    with caplog.at_level(logging.ERROR, logger="gateway.supervisor"):
        task = Supervised("flaky", flaky, on_failure=lambda: failures.append(1)).start()
        while len(runs) < 3:
            await asyncio.sleep(0.01)
    assert runtime.tasks["flaky"] is task and task.status() == {"ok": True, "state": "running", "restarts": 2}
    assert len(failures) == 2
    assert REGISTRY.get_sample_value("aprs_gateway_task_restarts_total", {"task": "flaky"}) == before + 2
    errors = [record for record in caplog.records if "flaky failed" in record.getMessage()]
    assert len(errors) == 2 and all(record.exc_info for record in errors)  # once each, with its traceback
    task.stop()
    await asyncio.sleep(0)
    del runtime.tasks["flaky"]


async def test_a_task_that_returns_is_started_again_and_reported_meanwhile(monkeypatch):
    monkeypatch.setattr(supervisor, "BACKOFF_MIN", 0.2)
    done = []

    async def quits():
        done.append(1)

    task = Supervised("quits", quits).start()
    while not done:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert task.status() == {
        "ok": False,
        "state": "restarting",
        "restarts": 1,
        "error": "returned while it should run for ever",
    }
    task.stop()
    del runtime.tasks["quits"]

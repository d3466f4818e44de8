"""The MQTT link: one broker session at a time, one ASGI application instance for the
link's whole life (spec: docs/mqtt-asgi.md).

The link owns the socket (aiomqtt) and only translates: a session that comes up
is ``mqtt.connect``, each message on a subscribed topic ``mqtt.message``, a
session that ends ``mqtt.disconnect``; the instance sends ``mqtt.subscribe`` and
``mqtt.publish``. What the instance publishes while the broker is away waits in a
bounded queue (``buffer`` messages; the oldest go first, counted) and leaves once
a session is up, so a broker restart costs no packet unless it lasts long. A lost
or refused session is tried again with the one backoff (protocols/backoff.py).

The link publishes ``online`` (retained) on ``status_topic`` when a session comes
up, and leaves ``offline`` as its will, so subscribers (Home Assistant's
availability) see the bridge go away even when the process dies.
"""

import asyncio
import collections
import logging
import ssl
import time
from dataclasses import dataclass

import aiomqtt

from protocols.backoff import Backoff

logger = logging.getLogger("aprs.mqtt")  # not under "mqtt": aiomqtt sets that one to WARNING

KEEPALIVE = 30
STABLE_SESSION = 60.0


@dataclass(frozen=True)
class LinkConfig:
    broker: object  # url.Broker
    client_id: str
    status_topic: str
    qos: int = 0
    buffer: int = 10_000
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0


class MQTTLink:
    """``start()`` it in a running event loop; ``await stop(timeout)`` ends the session
    and gives the instance ``timeout`` seconds after ``mqtt.disconnect``."""

    def __init__(self, application, config, counters):
        self.application = application
        self.config = config
        self.counters = counters  # a collections.Counter the daemon's metrics read
        self.state = "idle"
        self.error = None  # why the last session failed or was refused
        self.outgoing = collections.deque()
        self.waiting = asyncio.Event()  # set while ``outgoing`` holds something
        self.events = asyncio.Queue()  # for the instance
        self.subscriptions = []
        self.client = None
        self.task = self.instance = None

    def start(self):
        scope = {"type": "mqtt", "broker": str(self.config.broker), "client_id": self.config.client_id}
        self.instance = asyncio.ensure_future(self.application(scope, self.events.get, self.application_send))
        self.instance.add_done_callback(self._instance_ended)
        self.task = asyncio.ensure_future(self._run())

    async def stop(self, timeout=10.0):
        self.state = "stopped"
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait([self.task])
        if self.instance is not None and not self.instance.done():
            self.events.put_nowait({"type": "mqtt.disconnect", "reason": "stopping"})
            _, late = await asyncio.wait([self.instance], timeout=timeout)
            for future in late:
                future.cancel()

    def status(self):
        """For /api/status: the session's state, why the last one failed, the counts."""
        return {
            "state": self.state,
            "broker": str(self.config.broker),
            "error": self.error,
            "published": self.counters["published"],
            "received": self.counters["received"],
            "waiting": len(self.outgoing),
            "dropped": self.counters["dropped"],
        }

    def _instance_ended(self, future):
        if not future.cancelled() and future.exception() is not None:
            logger.error("mqtt application failed", exc_info=future.exception())

    # --- what the instance sends --------------------------------------------------------
    async def application_send(self, message):
        kind = message.get("type")
        if kind == "mqtt.publish":
            if len(self.outgoing) >= self.config.buffer:
                self.outgoing.popleft()
                self.counters["dropped"] += 1
            self.outgoing.append((message["topic"], message["payload"], message.get("retain", False)))
            self.waiting.set()
        elif kind == "mqtt.subscribe":
            self.subscriptions = list(message["topics"])
            if self.client is not None:
                for topic in self.subscriptions:
                    await self.client.subscribe(topic, qos=self.config.qos)
        else:
            raise ValueError(f"mqtt link: unknown message type {kind!r}")

    # --- sessions --------------------------------------------------------------------------
    async def _run(self):
        backoff = Backoff(self.config.reconnect_min, self.config.reconnect_max)
        while True:
            self.state = "connecting"
            started = time.monotonic()
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                self.error = str(exc)
            self.client = None
            self.state = "disconnected"
            self.events.put_nowait({"type": "mqtt.disconnect", "reason": self.error})
            if time.monotonic() - started >= STABLE_SESSION:
                backoff.reset()
            delay = backoff.next()
            log = logger.warning if backoff.failures == 1 else logger.info
            log("MQTT broker %s: %s; next attempt in %.1f s", self.config.broker, self.error, delay)
            await asyncio.sleep(delay)

    async def _session(self):
        broker = self.config.broker
        will = aiomqtt.Will(self.config.status_topic, b"offline", qos=1, retain=True)
        async with aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=self.config.client_id,
            keepalive=KEEPALIVE,
            will=will,
            tls_context=ssl.create_default_context() if broker.tls else None,
        ) as client:
            self.client, self.state, self.error = client, "connected", None
            self.counters["sessions"] += 1
            logger.info("MQTT broker %s: connected as %s", broker, self.config.client_id)
            await client.publish(self.config.status_topic, b"online", qos=1, retain=True)
            for topic in self.subscriptions:
                await client.subscribe(topic, qos=self.config.qos)
            self.events.put_nowait({"type": "mqtt.connect"})
            tasks = [asyncio.ensure_future(self._publish(client)), asyncio.ensure_future(self._receive(client))]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # what ended the session
            finally:
                for task in tasks:
                    task.cancel()

    async def _publish(self, client):
        while True:
            await self.waiting.wait()
            while self.outgoing:
                topic, payload, retain = self.outgoing[0]
                await client.publish(topic, payload, qos=self.config.qos, retain=retain)
                self.outgoing.popleft()  # only once the client took it: a failed publish is tried again
                self.counters["published"] += 1
            self.waiting.clear()

    async def _receive(self, client):
        async for message in client.messages:
            self.counters["received"] += 1
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload or "").encode()
            self.events.put_nowait(
                {"type": "mqtt.message", "topic": message.topic.value, "payload": payload, "retain": message.retain}
            )

"""The MQTT bridge against a real Mosquitto, with a real MQTT client subscribed: what
APRS-IS sends reaches MQTT byte for byte, as JSON, as retained station state, with
Home Assistant's discovery documents; a broker restart loses nothing the bridge held;
a broker that refuses the login leaves the gateway up and says why."""

import asyncio
import json

import pytest

from tests.conftest import free_port
from tests.igateclient import IGateClient
from tests.mosquitto import Mosquitto, Subscriber
from tests.test_daemon import linked

CAR = b"N0DEMO-9>APRS,TCPIP*,qAC,T2TEST:!4903.50N/07201.75W>090/025Demo car \xe9t\xe9"  # Latin-1 bytes
WEATHER = b"WX1>APRS,TCPIP*,qAC,T2TEST:@092345z4903.50N/07201.75W_220/004g005t077r000p000P000h50b09900wRSW"
TELEMETRY = b"N0DEMO-3>APRS,TCPIP*,qAC,T2TEST:T#001,no,numbers"  # no decoder reads it; it is published all the same
FAR = b"VK2ABC>APRS,TCPIP*,qAC,T2TEST:!3352.00S/15112.00E-Sydney"


@pytest.fixture
def broker(tmp_path):
    server = Mosquitto(tmp_path).start()
    yield server
    server.kill()


def bridge_env(broker, **extra):
    return {"MQTT_URL": broker.url, "MQTT_HA_CALLSIGNS": "WX1,N0DEMO-9", "ARCHIVE_ENABLED": "false", **extra}


async def until_waiting(gateway, count, timeout=10):
    deadline = asyncio.get_running_loop().time() + timeout
    while (await gateway.get_json("/api/status"))["mqtt"]["waiting"] < count:
        assert asyncio.get_running_loop().time() < deadline, "the bridge did not hold the packets"
        await asyncio.sleep(0.1)


def document(payload):
    return json.loads(payload)


async def test_packets_reach_mqtt_raw_as_json_and_as_retained_state(daemon, upstream, broker):
    watcher = await Subscriber(broker).start()
    gateway, session = await linked(daemon, upstream, env=bridge_env(broker))
    await watcher.until(lambda seen: watcher.on("homeassistant/device_tracker/aprs_wx1/config"))
    assert watcher.on("aprs/status") == [b"online"]
    tracker = document(watcher.on("homeassistant/device_tracker/aprs_n0demo_9/config")[0])
    assert tracker["json_attributes_topic"] == "aprs/station/N0DEMO-9" and tracker["source_type"] == "gps"
    assert tracker["availability_topic"] == "aprs/status" and tracker["unique_id"] == "aprs_n0demo_9"

    session.send_lines([CAR, WEATHER, TELEMETRY])
    await watcher.until(lambda seen: len(watcher.on("aprs/raw")) == 3)
    assert watcher.on("aprs/raw") == [CAR, WEATHER, TELEMETRY]  # the bytes as received, never decoded
    (car,) = watcher.on("aprs/packet/N0DEMO-9")
    assert document(car)["packet"]["latitude"] == pytest.approx(49.0583, abs=1e-3)
    assert watcher.on("aprs/packet/N0DEMO-3"), "a packet no decoder reads is published all the same"
    await watcher.until(lambda seen: watcher.on("homeassistant/sensor/aprs_wx1_temperature/config"))
    sensor = document(watcher.on("homeassistant/sensor/aprs_wx1_temperature/config")[0])
    assert sensor["unit_of_measurement"] == "°C" and sensor["device_class"] == "temperature"
    assert sensor["state_topic"] == "aprs/station/WX1" and "weather.temperature" in sensor["value_template"]

    late = await Subscriber(broker, topics=("aprs/station/#",)).start()  # retained: a newcomer has it at once
    await late.until(lambda seen: len(seen) == 3)
    assert all(retain for _, _, retain in late.messages)
    weather = document(late.on("aprs/station/WX1")[0])
    assert weather["weather"]["temperature"] == 25.0 and weather["latitude"] == pytest.approx(49.0583, abs=1e-3)
    assert weather["symbol"] == "_" and weather["last_heard"] > 0
    await late.stop()

    status = await gateway.get_json("/api/status")
    assert status["mqtt"]["state"] == "connected" and status["mqtt"]["published"] >= 9
    assert "p@ss" not in json.dumps(status) and "p%40ss" not in json.dumps(status)
    await watcher.stop()


async def test_a_broker_restart_loses_nothing_the_bridge_held(daemon, upstream, broker):
    gateway, session = await linked(daemon, upstream, env=bridge_env(broker, APRS_RECONNECT_MIN="1.5"))
    await gateway.until_log("MQTT broker mqtt://gateway@127.0.0.1")
    broker.kill()
    await gateway.until_log("next attempt in")
    session.send_lines([FAR, CAR])  # the bridge holds them while the broker is away
    await until_waiting(gateway, 6)  # raw, JSON and state of each
    broker.start()
    watcher = await Subscriber(broker, topics=("aprs/raw",)).start()  # before the bridge's next attempt
    await watcher.until(lambda seen: len(watcher.on("aprs/raw")) == 2, timeout=30)
    assert watcher.on("aprs/raw") == [FAR, CAR]
    session.send_lines([WEATHER])
    await watcher.until(lambda seen: len(watcher.on("aprs/raw")) == 3)
    assert (await gateway.get_json("/api/status"))["mqtt"]["state"] == "connected"
    await watcher.stop()


async def test_a_refused_login_leaves_the_gateway_up_and_says_why(daemon, upstream, broker):
    env = bridge_env(broker, MQTT_URL=broker.url.replace("p%40ss", "wrong"))
    gateway, _ = await linked(daemon, upstream, env=env)
    await gateway.until_log("next attempt in")
    status = await gateway.get_json("/api/status")
    assert status["mqtt"]["state"] in ("disconnected", "connecting"), status["mqtt"]
    assert "authori" in (status["mqtt"]["error"] or "").lower() or "password" in status["mqtt"]["error"].lower()
    assert (await gateway.request("/readyz"))[0] == 200  # the web and the uplink serve on
    assert b"aprs_gateway_mqtt_connected 0.0" in (await gateway.get("/metrics"))


def test_the_filter_chooses_what_is_published(settings):
    from consumers.mqtt import MQTTBridgeConsumer
    from protocols.aprs.decode import decode_line
    from protocols.aprs.filters import packet_facts

    settings.MQTT_FILTER = "r/49/-72/100"
    bridge = MQTTBridgeConsumer()
    near, far = (packet_facts(decode_line(line, 1.0)["packet"], line) for line in (CAR, FAR))
    assert bridge.filter.matches(near) and not bridge.filter.matches(far)


async def test_two_nodes_publish_each_packet_once_whichever_took_it_in(daemon, upstream, broker, redis):
    """The bridge runs on the leading node only; the other node's packets reach it through the
    channel layer (MQTTOutput runs once per cluster), and nothing is published twice."""
    env = bridge_env(broker, REDIS_URL=redis.url)
    watcher = await Subscriber(broker, topics=("aprs/raw",)).start()
    leader, session = await linked(daemon, upstream, env=env)
    await leader.until_log("MQTT broker mqtt://gateway@127.0.0.1")
    port = free_port()
    other = await daemon("--no-aprs", "--igate-port", str(port), env=env).started()
    await other.until_log("APRS-IS server port for iGates on")
    assert "MQTT broker" not in other.log()
    gate, _ = await IGateClient.logged_in(port, "N0GATE")
    gate.send("N0RF>APRS,WIDE1-1:!1000.00N/01000.00E-heard on RF")
    session.send_lines([CAR])
    await watcher.until(lambda seen: len(seen) >= 2)
    await asyncio.sleep(1.0)  # a second copy would come now
    assert sorted(watcher.on("aprs/raw")) == sorted(
        [CAR, b"N0RF>APRS,WIDE1-1,qAS,N0GATE:!1000.00N/01000.00E-heard on RF"]
    )
    await watcher.stop()

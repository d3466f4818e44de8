"""The MQTT bridge's application (scope type ``mqtt``, docs/mqtt-asgi.md).

One instance runs on the node that leads, for the link's life (protocols/mqtt/link.py).
It is the one member of ``MQTT_GROUP``: every node's connections send their batches
there (consumers/aprs/outputs.py, ``MQTTOutput``), so each packet is published once in
the cluster. Per packet, if ``MQTT_FILTER`` lets it through:

- ``<prefix>/raw``: the line's bytes as received;
- ``<prefix>/packet/<SOURCE>``: the packet as the feed's JSON;
- ``<prefix>/station/<SOURCE>`` (retained): the station's last state (position, symbol,
  comment, weather, last heard), kept across packets that carry only part of it.

For each callsign of ``MQTT_HA_CALLSIGNS``, Home Assistant's MQTT discovery documents
(retained): a device tracker on the station topic once a session is up, and a sensor per
weather field the first time the station reports it.
"""

import collections
import json
import re

from channels.consumer import AsyncConsumer
from django.conf import settings

from gateway.names import MQTT_GROUP
from protocols.aprs.filters import Known, parse_filter

STATIONS_MAX = 50_000
"""Stations whose last state the bridge keeps for the retained documents (least recently heard go)."""
UNSAFE_IN_TOPIC = re.compile(r"[+#/\x00\s]")
WEATHER_SENSORS = {  # aprslib's weather field -> (unit, Home Assistant device class or None)
    "temperature": ("°C", "temperature"),
    "humidity": ("%", "humidity"),
    "pressure": ("hPa", "atmospheric_pressure"),
    "wind_speed": ("m/s", "wind_speed"),
    "wind_gust": ("m/s", "wind_speed"),
    "wind_direction": ("°", None),
    "rain_1h": ("mm", "precipitation"),
    "rain_24h": ("mm", "precipitation"),
    "rain_since_midnight": ("mm", "precipitation"),
    "luminosity": ("W/m²", "irradiance"),
}
STATE_FIELDS = ("symbol_table", "symbol", "comment", "course", "speed", "altitude", "status")


def topic_level(name):
    """A callsign or object name as one topic level: MQTT's wildcards and separators become _."""
    return UNSAFE_IN_TOPIC.sub("_", name.strip())


def entity_id(call):
    return "aprs_" + re.sub(r"[^a-z0-9]", "_", call.lower())


class Stations(Known):
    """The last state of each station heard, which also answers ``MQTT_FILTER``'s m/ and f/."""

    def __init__(self):
        self.states = collections.OrderedDict()

    def position(self, call):
        state = self.states.get(call)
        return (state["latitude"], state["longitude"]) if state and "latitude" in state else None

    def update(self, name, packet, facts):
        state = self.states.pop(name, None) or {"callsign": name}
        self.states[name] = state
        if len(self.states) > STATIONS_MAX:
            self.states.popitem(last=False)
        if "lat" in facts:
            state["latitude"], state["longitude"] = facts["lat"], facts["lon"]
            state["gps_accuracy"] = 0  # Home Assistant's device tracker wants it with a position
        for field in STATE_FIELDS:
            if field in packet:
                state[field] = packet[field]
        if "weather" in packet:
            state["weather"] = {**state.get("weather", {}), **packet["weather"]}
        if "telemetry" in packet:
            state["telemetry"] = packet["telemetry"]
        state["last_heard"] = facts["received"]
        state["via"] = facts.get("entry") or ""
        return state


class MQTTBridgeConsumer(AsyncConsumer):
    joined = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prefix = settings.MQTT_PREFIX
        self.stations = Stations()
        self.filter = parse_filter(settings.MQTT_FILTER, known=self.stations)
        self.home_assistant = {call.upper() for call in settings.MQTT_HA_CALLSIGNS}
        self.announced = set()  # (call, field) discovery documents sent this session

    async def mqtt_connect(self, event):
        if not self.joined:
            await self.channel_layer.group_add(MQTT_GROUP, self.channel_name)
            self.joined = True
        self.announced.clear()
        for call in sorted(self.home_assistant):
            await self.announce(call, None)

    async def mqtt_disconnect(self, event):
        """The session ended (the link tries again); on stopping, the link cancels us."""

    async def mqtt_packets(self, event):
        for item, facts in event["packets"]:
            if not self.filter.matches(facts):
                continue
            packet = json.loads(item)["packet"]
            name = topic_level(facts["object"] or facts["from"])
            await self.publish(f"{self.prefix}/raw", facts["raw"])
            if not name:
                continue
            await self.publish(f"{self.prefix}/packet/{name}", item.encode())
            state = self.stations.update(name, packet, facts)
            await self.publish(f"{self.prefix}/station/{name}", json.dumps(state).encode(), retain=True)
            if name.upper() in self.home_assistant:
                for field in state.get("weather", {}):
                    if field in WEATHER_SENSORS and (name, field) not in self.announced:
                        await self.announce(name.upper(), field)

    async def publish(self, topic, payload, retain=False):
        await self.send({"type": "mqtt.publish", "topic": topic, "payload": payload, "retain": retain})

    async def announce(self, call, field):
        """Home Assistant discovery: the device tracker (``field`` None) or one weather sensor."""
        self.announced.add((topic_level(call), field))
        entity = entity_id(call)
        device = {"identifiers": [entity], "name": call, "manufacturer": "APRS", "model": "APRS station"}
        common = {
            "state_topic": f"{self.prefix}/station/{topic_level(call)}",
            "availability_topic": f"{self.prefix}/status",
            "device": device,
        }
        if field is None:
            topic = f"homeassistant/device_tracker/{entity}/config"
            document = {
                "name": None,
                "unique_id": entity,
                "json_attributes_topic": common.pop("state_topic"),
                "source_type": "gps",
                **common,
            }
        else:
            unit, device_class = WEATHER_SENSORS[field]
            topic = f"homeassistant/sensor/{entity}_{field}/config"
            document = {
                "name": field.replace("_", " "),
                "unique_id": f"{entity}_{field}",
                "value_template": "{{ value_json.weather.%s }}" % field,
                "unit_of_measurement": unit,
                "state_class": "measurement",
                **({"device_class": device_class} if device_class else {}),
                **common,
            }
        await self.publish(topic, json.dumps(document).encode(), retain=True)

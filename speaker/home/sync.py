"""Keeps the device registry in step with the broker: imports announced devices, caches their state.

Subscribes Home Assistant discovery and Zigbee2MQTT's device list (when enabled) and the state
topic of every known device; retained state arrives at once, so "is the front door locked?" is
answered from the last message the lock sent. Bad messages are logged and ignored.
"""

from __future__ import annotations

import logging
import threading

from speaker.home.devices import as_number, state_word, value_of
from speaker.home.hass_import import DiscoveryError, import_config, parse_topic
from speaker.home.registry import DeviceRegistry
from speaker.home.z2m_import import import_devices
from speaker.mqtt.client import MqttService, PayloadError
from speaker.settings import HomeSettings

log = logging.getLogger(__name__)

DEVICE_LIST_FACTOR = 64  # a device list may be this many times mqtt.max_payload_kb


class HomeSync:
    def __init__(
        self,
        registry: DeviceRegistry,
        mqtt: MqttService,
        settings: HomeSettings,
        *,
        discovery_prefix: str = "homeassistant",
    ) -> None:
        self.registry = registry
        self.mqtt = mqtt
        self.settings = settings
        self.prefix = discovery_prefix
        self._state_topics: set[str] = set()
        self._lock = threading.Lock()
        self._own_node = mqtt.connection.device_id
        self._discovered: dict[str, str] = {}  # "<component>/<node>/<object>" -> device id

    def start(self) -> None:
        if self.settings.import_homeassistant:
            for pattern in (f"{self.prefix}/+/+/config", f"{self.prefix}/+/+/+/config"):
                self.mqtt.subscribe(pattern, self._on_discovery)
        if self.settings.import_zigbee2mqtt:
            self.mqtt.subscribe(
                f"{self.settings.zigbee2mqtt_topic}/bridge/devices",
                self._on_z2m_devices,
                max_bytes=self.mqtt.max_payload_bytes * DEVICE_LIST_FACTOR,
            )
        self.registry.on_change(self._follow_state_topics)
        self._follow_state_topics()

    def _on_discovery(self, payload: bytes, topic: str) -> None:
        where = parse_topic(topic, self.prefix)
        if where is None or where[1] == self._own_node:
            return  # not a config topic, or the speaker's own announcement
        object_key = "/".join(topic.split("/")[1:-1])
        if not payload:  # an empty retained config removes the entity
            self._remove_discovered(object_key)
            return
        try:
            device = import_config(topic, payload, self.prefix)
        except DiscoveryError as exc:
            raise PayloadError(f"not a usable discovery config: {exc}") from exc
        if device is not None:
            self._discovered[object_key] = device.id
            self.registry.put_imported(device)
            log.debug("imported %s %r from Home Assistant discovery", device.kind, device.name)

    def _remove_discovered(self, object_key: str) -> None:
        device_id = self._discovered.pop(object_key, None)
        if device_id is not None:
            self.registry.remove_imported("homeassistant", device_id)

    def _on_z2m_devices(self, payload: bytes, topic: str) -> None:
        try:
            devices = import_devices(payload, self.settings.zigbee2mqtt_topic)
        except DiscoveryError as exc:
            raise PayloadError(f"not a Zigbee2MQTT device list: {exc}") from exc
        self.registry.replace_imported("zigbee2mqtt", devices)
        log.info("imported %d device(s) from Zigbee2MQTT", len(devices))

    def _follow_state_topics(self) -> None:
        wanted = set(self.registry.state_topics())
        with self._lock:
            new, gone = wanted - self._state_topics, self._state_topics - wanted
            self._state_topics = wanted
        for topic in sorted(gone):
            self.mqtt.unsubscribe(topic, self._on_state)
        for topic in sorted(new):
            self.mqtt.subscribe(topic, self._on_state)

    def _on_state(self, payload: bytes, topic: str) -> None:
        bound = self.registry.state_topics().get(topic, [])
        problems = []
        for device_id, quantity in bound:
            device = self.registry.get(device_id)
            if device is None:
                continue
            try:
                value = value_of(payload, quantity, device.states[quantity])
            except ValueError as exc:
                problems.append(f"{device.name}: {exc}")
                continue
            if value is None:
                continue
            if quantity == "state" and state_word(value) is None:
                problems.append(
                    f"{device.name}: {str(value)[:40]!r} is not a state (on/off, open/closed, ...)"
                )
            elif quantity != "state" and as_number(value) is None:
                problems.append(f"{device.name}: {quantity} {str(value)[:40]!r} is not a number")
            else:
                self.registry.set_state(device_id, quantity, value)
        if problems:
            raise PayloadError("; ".join(problems))

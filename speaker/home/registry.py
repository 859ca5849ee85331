"""Every device the speaker knows, from the config and from the broker, and their last known state.

Configured devices win over imported ones that share a name or a command topic; among imports,
Zigbee2MQTT's list wins over Home Assistant discovery of the same device. An imported device
without a room gets one when a known room's name starts its name ("living room lamp").

Thread-safe: the MQTT worker adds devices and states while turns look them up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from speaker.home.devices import Device
from speaker.home.devices_file import Home

log = logging.getLogger(__name__)

_SOURCE_RANK = {"config": 0, "zigbee2mqtt": 1, "homeassistant": 2}


@dataclass(frozen=True)
class StateValue:
    value: Any
    at: float  # time.monotonic() when it was received


class DeviceRegistry:
    def __init__(self, home: Home | None = None) -> None:
        home = home or Home({}, ())
        self._rooms = dict(home.rooms)
        self._configured = {d.id: d for d in home.devices}
        self._imported: dict[str, dict[str, Device]] = {}  # source -> id -> device
        self._states: dict[tuple[str, str], StateValue] = {}
        self._merged: list[Device] = []
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self._merge()

    # --- reading ------------------------------------------------------------------------------

    def devices(self) -> list[Device]:
        with self._lock:
            return list(self._merged)

    def get(self, device_id: str) -> Device | None:
        with self._lock:
            return next((d for d in self._merged if d.id == device_id), None)

    def rooms(self) -> dict[str, tuple[str, ...]]:
        """Every room (devices' rooms and the configured ones) -> its other names."""
        with self._lock:
            rooms = {d.room: () for d in self._merged if d.room}
            rooms.update(self._rooms)
            return rooms

    def state(self, device: Device, quantity: str) -> StateValue | None:
        with self._lock:
            return self._states.get((device.id, quantity))

    def state_topics(self) -> dict[str, list[tuple[str, str]]]:
        """topic -> [(device id, quantity)] for every state the known devices publish."""
        topics: dict[str, list[tuple[str, str]]] = {}
        for device in self.devices():
            for quantity, source in device.states.items():
                topics.setdefault(source.topic, []).append((device.id, quantity))
        return topics

    # --- changing -----------------------------------------------------------------------------

    def set_state(self, device_id: str, quantity: str, value: Any) -> None:
        with self._lock:
            self._states[(device_id, quantity)] = StateValue(value, time.monotonic())

    def put_imported(self, device: Device) -> None:
        with self._lock:
            self._imported.setdefault(device.source, {})[device.id] = device
            self._merge()
        self._changed()

    def remove_imported(self, source: str, device_id: str) -> None:
        with self._lock:
            if self._imported.get(source, {}).pop(device_id, None) is None:
                return
            self._merge()
        self._changed()

    def replace_imported(self, source: str, devices: Iterable[Device]) -> None:
        with self._lock:
            self._imported[source] = {d.id: d for d in devices}
            self._merge()
        self._changed()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Called (on the thread that changed it) whenever the set of devices changed."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("a device registry listener failed")

    def _merge(self) -> None:
        known_rooms = sorted(self._rooms | {d.room: () for d in self._configured.values() if d.room}, key=len)
        candidates = list(self._configured.values())
        for source in sorted(self._imported, key=lambda s: _SOURCE_RANK.get(s, 9)):
            candidates.extend(self._imported[source].values())
        merged: list[Device] = []
        names: set[str] = set()
        topics: set[str] = set()
        for device in candidates:
            own_topics = {c.topic for c in device.commands.values()}
            if device.name in names or own_topics & topics:
                continue  # the same device, already known from a better source
            if device.room is None:
                device = replace(device, room=_room_in_name(device.name, known_rooms))
            merged.append(device)
            names.add(device.name)
            topics |= own_topics
        self._merged = merged


def _room_in_name(name: str, rooms: list[str]) -> str | None:
    for room in reversed(rooms):  # longest first: "living room" before "room"
        if name == room or name.startswith(room + " "):
            return room
    return None

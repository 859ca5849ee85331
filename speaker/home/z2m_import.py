"""Devices from Zigbee2MQTT's retained device list, `<base>/bridge/devices`.

Each device's `definition.exposes` says what it is: a light, switch, lock, cover or climate expose
becomes a device commanded with JSON on `<base>/<friendly_name>/set`; numeric sensors
(temperature, humidity, ...) become a sensor whose values are read from `<base>/<friendly_name>`.
A friendly name "kitchen/ceiling light" puts the device in the room "kitchen".
"""

from __future__ import annotations

import json
from typing import Any

from speaker.home.devices import Command, Device, StateSource, slug
from speaker.home.hass_import import DiscoveryError

SENSOR_PROPERTIES = ("temperature", "humidity", "illuminance", "pressure", "co2", "power", "battery")
ACCESS_SET = 2  # bit in an expose's `access`: the property can be set


def import_devices(payload: bytes, base: str = "zigbee2mqtt") -> list[Device]:
    """Every drivable device in a bridge/devices message; DiscoveryError for an unusable payload."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise DiscoveryError(f"not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise DiscoveryError(f"expected a JSON list of devices, got {type(data).__name__}")
    devices: list[Device] = []
    for entry in data:
        if not isinstance(entry, dict) or entry.get("type") == "Coordinator" or entry.get("disabled"):
            continue
        friendly = entry.get("friendly_name")
        definition = entry.get("definition")
        if not isinstance(friendly, str) or not friendly or not isinstance(definition, dict):
            continue
        exposes = definition.get("exposes")
        if isinstance(exposes, list):
            devices.extend(_from_exposes(friendly, [e for e in exposes if isinstance(e, dict)], base))
    return devices


def _from_exposes(friendly: str, exposes: list[dict[str, Any]], base: str) -> list[Device]:
    segments = [" ".join(s.replace("_", " ").replace("-", " ").lower().split()) for s in friendly.split("/")]
    segments = [s for s in segments if s]
    name = " ".join(segments)
    room = segments[0] if len(segments) > 1 else None
    set_topic, state_topic = f"{base}/{friendly}/set", f"{base}/{friendly}"
    devices = []
    for expose in exposes:
        kind = expose.get("type")
        if kind not in ("light", "switch", "lock", "cover", "climate"):
            continue
        features = {f.get("name"): f for f in expose.get("features", []) if isinstance(f, dict)}
        endpoint = expose.get("endpoint")
        own_name = f"{name} {endpoint}" if endpoint else name
        commands, states = _features(kind, features, set_topic, state_topic)
        if commands or states:
            extra: dict[str, Any] = {}
            if "brightness" in features:
                extra["brightness_max"] = int(features["brightness"].get("value_max") or 254)
            devices.append(
                Device(
                    id=f"z2m_{slug(friendly)}"
                    + (f"_{slug(str(endpoint))}" if endpoint else "")
                    + ("" if kind in ("light", "switch") else f"_{kind}"),
                    name=own_name,
                    kind=kind,
                    room=room,
                    commands=commands,
                    states=states,
                    source="zigbee2mqtt",
                    **extra,
                )
            )
    sensors = {
        str(e.get("property")): StateSource(state_topic, str(e.get("property")))
        for e in exposes
        if e.get("type") == "numeric"
        and e.get("property") in SENSOR_PROPERTIES
        and e.get("property") != "battery"
    }
    if sensors and not devices:
        unit = next((e.get("unit") for e in exposes if e.get("property") == "temperature"), None)
        devices.append(
            Device(
                id=f"z2m_{slug(friendly)}_sensor",
                name=name,
                kind="sensor",
                room=room,
                states=sensors,
                unit=unit if isinstance(unit, str) else None,
                source="zigbee2mqtt",
            )
        )
    return devices


def _settable(feature: dict[str, Any] | None) -> bool:
    return feature is not None and bool(int(feature.get("access", ACCESS_SET)) & ACCESS_SET)


def _features(
    kind: str, features: dict[Any, dict[str, Any]], set_topic: str, state_topic: str
) -> tuple[dict[str, Command], dict[str, StateSource]]:
    commands: dict[str, Command] = {}
    states: dict[str, StateSource] = {}

    def send(command: str, prop: str, value: Any) -> None:
        commands[command] = Command(set_topic, json.dumps({prop: value}).replace('"{value}"', "{value}"))

    state = features.get("state")
    prop = str(state.get("property", "state")) if state else "state"
    if state is not None:
        states["state"] = StateSource(state_topic, prop)
    if kind in ("light", "switch") and _settable(state):
        send("on", prop, state.get("value_on", "ON"))  # type: ignore[union-attr]
        send("off", prop, state.get("value_off", "OFF"))  # type: ignore[union-attr]
    if kind == "light" and _settable(features.get("brightness")):
        bri = str(features["brightness"].get("property", "brightness"))
        send("brightness", bri, "{value}")
        states["brightness"] = StateSource(state_topic, bri)
    if kind == "lock" and _settable(state):
        send("lock", prop, state.get("value_on", "LOCK"))  # type: ignore[union-attr]
        send("unlock", prop, state.get("value_off", "UNLOCK"))  # type: ignore[union-attr]
    if kind == "cover" and _settable(state):
        values = state.get("values") or ["OPEN", "CLOSE", "STOP"]  # type: ignore[union-attr]
        for command, word in (("open", "OPEN"), ("close", "CLOSE"), ("stop", "STOP")):
            if word in values:
                send(command, prop, word)
    if kind == "climate":
        setpoint = next(
            (features[n] for n in ("occupied_heating_setpoint", "current_heating_setpoint") if n in features),
            None,
        )
        if _settable(setpoint):
            sp = str(setpoint.get("property"))  # type: ignore[union-attr]
            send("temperature", sp, "{value}")
            states["temperature"] = StateSource(state_topic, sp)
        if "local_temperature" in features:
            states["current_temperature"] = StateSource(
                state_topic, str(features["local_temperature"].get("property", "local_temperature"))
            )
        mode = features.get("system_mode")
        if _settable(mode):
            values = mode.get("values") or []  # type: ignore[union-attr]
            if "off" in values:
                send("off", str(mode.get("property", "system_mode")), "off")  # type: ignore[union-attr]
            on = next((m for m in ("heat", "auto", "cool") if m in values), None)
            if on:
                send("on", str(mode.get("property", "system_mode")), on)  # type: ignore[union-attr]
    return commands, states

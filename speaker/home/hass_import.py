"""Devices from Home Assistant MQTT discovery: `<prefix>/<component>/[<node>/]<object>/config`.

Whatever announces itself this way (Zigbee2MQTT, ESPHome, Tasmota, Shelly, hand-written configs)
becomes a `Device` with the topics and payloads Home Assistant itself would use. Lights (default
and JSON schema), switches, climate, covers, locks and sensors; templates are understood as far
as `value_json.<key>`; a light with only templates for its commands is left out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from speaker.home.devices import Command, Device, StateSource, slug

COMPONENTS = ("light", "switch", "climate", "cover", "lock", "sensor")
SENSOR_CLASSES = ("temperature", "humidity", "illuminance", "pressure", "carbon_dioxide", "power", "battery")

# Home Assistant's abbreviations of discovery keys, those this importer reads.
ABBREVIATIONS = {
    "cmd_t": "command_topic", "stat_t": "state_topic", "pl_on": "payload_on", "pl_off": "payload_off",
    "bri_cmd_t": "brightness_command_topic", "bri_stat_t": "brightness_state_topic",
    "bri_scl": "brightness_scale", "bri_val_tpl": "brightness_value_template",
    "stat_val_tpl": "state_value_template", "val_tpl": "value_template",
    "temp_cmd_t": "temperature_command_topic", "temp_stat_t": "temperature_state_topic",
    "temp_stat_tpl": "temperature_state_template", "curr_temp_t": "current_temperature_topic",
    "curr_temp_tpl": "current_temperature_template", "mode_cmd_t": "mode_command_topic",
    "pl_open": "payload_open", "pl_cls": "payload_close", "pl_stop": "payload_stop",
    "pl_lock": "payload_lock", "pl_unlk": "payload_unlock", "pos_t": "position_topic",
    "uniq_id": "unique_id", "obj_id": "object_id", "dev": "device", "dev_cla": "device_class",
    "unit_of_meas": "unit_of_measurement", "ret": "retain", "cmd_tpl": "command_template",
    "ids": "identifiers", "sa": "suggested_area", "sug_area": "suggested_area",
}  # fmt: skip
_JSON_KEY = re.compile(r"value_json(?:\.([A-Za-z_][\w]*)|\[['\"]([^'\"]+)['\"]\])")


class DiscoveryError(ValueError):
    pass


def parse_topic(topic: str, prefix: str) -> tuple[str, str, str] | None:
    """(component, node_id, object_id) of a discovery config topic, else None."""
    parts = topic.split("/")
    if parts[0] != prefix or parts[-1] != "config" or len(parts) not in (4, 5):
        return None
    return (parts[1], parts[2], parts[3]) if len(parts) == 5 else (parts[1], "", parts[2])


def import_config(topic: str, payload: bytes, prefix: str = "homeassistant") -> Device | None:
    """The device a discovery message announces; None for components the speaker does not drive.

    Raises DiscoveryError (with the reason) for a payload that is not a usable discovery config.
    """
    where = parse_topic(topic, prefix)
    if where is None or where[0] not in COMPONENTS:
        return None
    component, node, obj = where
    try:
        data = json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise DiscoveryError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DiscoveryError(f"expected a JSON object, got {type(data).__name__}")
    config = expand(data)
    name = friendly_name(config)
    if not name:
        raise DiscoveryError("no name (neither the entity's nor its device's)")
    device_info = config.get("device") if isinstance(config.get("device"), dict) else {}
    room = device_info.get("suggested_area") if isinstance(device_info.get("suggested_area"), str) else None
    uid = str(config.get("unique_id") or (f"{node}_{obj}" if node else obj))
    build = {"light": _light, "switch": _switch, "climate": _climate, "cover": _cover, "lock": _lock}
    if component == "sensor":
        parts = _sensor(config)
    else:
        parts = build[component](config)
    if parts is None:
        return None
    commands, states, extra = parts
    if not commands and not states:
        return None
    return Device(
        id=f"ha_{slug(uid)}",
        name=name,
        kind=component,  # type: ignore[arg-type]
        room=room.strip().lower() if room else None,
        commands=commands,
        states=states,
        source="homeassistant",
        **extra,
    )


def expand(data: dict[str, Any]) -> dict[str, Any]:
    """Abbreviated keys spelled out, `~` substituted into topics (Home Assistant's rules)."""
    config = {ABBREVIATIONS.get(k, k): v for k, v in data.items()}
    if isinstance(config.get("device"), dict):
        config["device"] = {ABBREVIATIONS.get(k, k): v for k, v in config["device"].items()}
    base = config.get("~")
    if isinstance(base, str):
        for key, value in config.items():
            if key.endswith("_topic") and isinstance(value, str):
                if value.startswith("~"):
                    config[key] = base + value[1:]
                elif value.endswith("~"):
                    config[key] = value[:-1] + base
    return config


def friendly_name(config: dict[str, Any]) -> str:
    """What people call it: the device's name, plus the entity's own name when it has one."""
    device = config.get("device") if isinstance(config.get("device"), dict) else {}
    device_name = device.get("name") if isinstance(device.get("name"), str) else ""
    entity = config.get("name") if isinstance(config.get("name"), str) else ""
    d, e = device_name.lower(), entity.lower()
    if d and e and e not in d and d not in e:
        text = f"{device_name} {entity}"  # as Home Assistant names it: "Hall" + "Ceiling light"
    else:
        text = entity if d in e else device_name or entity
    return " ".join(text.replace("_", " ").lower().split())


def template_field(template: Any) -> str | None:
    """`{{ value_json.state }}` -> "state"; None for the plain value. DiscoveryError if not understood."""
    if template is None:
        return None
    found = _JSON_KEY.findall(str(template))
    if found:
        return ".".join(a or b for a, b in found)
    if re.fullmatch(r"\s*\{\{\s*value\s*\}\}\s*", str(template)):
        return None
    raise DiscoveryError(f"value template {template!r} is not understood")


def _topic(config: dict[str, Any], key: str) -> str | None:
    value = config.get(key)
    return value if isinstance(value, str) and value and "#" not in value and "+" not in value else None


def _cmd(config: dict[str, Any], topic: str, payload: Any) -> Command:
    qos = config.get("qos") if config.get("qos") in (0, 1, 2) else 0
    return Command(topic, str(payload), bool(config.get("retain", False)), qos)


def _state(config: dict[str, Any], topic_key: str, template_key: str, default: str | None = None) -> Any:
    topic = _topic(config, topic_key)
    if topic is None:
        return None
    try:
        return StateSource(topic, template_field(config.get(template_key)) or default)
    except DiscoveryError:
        return None  # commands still work; the state is not read


Parts = tuple[dict[str, Command], dict[str, StateSource], dict[str, Any]]


def _light(config: dict[str, Any]) -> Parts | None:
    cmd = _topic(config, "command_topic")
    scale = config.get("brightness_scale", 255)
    scale = int(scale) if isinstance(scale, int | float) and scale >= 1 else 255
    commands: dict[str, Command] = {}
    states: dict[str, StateSource] = {}
    if config.get("schema") == "json":
        if cmd:
            commands["on"] = _cmd(config, cmd, '{"state": "ON"}')
            commands["off"] = _cmd(config, cmd, '{"state": "OFF"}')
            if config.get("brightness") or config.get("supported_color_modes"):
                commands["brightness"] = _cmd(config, cmd, '{"state": "ON", "brightness": {value}}')
        if state := _topic(config, "state_topic"):
            states["state"] = StateSource(state, "state")
            states["brightness"] = StateSource(state, "brightness")
        return commands, states, {"brightness_max": scale}
    if config.get("schema") == "template" or config.get("command_template"):
        return None
    if cmd:
        commands["on"] = _cmd(config, cmd, config.get("payload_on", "ON"))
        commands["off"] = _cmd(config, cmd, config.get("payload_off", "OFF"))
    if bri := _topic(config, "brightness_command_topic"):
        commands["brightness"] = _cmd(config, bri, "{value}")
    if state := _state(config, "state_topic", "state_value_template"):
        states["state"] = state
    if state := _state(config, "brightness_state_topic", "brightness_value_template"):
        states["brightness"] = state
    return commands, states, {"brightness_max": scale}


def _switch(config: dict[str, Any]) -> Parts | None:
    if config.get("command_template"):
        return None
    commands: dict[str, Command] = {}
    if cmd := _topic(config, "command_topic"):
        commands["on"] = _cmd(config, cmd, config.get("payload_on", "ON"))
        commands["off"] = _cmd(config, cmd, config.get("payload_off", "OFF"))
    state = _state(config, "state_topic", "value_template")
    return commands, {"state": state} if state else {}, {}


def _climate(config: dict[str, Any]) -> Parts | None:
    commands: dict[str, Command] = {}
    if temp := _topic(config, "temperature_command_topic"):
        commands["temperature"] = _cmd(config, temp, "{value}")
    modes = config.get("modes") if isinstance(config.get("modes"), list) else ["auto", "off", "cool", "heat"]
    if mode := _topic(config, "mode_command_topic"):
        if "off" in modes:
            commands["off"] = _cmd(config, mode, "off")
        on = next((m for m in ("heat", "auto", "cool") if m in modes), None)
        if on:
            commands["on"] = _cmd(config, mode, on)
    states = {}
    if state := _state(config, "current_temperature_topic", "current_temperature_template"):
        states["current_temperature"] = state
    if state := _state(config, "temperature_state_topic", "temperature_state_template"):
        states["temperature"] = state
    return commands, states, {}


def _cover(config: dict[str, Any]) -> Parts | None:
    commands: dict[str, Command] = {}
    if cmd := _topic(config, "command_topic"):
        for command, key, default in (("open", "payload_open", "OPEN"), ("close", "payload_close", "CLOSE")):
            if config.get(key, default) is not None:
                commands[command] = _cmd(config, cmd, config.get(key, default))
        if config.get("payload_stop", "STOP") is not None:
            commands["stop"] = _cmd(config, cmd, config.get("payload_stop", "STOP"))
    state = _state(config, "state_topic", "value_template")
    return commands, {"state": state} if state else {}, {}


def _lock(config: dict[str, Any]) -> Parts | None:
    commands: dict[str, Command] = {}
    if cmd := _topic(config, "command_topic"):
        commands["lock"] = _cmd(config, cmd, config.get("payload_lock", "LOCK"))
        commands["unlock"] = _cmd(config, cmd, config.get("payload_unlock", "UNLOCK"))
    state = _state(config, "state_topic", "value_template")
    return commands, {"state": state} if state else {}, {}


def _sensor(config: dict[str, Any]) -> Parts | None:
    quantity = config.get("device_class")
    if quantity not in SENSOR_CLASSES:
        return None
    state = _state(config, "state_topic", "value_template")
    if state is None:
        return None
    unit = config.get("unit_of_measurement")
    return {}, {str(quantity): state}, {"unit": unit if isinstance(unit, str) else None}

"""config/devices.yaml: the home's rooms and devices, checked key by key like the settings.

    rooms:
      living room: [客厅, lounge]        # other names of a room, any language
    devices:
      - name: kitchen light
        aliases: [厨房灯]
        room: kitchen
        type: light                       # light, switch, climate, cover, lock, sensor
        command_topic: home/kitchen/light/set
        state_topic: home/kitchen/light/state
        payloads: {on: '{"state": "ON"}', off: '{"state": "OFF"}'}   # default: ON / OFF
        commands:                         # per-command topic and payload ("{value}": the number)
          brightness: {topic: home/kitchen/light/brightness/set, payload: "{value}"}

See config/devices.example.yaml for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from speaker.config_loader import build, read_yaml
from speaker.errors import ConfigError
from speaker.home.devices import (
    COMMANDS,
    DEFAULT_PAYLOADS,
    PRIMARY_STATE,
    VALUE_COMMANDS,
    Command,
    Device,
    Kind,
    StateSource,
    slug,
)


@dataclass(frozen=True)
class CommandEntry:
    topic: str | None = None  # None: the device's command_topic
    payload: str | None = None  # None: the kind's default ("{value}" for brightness/temperature)
    retain: bool | None = None
    qos: Literal[0, 1, 2] | None = None


@dataclass(frozen=True)
class StateEntry:
    topic: str | None = None  # None: the device's state_topic
    field: str | None = None  # JSON key (a.b for nested); None: the key named like the quantity


@dataclass(frozen=True)
class DeviceEntry:
    name: str
    type: Kind
    id: str | None = None
    room: str | None = None
    aliases: tuple[str, ...] = ()
    command_topic: str | None = None
    state_topic: str | None = None
    state_field: str | None = None  # JSON key of the main state in state_topic's messages
    payloads: dict[str, str] = field(default_factory=dict)  # command -> payload on command_topic
    commands: dict[str, CommandEntry] = field(default_factory=dict)
    states: dict[str, StateEntry] = field(default_factory=dict)  # quantity -> where it is published
    quantity: str | None = None  # sensors: what state_topic measures (temperature, humidity, ...)
    unit: str | None = None
    brightness_max: int = 255
    retain: bool = False
    qos: Literal[0, 1, 2] = 0


@dataclass(frozen=True)
class DevicesFile:
    rooms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    devices: tuple[DeviceEntry, ...] = ()


@dataclass(frozen=True)
class Home:
    rooms: dict[str, tuple[str, ...]]  # room (English, lower case) -> other names
    devices: tuple[Device, ...]


def load_devices(path: Path) -> Home:
    """Read and check a devices file; ConfigError names the file, the entry and the key."""
    data = _yaml_booleans_as_words(read_yaml(path))
    try:
        parsed = build(DevicesFile, data)
        devices = tuple(to_device(entry, i) for i, entry in enumerate(parsed.devices))
    except ConfigError as exc:
        hint = (
            " (YAML reads bare ON/OFF/yes/no as true/false: quote them, 'ON')"
            if "bool" in exc.message
            else ""
        )
        raise ConfigError(f"invalid devices file ({path}): {exc.message}{hint}") from exc
    seen: dict[str, str] = {}
    for device in devices:
        if device.id in seen:
            raise ConfigError(
                f"invalid devices file ({path}): two devices have the id {device.id!r} "
                f"({seen[device.id]!r} and {device.name!r}); give one an `id`"
            )
        seen[device.id] = device.name
    rooms = {room.strip().lower(): tuple(a.strip() for a in names) for room, names in parsed.rooms.items()}
    return Home(rooms, devices)


def to_device(entry: DeviceEntry, index: int = 0) -> Device:
    where = f"devices[{index}] ({entry.name!r})"
    name = " ".join(entry.name.lower().split())
    if not name:
        raise ConfigError(f"devices[{index}].name must not be empty")
    commands: dict[str, Command] = {}
    if entry.command_topic:
        for command, payload in {**DEFAULT_PAYLOADS[entry.type], **entry.payloads}.items():
            commands[command] = Command(entry.command_topic, payload, entry.retain, entry.qos)
    for command, spec in entry.commands.items():
        topic = spec.topic or entry.command_topic
        if not topic:
            raise ConfigError(f"{where}: commands.{command} needs a topic (or set command_topic)")
        default = "{value}" if command in VALUE_COMMANDS else DEFAULT_PAYLOADS[entry.type].get(command)
        payload = spec.payload if spec.payload is not None else default
        if payload is None:
            raise ConfigError(f"{where}: commands.{command} needs a payload")
        retain = entry.retain if spec.retain is None else spec.retain
        commands[command] = Command(topic, payload, retain, entry.qos if spec.qos is None else spec.qos)
    unknown = sorted((set(commands) | set(entry.payloads)) - set(COMMANDS))
    if unknown:
        raise ConfigError(f"{where}: unknown command(s) {', '.join(unknown)}; known: {', '.join(COMMANDS)}")
    for command in VALUE_COMMANDS:
        if command in commands and "{value}" not in commands[command].payload:
            raise ConfigError(f"{where}: commands.{command}.payload must contain {{value}}")
    states: dict[str, StateSource] = {}
    if entry.state_topic:
        quantity = entry.quantity or PRIMARY_STATE[entry.type]
        states[quantity] = StateSource(entry.state_topic, entry.state_field)
    for quantity, spec in entry.states.items():
        topic = spec.topic or entry.state_topic
        if not topic:
            raise ConfigError(f"{where}: states.{quantity} needs a topic (or set state_topic)")
        states[quantity] = StateSource(topic, spec.field)
    if entry.type == "sensor" and not states:
        raise ConfigError(f"{where}: a sensor needs state_topic (what it measures is read from there)")
    if entry.type != "sensor" and not commands and not states:
        raise ConfigError(f"{where}: a {entry.type} needs command_topic (and usually state_topic)")
    if entry.brightness_max < 1:
        raise ConfigError(f"{where}: brightness_max must be at least 1")
    for topic in [c.topic for c in commands.values()] + [s.topic for s in states.values()]:
        if "#" in topic or "+" in topic:
            raise ConfigError(f"{where}: topic {topic!r} must not contain wildcards")
    return Device(
        id=entry.id or slug(name),
        name=name,
        kind=entry.type,
        room=" ".join(entry.room.lower().split()) if entry.room else None,
        aliases=tuple(" ".join(a.split()) for a in entry.aliases if a.strip()),
        commands=commands,
        states=states,
        brightness_max=entry.brightness_max,
        unit=entry.unit,
        source="config",
    )


def _yaml_booleans_as_words(data: dict) -> dict:
    """`on:` and `off:` as keys of payloads/commands are YAML booleans; they mean the commands."""
    devices = data.get("devices")
    if not isinstance(devices, list):
        return data
    for device in devices:
        for key in ("payloads", "commands"):
            mapping = device.get(key) if isinstance(device, dict) else None
            if isinstance(mapping, dict):
                device[key] = {
                    ({True: "on", False: "off"}.get(k, k) if isinstance(k, bool) else k): v
                    for k, v in mapping.items()
                }
    return data

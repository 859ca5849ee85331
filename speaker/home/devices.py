"""Home devices as the speaker sees them: a name, a room, a kind, commands and state sources.

A device comes from config/devices.yaml or is imported from what the broker announces (Home
Assistant discovery, Zigbee2MQTT); all three become the same `Device`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Kind = Literal["light", "switch", "climate", "cover", "lock", "sensor"]
KINDS: tuple[str, ...] = get_args(Kind)

# What a device can be told to do. `brightness` (percent) and `temperature` (degrees) take a value.
COMMANDS = ("on", "off", "brightness", "temperature", "open", "close", "stop", "lock", "unlock")
VALUE_COMMANDS = ("brightness", "temperature")

# Payloads each kind gets on its command_topic unless the device says otherwise (Home Assistant's).
DEFAULT_PAYLOADS: dict[str, dict[str, str]] = {
    "light": {"on": "ON", "off": "OFF"},
    "switch": {"on": "ON", "off": "OFF"},
    "cover": {"open": "OPEN", "close": "CLOSE", "stop": "STOP"},
    "lock": {"lock": "LOCK", "unlock": "UNLOCK"},
    "climate": {},
    "sensor": {},
}
# The quantity a device's plain state_topic reports.
PRIMARY_STATE = {
    "light": "state",
    "switch": "state",
    "cover": "state",
    "lock": "state",
    "climate": "current_temperature",
    "sensor": "value",
}

# Canonical state words from what devices publish (HA, Zigbee2MQTT and common firmware spellings).
_STATE_WORDS = {
    "on": "on", "true": "on", "1": "on", "off": "off", "false": "off", "0": "off",
    "open": "open", "opened": "open", "opening": "opening", "closed": "closed", "close": "closed",
    "closing": "closing", "stopped": "stopped", "locked": "locked", "lock": "locked",
    "unlocked": "unlocked", "unlock": "unlocked", "locking": "locking", "unlocking": "unlocking",
    "jammed": "jammed",
}  # fmt: skip


@dataclass(frozen=True)
class Command:
    topic: str
    payload: str  # "{value}" is replaced by the number for brightness/temperature
    retain: bool = False
    qos: int = 0

    def render(self, value: float | None = None) -> str:
        if "{value}" not in self.payload:
            return self.payload
        if value is None:
            raise ValueError("this command needs a value")
        number = int(value) if float(value).is_integer() else round(value, 1)
        return self.payload.replace("{value}", str(number))


@dataclass(frozen=True)
class StateSource:
    topic: str
    field: str | None = None  # key in a JSON payload (a.b for nesting); None: see `value_of`


@dataclass(frozen=True)
class Device:
    id: str
    name: str  # spoken name, English: "kitchen light"
    kind: Kind
    room: str | None = None
    aliases: tuple[str, ...] = ()  # other names, in any language: "厨房灯"
    commands: Mapping[str, Command] = field(default_factory=dict)
    states: Mapping[str, StateSource] = field(default_factory=dict)  # quantity -> where it is published
    brightness_max: int = 255  # the device's full brightness (Home Assistant 255, Zigbee 254)
    unit: str | None = None  # sensors: "°C", "%"
    source: str = "config"  # config | homeassistant | zigbee2mqtt

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def can(self, command: str) -> bool:
        return command in self.commands

    def command_value(self, command: str, value: float | None) -> float | None:
        """The value the device expects: brightness percent -> its own scale."""
        if command == "brightness" and value is not None:
            return float(round(value * self.brightness_max / 100))
        return value


def slug(text: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "_", text.lower()).strip("_") or "device"


def value_of(payload: bytes, quantity: str, source: StateSource) -> Any:
    """The value of `quantity` in a state message, or None when the message does not carry it.

    A JSON object gives its `field` (or the key named like the quantity, e.g. "state"); anything
    else is the value itself. Raises ValueError for a payload that is not text.
    """
    text = payload.decode("utf-8").strip()  # UnicodeDecodeError is a ValueError
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise ValueError("absurdly deeply nested JSON") from exc
    except ValueError:
        data = text
    if isinstance(data, dict):
        key = source.field or quantity
        for part in key.split("."):
            if not isinstance(data, dict) or part not in data:
                return None
            data = data[part]
        return data
    if source.field is not None:
        return None  # a JSON field was expected
    return data


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def state_word(value: Any) -> str | None:
    """on, off, open, closed, opening, closing, locked, unlocked, ... or None when it is none of them."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return _STATE_WORDS.get(str(value).strip().lower())

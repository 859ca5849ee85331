"""This speaker's one id on the network: its MQTT topics, its Home Assistant device, and the
device-specific over-the-air manifests it accepts.

The rule: `mqtt.device_id` or `ota.device_id` when one is set (both set to different values is a
configuration error: they name the same speaker), else the host name made safe for a topic level
(lower case; every run of characters other than a-z, 0-9, _ and - becomes _):
"Kitchen-Pi.local" -> "kitchen-pi_local". `speaker ota status` prints it, and it is the node id of
the speaker's entities in Home Assistant.
"""

from __future__ import annotations

import re
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speaker.settings import Settings

# A Home Assistant discovery node id, and a single MQTT topic level without wildcards.
VALID_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def device_id_from_host(hostname: str | None = None) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "_", (hostname or socket.gethostname()).lower()).strip("_")
    return name or "speaker"


def check_device_id(value: str | None, key: str) -> None:
    """ValueError for an id that cannot be a topic level (None: not set, the host name is used)."""
    if value is not None and not VALID_ID.match(value):
        raise ValueError(
            f"{key} {value!r} must be letters, digits, '_' or '-' only (it is a topic level and "
            "Home Assistant's node id)"
        )


def check_same_device(mqtt_id: str | None, ota_id: str | None) -> None:
    if mqtt_id is not None and ota_id is not None and mqtt_id != ota_id:
        raise ValueError(
            f"mqtt.device_id {mqtt_id!r} and ota.device_id {ota_id!r} differ, but both name this "
            "speaker: set one of them"
        )


def device_id(settings: Settings) -> str:
    """This speaker's id (see the module doc for the rule)."""
    return settings.mqtt.device_id or settings.ota.device_id or device_id_from_host()

"""Home Assistant MQTT discovery payloads for the speaker itself (pure functions, no I/O).

One config per entity on `<prefix>/<component>/<device_id>/<object_id>/config`, retained, all
sharing one device and the availability topic:

    select  mode             dialog mode          <root>/mode/set -> <root>/mode
    number  volume           output volume, %     <root>/volume/set -> <root>/volume
    switch  mute             microphone mute      <root>/mute/set -> <root>/mute   (ON/OFF)
    sensor  last_transcript  what was heard       <root>/last_transcript  (JSON: text, full)
    sensor  last_reply       what was said        <root>/last_reply
    update  model_<kind>     one per model kind   <root>/update/<kind>  (JSON: installed_version, ...)

<root> is <base_topic>/<device_id>.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from speaker import __version__

MODEL_KINDS = ("asr", "tts", "llm", "wake")
KIND_TITLES = {"asr": "Speech recognition", "tts": "Voice", "llm": "Language", "wake": "Wake word"}
TEXT_SENSORS = ("last_transcript", "last_reply")


@dataclass(frozen=True)
class SpeakerDevice:
    device_id: str
    name: str
    root: str  # <base_topic>/<device_id>
    prefix: str = "homeassistant"

    def block(self) -> dict[str, Any]:
        return {
            "identifiers": [f"speaker_{self.device_id}"],
            "name": self.name,
            "manufacturer": "speaker",
            "model": "Offline smart speaker",
            "sw_version": __version__,
        }

    def config_topic(self, component: str, object_id: str) -> str:
        return f"{self.prefix}/{component}/{self.device_id}/{object_id}/config"


def _entity(device: SpeakerDevice, object_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "unique_id": f"speaker_{device.device_id}_{object_id}",
        "availability_topic": f"{device.root}/availability",
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device.block(),
        "origin": {"name": "speaker", "sw_version": __version__},
        **fields,
    }


def speaker_configs(
    device: SpeakerDevice,
    *,
    modes: Sequence[str],
    publish_turns: bool = True,
    update_kinds: Sequence[str] = MODEL_KINDS,
    install_kinds: Sequence[str] = (),
) -> list[tuple[str, dict[str, Any] | None]]:
    """(config topic, payload) for every entity; payload None removes an entity (empty retained)."""
    root = device.root
    configs: list[tuple[str, dict[str, Any] | None]] = []
    select = device.config_topic("select", "mode")
    if modes:
        configs.append(
            (
                select,
                _entity(
                    device, "mode", "Dialog mode", command_topic=f"{root}/mode/set",
                    state_topic=f"{root}/mode", options=list(modes), icon="mdi:forum",
                ),
            )
        )  # fmt: skip
    else:
        configs.append((select, None))
    configs.append(
        (
            device.config_topic("number", "volume"),
            _entity(
                device, "volume", "Volume", command_topic=f"{root}/volume/set", state_topic=f"{root}/volume",
                min=0, max=100, step=1, mode="slider", unit_of_measurement="%", icon="mdi:volume-high",
            ),
        )
    )  # fmt: skip
    configs.append(
        (
            device.config_topic("switch", "mute"),
            _entity(
                device, "mute", "Microphone mute", command_topic=f"{root}/mute/set",
                state_topic=f"{root}/mute", payload_on="ON", payload_off="OFF", state_on="ON",
                state_off="OFF", icon="mdi:microphone-off",
            ),
        )
    )  # fmt: skip
    for object_id, name in zip(TEXT_SENSORS, ("Last transcript", "Last reply"), strict=True):
        topic = device.config_topic("sensor", object_id)
        if not publish_turns:
            configs.append((topic, None))
            continue
        configs.append(
            (
                topic,
                _entity(
                    device, object_id, name, state_topic=f"{root}/{object_id}",
                    value_template="{{ value_json.text }}", json_attributes_topic=f"{root}/{object_id}",
                    icon="mdi:text-box-outline",
                ),
            )
        )  # fmt: skip
    for kind in update_kinds:
        fields: dict[str, Any] = {"state_topic": f"{root}/update/{kind}", "entity_category": "config"}
        if kind in install_kinds:
            fields["command_topic"] = f"{root}/update/{kind}/install"
            fields["payload_install"] = "install"
        configs.append(
            (
                device.config_topic("update", f"model_{kind}"),
                _entity(device, f"model_{kind}", f"{KIND_TITLES.get(kind, kind)} model", **fields),
            )
        )
    return configs


def text_state(text: str, at: str) -> dict[str, Any]:
    """A text sensor's state: Home Assistant keeps at most 255 characters, the full text is an attribute."""
    short = text if len(text) <= 255 else text[:254] + "…"
    return {"text": short, "full": text, "at": at}

"""The speaker as a Home Assistant device: announced on every (re)connect, commanded from HA.

On connect, and whenever Home Assistant says `online` on `<prefix>/status` (it restarted), the
discovery configs and every current state are published again (retained). Commands from HA:

    <root>/volume/set   0..100             -> Controls.set_volume
    <root>/mute/set     ON | OFF           -> Controls.set_muted (microphone)
    <root>/mode/set     one of the modes   -> ModeRequested event on the bus + `on_mode(mode)`

A bad command (not a number, out of range, unknown mode) is logged and ignored. The dialog
mode's state follows any event on the bus that carries a `mode` (ModeRequested, the router's).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from speaker.controls import Controls
from speaker.events import Event, EventBus, ModeRequested, TurnDone
from speaker.mqtt.client import MqttService, PayloadError
from speaker.mqtt.discovery import MODEL_KINDS, SpeakerDevice, speaker_configs, text_state

log = logging.getLogger(__name__)

PRODUCT_MODES = ("knowledge", "empathy", "life_tips", "inspiration")


def known_modes(config_dir: Path | None) -> tuple[str, ...]:
    """Dialog mode ids from `modes.yaml` beside the config when it exists, else the product's four."""
    path = config_dir / "modes.yaml" if config_dir is not None else None
    if path is None or not path.is_file():
        return PRODUCT_MODES
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        log.warning("cannot read dialog modes from %s (%s); offering the default modes", path, exc)
        return PRODUCT_MODES
    modes = data.get("modes", data) if isinstance(data, dict) else data
    if isinstance(modes, dict):
        ids = [str(k) for k in modes]
    elif isinstance(modes, list):
        ids = [str(m.get("id") or m.get("name")) if isinstance(m, dict) else str(m) for m in modes]
    else:
        ids = []
    return tuple(i for i in ids if i and i != "None") or PRODUCT_MODES


class HomeAssistantBridge:
    def __init__(
        self,
        mqtt: MqttService,
        controls: Controls,
        bus: EventBus,
        *,
        device_name: str,
        prefix: str = "homeassistant",
        discovery: bool = True,
        modes: Sequence[str] = PRODUCT_MODES,
        models: dict[str, tuple[str, str]] | None = None,  # kind -> (model id, version)
        publish_turns: bool = True,
        turns_topic: str | None = None,
    ) -> None:
        self.mqtt = mqtt
        self.controls = controls
        self.bus = bus
        self.device = SpeakerDevice(mqtt.connection.device_id, device_name, mqtt.root, prefix)
        self.discovery = discovery
        self.modes = tuple(modes)
        self.publish_turns = publish_turns
        self.turns_topic = turns_topic or mqtt.topic("turn")
        self.on_mode: Callable[[str], None] | None = None  # wire the dialog router here
        self._mode: str | None = None
        self._texts: dict[str, dict[str, Any]] = {}
        self._updates: dict[str, dict[str, Any]] = {}
        self._install: dict[str, Callable[[], None]] = {}
        self._announce_queued = False
        self._lock = threading.Lock()
        for kind, (model_id, version) in (models or {}).items():
            self._updates[kind] = {"installed_version": version, "latest_version": version, "title": model_id}

    def start(self) -> None:
        m = self.mqtt
        m.subscribe(m.topic("volume", "set"), self._on_volume)
        m.subscribe(m.topic("mute", "set"), self._on_mute)
        m.subscribe(m.topic("mode", "set"), self._on_mode)
        if self.discovery:
            m.subscribe(f"{self.device.prefix}/status", self._on_ha_status)
        m.on_connected(self.announce)
        self.controls.on_change(self._publish_controls)
        self.bus.subscribe(self._on_event)

    # --- for other services (OTA) -------------------------------------------------------------

    def publish_update(self, kind: str, **fields: Any) -> None:
        """Set and publish an update entity's state: installed_version, latest_version, in_progress,
        update_percentage, release_summary, title, ... (Home Assistant's update fields)."""
        with self._lock:
            state = self._updates.setdefault(kind, {})
            state.update(fields)
            payload = json.dumps(state)
        self.mqtt.publish(self.mqtt.topic("update", kind), payload, retain=True, qos=1)

    def on_install(self, kind: str, handler: Callable[[], None]) -> None:
        """Show an Install button on `kind`'s update entity; pressing it runs `handler` (worker thread)."""
        self._install[kind] = handler
        self.mqtt.subscribe(self.mqtt.topic("update", kind, "install"), self._on_install)
        if not self._announce_queued:  # several kinds registered at once: one announcement
            self._announce_queued = True
            self.mqtt.call_soon(self._announce_again)

    def _announce_again(self) -> None:
        self._announce_queued = False
        self.announce()

    # --- announcing ---------------------------------------------------------------------------

    def announce(self) -> None:
        if self.discovery:
            kinds = sorted(set(MODEL_KINDS) | set(self._updates))
            for topic, config in speaker_configs(
                self.device, modes=self.modes, publish_turns=self.publish_turns,
                update_kinds=kinds, install_kinds=tuple(self._install),
            ):  # fmt: skip
                self.mqtt.publish(topic, json.dumps(config) if config else "", retain=True, qos=1)
        self._publish_controls()
        if self._mode:
            self.mqtt.publish(self.mqtt.topic("mode"), self._mode, retain=True, qos=1)
        with self._lock:
            updates = {k: json.dumps(v) for k, v in self._updates.items()}
            texts = {k: json.dumps(v, ensure_ascii=False) for k, v in self._texts.items()}
        for kind, payload in updates.items():
            self.mqtt.publish(self.mqtt.topic("update", kind), payload, retain=True, qos=1)
        for name, payload in texts.items():
            self.mqtt.publish(self.mqtt.topic(name), payload, retain=True, qos=1)
        log.info("MQTT: announced the speaker to Home Assistant as %r", self.device.name)

    def _publish_controls(self) -> None:
        self.mqtt.publish(self.mqtt.topic("volume"), str(self.controls.volume), retain=True, qos=1)
        self.mqtt.publish(self.mqtt.topic("mute"), "ON" if self.controls.muted else "OFF", retain=True, qos=1)

    def _on_event(self, event: Event) -> None:
        mode = getattr(event, "mode", None)
        if isinstance(mode, str) and mode and mode != self._mode:
            self._mode = mode
            self.mqtt.publish(self.mqtt.topic("mode"), mode, retain=True, qos=1)
        if isinstance(event, TurnDone) and self.publish_turns:
            at = datetime.now().astimezone().isoformat(timespec="seconds")
            for name, text in (("last_transcript", event.transcript), ("last_reply", event.reply)):
                state = text_state(text, at)
                with self._lock:
                    self._texts[name] = state
                self.mqtt.publish(self.mqtt.topic(name), json.dumps(state, ensure_ascii=False), retain=True)

    # --- commands from Home Assistant (worker thread) -----------------------------------------

    def _on_volume(self, payload: bytes, topic: str) -> None:
        text = _text(payload)
        try:
            level = float(text)
        except ValueError:
            raise PayloadError(f"volume must be a number 0..100, got {text[:40]!r}") from None
        if not math.isfinite(level) or not 0 <= level <= 100:
            raise PayloadError(f"volume must be 0..100, got {text[:40]!r}")
        self.controls.set_volume(level, "homeassistant")

    def _on_mute(self, payload: bytes, topic: str) -> None:
        text = _text(payload).upper()
        if text not in ("ON", "OFF"):
            raise PayloadError(f"mute must be ON or OFF, got {text[:40]!r}")
        self.controls.set_muted(text == "ON", "homeassistant")

    def _on_mode(self, payload: bytes, topic: str) -> None:
        mode = _text(payload)
        if mode not in self.modes:
            raise PayloadError(f"unknown dialog mode {mode[:40]!r}; known: {', '.join(self.modes)}")
        self.bus.emit(ModeRequested(mode=mode, source="homeassistant"))
        if self.on_mode is not None:
            self.on_mode(mode)

    def _on_ha_status(self, payload: bytes, topic: str) -> None:
        if _text(payload) == "online":
            log.info("MQTT: Home Assistant came online; announcing again")
            self.announce()

    def _on_install(self, payload: bytes, topic: str) -> None:
        kind = topic.split("/")[-2]
        handler = self._install.get(kind)
        if handler is not None and _text(payload) == "install":
            handler()


def _text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("the payload is not UTF-8 text") from None

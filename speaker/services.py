"""The services beside the voice loop: controls, timers, home devices and MQTT, assembled once.

    services = Services.from_settings(settings, bus)   # reads devices.yaml, resolves the broker
    services.start()                                   # returns at once; MQTT connects in the background
    context = services.skill_context("en")             # what skills use
    services.attach(tts, sink, asr)                    # timers ring; the recognizer follows the devices
    services.close()

Nothing here waits for the broker: an unreachable broker is logged and retried while the
speaker keeps answering by voice. `wait_ready` is for one-shot runs (`speaker ask`, a WAV file).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skills import SkillContext
from skills.phrases import grammar
from speaker.announce import Announcer
from speaker.audio.volume import VolumeSink
from speaker.controls import Controls, MutedWakeWord, default_state_file
from speaker.errors import ConfigError
from speaker.events import EventBus, TimerRang
from speaker.home.devices_file import Home, load_devices
from speaker.home.registry import DeviceRegistry
from speaker.identity import device_id
from speaker.mqtt.connection import Connection, resolve
from speaker.settings import Settings, default_config_dir
from speaker.timers import Timer, TimerService

log = logging.getLogger(__name__)

SETTLE_S = 0.3  # retained messages have stopped arriving when none came for this long
GRAMMAR_DELAY_S = 1.0  # imports come in bursts: rebuild the recognizer's grammar once they stop
GRAMMAR_JOIN_S = 30.0  # at most this long to wait, on close, for a rebuild under way


@dataclass
class Services:
    settings: Settings
    bus: EventBus
    controls: Controls
    registry: DeviceRegistry
    timers: TimerService = field(init=False)
    connection: Connection | None = None
    mqtt: Any = None  # MqttService
    bridge: Any = None  # HomeAssistantBridge
    sync: Any = None  # HomeSync
    announcer: Announcer | None = None
    _asr: Any = None  # the recognizer that follows the devices' names
    _grammar_timer: threading.Timer | None = None
    _closed: bool = False
    _grammar_lock: threading.Lock = field(default_factory=threading.Lock)
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.timers = TimerService(self._ring)

    @classmethod
    def from_settings(cls, settings: Settings, bus: EventBus, *, device: bool = True) -> Services:
        """`device`: this process is the speaker (announced to Home Assistant, commanded from it);
        False for one-shot commands (`speaker ask`), which only send device commands and turns."""
        controls = Controls(settings.controls, bus=bus, state_file=default_state_file(settings.controls))
        services = cls(settings, bus, controls, DeviceRegistry(_read_home(settings)))
        services.connection = resolve(settings.mqtt, device_id=device_id(settings))
        if services.connection is not None:
            services._build_mqtt(services.connection, device)
        return services

    def _build_mqtt(self, connection: Connection, device: bool) -> None:
        from speaker.home.sync import HomeSync
        from speaker.mqtt.client import MqttService
        from speaker.mqtt.homeassistant import HomeAssistantBridge, known_modes
        from speaker.mqtt.turns import TurnPublisher

        m = self.settings.mqtt
        self.mqtt = MqttService(
            connection,
            bus=self.bus,
            base_topic=m.base_topic,
            keepalive=m.keepalive_s,
            reconnect=(m.reconnect_min_s, m.reconnect_max_s),
            max_payload_bytes=m.max_payload_kb * 1024,
            availability=device,
        )
        self.sync = HomeSync(
            self.registry, self.mqtt, self.settings.home, discovery_prefix=m.discovery_prefix
        )
        self._turns = TurnPublisher(self.mqtt, m.turns_topic or self.mqtt.topic("turn"))
        if not device:
            return
        self.bridge = HomeAssistantBridge(
            self.mqtt,
            self.controls,
            self.bus,
            device_name=m.device_name or f"Speaker {socket.gethostname()}",
            prefix=m.discovery_prefix,
            discovery=m.discovery,
            modes=known_modes(_config_dir()),
            models=_models(self.settings),
            publish_turns=m.publish_turns,
            turns_topic=m.turns_topic,
        )

    def start(self) -> None:
        self.controls.load()
        if self.controls.muted:
            log.warning("the microphone starts muted (controls.muted): the wake word is not listened for")
        if self.mqtt is None:
            log.info("MQTT is off (no broker given: --mqtt URL, $SPEAKER_MQTT_URL or mqtt.host)")
            return
        if self.bridge is not None:
            self.bridge.start()
        self.sync.start()
        if self.settings.mqtt.publish_turns:
            self._closers.append(self.bus.subscribe(self._turns))
        self.mqtt.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """For one-shot runs: wait for the broker, then for its retained messages to stop arriving."""
        if self.mqtt is None:
            return True
        timeout = self.settings.mqtt.connect_wait_s if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if not self.mqtt.wait_connected(timeout):
            log.warning("MQTT: no broker after %.0f s; going on without it", timeout)
            return False
        while time.monotonic() < deadline and self.mqtt.quiet_for() < SETTLE_S:
            time.sleep(0.05)
        return True

    # --- what the responder and the loop use ----------------------------------------------------

    def skill_context(self, language: str, *, timers: bool = True) -> SkillContext:
        return SkillContext(
            language=language,
            devices=self.registry,
            publish=self._publish if self.mqtt is not None else None,
            emit=self.bus.emit,
            controls=self.controls,
            timers=self.timers if timers else None,
        )

    def grammar(self, language: str) -> list[str]:
        return grammar(self.registry, language)

    def wrap_sink(self, sink: Any) -> VolumeSink:
        return VolumeSink(sink, self.controls.gain)

    def wrap_wake(self, wake: Any) -> MutedWakeWord:
        return MutedWakeWord(wake, self.controls)

    def attach(self, tts: Any, sink: Any, asr: Any = None) -> None:
        """Timers ring through `tts` and `sink`; `asr` (if it can) follows the devices' names."""
        self.announcer = Announcer(tts, sink, self.bus)
        self.announcer.start()
        if asr is not None and hasattr(asr, "update_grammar"):
            self._asr = asr
            self.registry.on_change(lambda: self._schedule_grammar(self._asr, self._asr_language()))

    def engine_replaced(self, stage: str, engine: Any) -> None:
        """The loop swapped an engine between turns (a model update): use the new one from now on.

        Called on the loop's thread: nothing slow here (the new recognizer got the grammar before)."""
        if stage == "tts" and self.announcer is not None:
            self.announcer.tts = engine
        elif stage == "asr" and self._asr is not None and hasattr(engine, "update_grammar"):
            self._asr = engine
            language = self._asr_language()
            wanted = set(self.settings.asr.grammar) | set(self.grammar(language))
            if wanted != set(getattr(engine, "grammar", ())):  # devices changed while it was loading
                self._schedule_grammar(engine, language)

    def _asr_language(self) -> str:
        return str(getattr(self._asr, "language", self.settings.asr.language))

    def close(self) -> None:
        with self._grammar_lock:
            self._closed = True  # no grammar rebuild is scheduled from now on
            timer = self._grammar_timer
        if timer is not None:
            timer.cancel()
            if timer.is_alive() and timer is not threading.current_thread():
                timer.join(GRAMMAR_JOIN_S)  # a rebuild under way: let it finish, not outlive us
        self.timers.close()
        if self.announcer is not None:
            self.announcer.close()
        for close in reversed(self._closers):
            close()
        if self.mqtt is not None:
            self.mqtt.stop()

    # --- internals ---------------------------------------------------------------------------

    def _publish(self, topic: str, payload: str, retain: bool = False, qos: int = 0) -> bool:
        return bool(self.mqtt.publish(topic, payload, retain=retain, qos=qos))

    def _ring(self, timer: Timer) -> None:
        self.bus.emit(TimerRang(label=timer.label, seconds=timer.seconds))
        text = f"{timer.label}的计时器时间到了。" if timer.zh else f"Your {timer.label} timer is done."
        if self.announcer is not None:
            self.announcer.announce(text)
        else:
            log.warning("a timer rang but nothing can play it: %s", text)

    def _schedule_grammar(self, asr: Any, language: str) -> None:
        with self._grammar_lock:
            if self._closed:
                return
            if self._grammar_timer is not None:
                self._grammar_timer.cancel()
            self._grammar_timer = threading.Timer(GRAMMAR_DELAY_S, self._update_grammar, (asr, language))
            self._grammar_timer.daemon = True
            self._grammar_timer.start()

    def _update_grammar(self, asr: Any, language: str) -> None:
        phrases = tuple(self.settings.asr.grammar) + tuple(self.grammar(language))
        if set(phrases) == set(getattr(asr, "grammar", ())):
            return
        started = time.monotonic()
        asr.update_grammar(phrases)
        log.info(
            "recognizer now biased toward %d phrases for %d devices (%.1f s)",
            len(phrases), len(self.registry.devices()), time.monotonic() - started,
        )  # fmt: skip


def _config_dir() -> Any:
    try:
        return default_config_dir()
    except ConfigError:
        return None


def _read_home(settings: Settings) -> Home:
    path = settings.home.devices_file
    if path is None:
        directory = _config_dir()
        path = directory / "devices.yaml" if directory is not None else None
        if path is None or not path.exists():
            return Home({}, ())
    home = load_devices(path)
    log.info("%d device(s) and %d room(s) from %s", len(home.devices), len(home.rooms), path)
    return home


def _models(settings: Settings) -> dict[str, tuple[str, str]]:
    """kind -> (model id, catalog version) of the models this speaker is configured to use."""
    from speaker.models.catalog import load_catalog

    ids = {
        "asr": settings.asr.model,
        "tts": settings.tts.voice,
        "llm": settings.llm.model,
        "wake": settings.wake.model,
    }
    try:
        catalog = load_catalog(settings.catalog_path)
    except Exception as exc:  # the update entities are informative; a catalog problem is reported elsewhere
        log.debug("no catalog for model versions: %s", exc)
        return {kind: (model_id, "unknown") for kind, model_id in ids.items()}
    versions = {}
    for kind, model_id in ids.items():
        try:
            versions[kind] = (model_id, catalog.get(model_id).version)
        except Exception:
            versions[kind] = (model_id, "unknown")
    return versions

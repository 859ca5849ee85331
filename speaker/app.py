"""Assembling a speaker from its settings: model store, engines, event bus, responder, loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skills import default_skills
from speaker.audio.sinks import AudioSink
from speaker.engines import STAGES, Engines, load_engines
from speaker.events import EventBus, JsonlEventWriter
from speaker.models import InstalledModel, ModelStore
from speaker.pipeline.turn import Responder
from speaker.services import Services
from speaker.settings import Settings, with_asr_grammar

log = logging.getLogger(__name__)


@dataclass
class Speaker:
    settings: Settings
    store: ModelStore
    engines: Engines
    bus: EventBus
    sink: AudioSink
    responder: Responder
    loop: Any = None  # a VoiceLoop when built to listen
    services: Any = None  # Services: volume/mute, timers, home devices, MQTT
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            try:
                close()
            except Exception:
                log.exception("closing %r failed", close)
        self.closers.clear()


def build_speaker(
    settings: Settings,
    sink: AudioSink,
    *,
    listen: bool = True,
    events_path: Path | None = None,
    bus: EventBus | None = None,
    models: Mapping[str, InstalledModel] | None = None,
) -> Speaker:
    """Load everything a turn needs (and, with `listen`, the wake word, VAD and ASR too).

    `models` replaces the store's model for some stages (the active slots of OTA updates).
    """
    bus = bus or EventBus()
    closers: list[Callable[[], None]] = []
    if events_path is not None:
        writer = JsonlEventWriter(events_path).open()
        bus.subscribe(writer)
        closers.append(writer.close)
    services = Services.from_settings(settings, bus, device=listen)
    services.start()  # MQTT connects in the background while the models load
    closers.append(services.close)
    try:
        store = ModelStore.from_settings(settings)
        parts = STAGES if listen else ("llm", "tts")
        if listen:  # the recognizer hears device names and commands better when it expects them
            settings = with_asr_grammar(settings, services.grammar(settings.asr.language))
        engines = load_engines(settings, store, parts, models)
    except BaseException:
        services.close()
        raise
    home = settings.home
    responder = Responder(
        tts=engines.tts,
        sink=services.wrap_sink(sink),
        bus=bus,
        llm=engines.llm,
        llm_settings=settings.llm,
        skills=default_skills(confirm_locks=home.confirm_locks, confirm_timeout_s=home.confirm_timeout_s),
        skill_context=services.skill_context(settings.asr.language, timers=listen),
    )
    services.attach(engines.tts, responder.sink, engines.asr)
    responder.warm()
    speaker = Speaker(settings, store, engines, bus, sink, responder, closers=closers, services=services)
    if listen:
        from speaker.pipeline.listening import Listener
        from speaker.pipeline.loop import VoiceLoop

        speaker.loop = VoiceLoop(
            wake=services.wrap_wake(engines.wake),
            listener=Listener(engines.vad, engines.asr, settings.vad),
            responder=responder,
            bus=bus,
            audio=settings.audio,
            wake_settings=settings.wake,
        )
        speaker.loop.replaced_hooks.append(services.engine_replaced)  # model updates between turns
    log.info("models loaded in %.1f s", engines.load_seconds)
    return speaker

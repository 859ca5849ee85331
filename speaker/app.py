"""Assembling a speaker from its settings: model store, engines, event bus, responder, loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skills import SkillContext, default_skills
from speaker.audio.sinks import AudioSink
from speaker.engines import STAGES, Engines, load_engines
from speaker.events import EventBus, JsonlEventWriter
from speaker.models import InstalledModel, ModelStore
from speaker.pipeline.turn import Responder
from speaker.settings import Settings

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
    store = ModelStore.from_settings(settings)
    parts = STAGES if listen else ("llm", "tts")
    engines = load_engines(settings, store, parts, models)
    responder = Responder(
        tts=engines.tts,
        sink=sink,
        bus=bus,
        llm=engines.llm,
        llm_settings=settings.llm,
        skills=default_skills(),
        skill_context=SkillContext(language=settings.asr.language),
    )
    responder.warm()
    speaker = Speaker(settings, store, engines, bus, sink, responder, closers=closers)
    if listen:
        from speaker.pipeline.listening import Listener
        from speaker.pipeline.loop import VoiceLoop

        speaker.loop = VoiceLoop(
            wake=engines.wake,
            listener=Listener(engines.vad, engines.asr, settings.vad),
            responder=responder,
            bus=bus,
            audio=settings.audio,
            wake_settings=settings.wake,
        )
    log.info("models loaded in %.1f s", engines.load_seconds)
    return speaker

"""Assembling a speaker from its settings: model store, engines, event bus, responder, loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skills import default_skills
from speaker.audio.sinks import AudioSink
from speaker.dialog.modes import load_modes
from speaker.dialog.session import Dialog, system_prompts_to_warm
from speaker.engines import STAGES, Engines, build_engine, load_engines
from speaker.events import EventBus, JsonlEventWriter
from speaker.llm.base import ChatMessage
from speaker.llm.cloud_edge import CloudEdge, CloudEdgePolicy
from speaker.llm.remote import RemoteChatModel
from speaker.models import InstalledModel, ModelStore
from speaker.pipeline.barge_in import OwnVoice, PlaybackTap
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
    warm: bool = True,
) -> Speaker:
    """Load everything a turn needs (and, with `listen`, the wake word, VAD and ASR too).

    `models` replaces the store's model for some stages (the active slots of OTA updates).
    `warm`: evaluate every mode's system prompt now (a long-running speaker); without it each
    prompt is evaluated, and kept, the first time a turn needs it (a one-off question).
    """
    bus = bus or EventBus()
    closers: list[Callable[[], None]] = []
    if events_path is not None:
        writer = JsonlEventWriter(events_path).open()
        bus.subscribe(writer)
        closers.append(writer.close)
    dialog = build_dialog(settings)  # a bad modes file is reported before models load
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
    if dialog is not None and hasattr(engines.llm, "count_tokens"):
        dialog.memory.count_tokens = engines.llm.count_tokens
    home = settings.home
    own_voice = build_own_voice(settings, store, bus, models, engines.wake) if listen else None
    played = services.wrap_sink(sink)
    responder = Responder(
        tts=engines.tts,
        sink=PlaybackTap(played, own_voice) if own_voice is not None else played,
        bus=bus,
        llm=engines.llm,
        llm_settings=settings.llm,
        skills=default_skills(confirm_locks=home.confirm_locks, confirm_timeout_s=home.confirm_timeout_s),
        skill_context=services.skill_context(settings.asr.language, timers=listen),
        dialog=dialog,
        cloud=build_cloud_edge(settings, engines.llm, bus),
    )
    services.attach(engines.tts, responder.sink, engines.asr)
    if warm:
        responder.warm(warm_languages(settings))
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
            follow_up_s=settings.dialog.follow_up_s if settings.dialog.enabled else 0.0,
            muted=lambda: services.controls.muted,
            own_voice=own_voice,
        )
        speaker.loop.replaced_hooks.append(services.engine_replaced)  # model updates between turns
        if own_voice is not None:
            speaker.loop.replaced_hooks.append(_own_voice_follows(own_voice))
    log.info("models loaded in %.1f s", engines.load_seconds)
    return speaker


def build_own_voice(
    settings: Settings,
    store: ModelStore,
    bus: EventBus,
    models: Mapping[str, InstalledModel] | None,
    wake: Any = None,
) -> OwnVoice | None:
    """With barge-in, a second wake word detector (the configured engine) on the speaker's playback:
    a twin of `wake` sharing its model when the engine can make one, else a second instance."""
    if settings.wake.during_playback != "barge_in":
        return None
    if hasattr(wake, "twin"):
        reference = wake.twin()
    else:
        reference = build_engine(settings, store, "wake", (models or {}).get("wake"))
        reference.load()
    return OwnVoice(reference, bus.clock.audio, window_s=settings.wake.own_voice_window_s,
                    frame_ms=settings.audio.frame_ms)  # fmt: skip


def _own_voice_follows(own_voice: OwnVoice) -> Callable[[str, Any], None]:
    """A wake model updated over the air listens to the playback too (engines that can twin)."""

    def replaced(stage: str, engine: Any) -> None:
        if stage != "wake":
            return
        if hasattr(engine, "twin"):
            own_voice.use_detector(engine.twin())
        else:
            kind = type(engine).__name__
            log.warning("the own-voice detector keeps the wake model it started with (%s)", kind)

    return replaced


def build_dialog(settings: Settings) -> Dialog | None:
    """The dialog modes and conversation memory, or None when dialog modes are switched off."""
    if not settings.dialog.enabled:
        return None
    book = load_modes(settings.modes_path)
    return Dialog(book, settings.dialog, seed=settings.llm.seed)


def build_cloud_edge(settings: Settings, llm: Any, bus: EventBus) -> CloudEdge:
    """The local model, with the LAN server of `llm.remote` beside it when one is configured."""
    remote_settings = settings.llm.remote
    remote = RemoteChatModel.from_settings(remote_settings) if remote_settings.url else None
    return CloudEdge(
        llm, bus, local_name=settings.llm.model, remote=remote, policy=CloudEdgePolicy(remote_settings)
    )


def prompts_to_warm(settings: Settings) -> list[ChatMessage]:
    """The system prompts a language model evaluates ahead (each mode's, in the languages spoken)."""
    return system_prompts_to_warm(
        build_dialog(settings), settings.llm.system_prompt, warm_languages(settings)
    )


def warm_languages(settings: Settings) -> tuple[str, ...]:
    """The languages whose mode prompts are evaluated at start-up (others on first use)."""
    if settings.dialog.language != "auto":
        return (settings.dialog.language,)
    return ("zh",) if settings.asr.language.startswith("zh") else ("en",)

"""Engines chosen by name from the settings, with their models resolved through the model store.

One registry maps each stage's engine names to builders; engine modules are imported only
when chosen, so a speaker without vosk installed still runs on pocketsphinx.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from speaker.errors import ConfigError
from speaker.models import InstalledModel, ModelStore
from speaker.settings import Settings

log = logging.getLogger(__name__)


def _pocketsphinx_wake(s: Settings, store: ModelStore) -> Any:
    from speaker.wake.pocketsphinx import PocketsphinxWakeWord

    return PocketsphinxWakeWord(
        store.require(s.wake.model).path, phrase=s.wake.phrase, threshold=s.wake.threshold
    )


def _classifier_wake(s: Settings, store: ModelStore) -> Any:
    from speaker.wake.classifier import OFF, ClassifierWakeWord, bundled_model

    if isinstance(store, _Pinned):  # an over-the-air update: its file is the wake model
        path = store.model.main
    else:
        path = s.wake.classifier or bundled_model()
    phones = s.wake.phone_threshold
    return ClassifierWakeWord(
        path,
        threshold=s.wake.score_threshold,
        phrase=s.wake.phrase,
        verify_threshold=s.wake.verify_threshold,
        phone_threshold=OFF if phones == "off" else (float(phones) if phones is not None else None),
    )


def _vosk_wake(s: Settings, store: ModelStore) -> Any:
    from speaker.wake.vosk import VoskWakeWord

    return VoskWakeWord(store.require(s.wake.model).path, phrase=s.wake.phrase, language=s.asr.language)


def _pocketsphinx_asr(s: Settings, store: ModelStore) -> Any:
    from speaker.asr.pocketsphinx import PocketsphinxRecognizer

    return PocketsphinxRecognizer(
        store.require(s.asr.model).path, grammar=s.asr.grammar, language=s.asr.language
    )


def _vosk_asr(s: Settings, store: ModelStore) -> Any:
    from speaker.asr.vosk import VoskRecognizer

    return VoskRecognizer(store.require(s.asr.model).path, language=s.asr.language, grammar=s.asr.grammar)


def _llama(s: Settings, store: ModelStore) -> Any:
    from speaker.llm.llama import LlamaChatModel

    llm = s.llm
    return LlamaChatModel(
        store.require(llm.model).main, context_tokens=llm.context_tokens, threads=llm.threads, seed=llm.seed
    )


def _piper(s: Settings, store: ModelStore) -> Any:
    from speaker.tts.piper import PiperSynthesizer

    return PiperSynthesizer(
        store.require(s.tts.voice).main, length_scale=s.tts.length_scale, threads=s.tts.threads
    )


def _webrtc(s: Settings, store: ModelStore) -> Any:
    from speaker.vad.webrtc import WebRtcVad

    return WebRtcVad(s.vad.aggressiveness)


Builder = Callable[[Settings, ModelStore], Any]
# (settings key of the engine name, {engine name: builder}) per stage
REGISTRY: dict[str, tuple[str, dict[str, Builder]]] = {
    "wake": (
        "wake.engine",
        {"classifier": _classifier_wake, "pocketsphinx": _pocketsphinx_wake, "vosk": _vosk_wake},
    ),
    "vad": ("vad.engine", {"webrtc": _webrtc}),
    "asr": ("asr.engine", {"pocketsphinx": _pocketsphinx_asr, "vosk": _vosk_asr}),
    "llm": ("llm.engine", {"llama": _llama}),
    "tts": ("tts.engine", {"piper": _piper}),
}


def engine_name(settings: Settings, stage: str) -> str:
    section, field = REGISTRY[stage][0].split(".")
    return str(getattr(getattr(settings, section), field))


class _Pinned:
    """Stands in for the store when a stage's model is given (an OTA slot): every require() is it."""

    def __init__(self, model: InstalledModel) -> None:
        self.model = model

    def require(self, model_id: str) -> InstalledModel:
        return self.model


def build_engine(
    settings: Settings, store: ModelStore, stage: str, model: InstalledModel | None = None
) -> Any:
    """The engine for `stage`, constructed (its model resolved and checked) but not loaded.

    `model` overrides the store's model for that stage (the active slot of an over-the-air update).
    """
    key, builders = REGISTRY[stage]
    name = engine_name(settings, stage)
    if name not in builders:
        raise ConfigError(f"{key}: unknown engine {name!r}; choose one of {', '.join(sorted(builders))}")
    return builders[name](settings, store if model is None else _Pinned(model))  # type: ignore[arg-type]


@dataclass
class Engines:
    wake: Any = None
    vad: Any = None
    asr: Any = None
    llm: Any = None
    tts: Any = None
    load_seconds: float = 0.0


STAGES = ("wake", "vad", "asr", "llm", "tts")


def load_engines(
    settings: Settings,
    store: ModelStore,
    parts: tuple[str, ...] = STAGES,
    models: Mapping[str, InstalledModel] | None = None,
) -> Engines:
    """Build the engines named in the settings and load their models (the slow part of start-up).

    Every model is resolved (and checked) before anything is loaded, so a missing model is
    reported at once rather than after the others took their time to load. `models` gives a
    stage another model than the store's (see build_engine).
    """
    engines = Engines()
    for stage in parts:
        setattr(engines, stage, build_engine(settings, store, stage, (models or {}).get(stage)))
    started = time.monotonic()
    for name in STAGES:
        engine = getattr(engines, name)
        if engine is not None:
            t = time.monotonic()
            engine.load()
            log.debug("%s engine loaded in %.2f s", name, time.monotonic() - t)
    engines.load_seconds = time.monotonic() - started
    return engines

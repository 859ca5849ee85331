"""The answering half of a turn with the real LLM and voice: streamed, ordered, spoken."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from skills import SkillContext, default_skills
from speaker.audio.sinks import WavFileSink
from speaker.audio.wavfile import probe, read_chunks
from speaker.events import EventBus, EventLog
from speaker.llm.base import ChatMessage, GenerationOptions, GenerationStats
from speaker.llm.llama import LlamaChatModel
from speaker.models import ModelStore
from speaker.pipeline.turn import SORRY, Responder
from speaker.settings import LlmSettings, load_settings
from speaker.tts.piper import PiperSynthesizer


def responder(
    llm: LlamaChatModel, tts: PiperSynthesizer, out: Path, **kw: object
) -> tuple[Responder, EventLog]:
    bus = EventBus()
    log = EventLog()
    bus.subscribe(log)
    sink = WavFileSink(out)
    sink.open()
    fixed = SkillContext(now=lambda: datetime(2026, 1, 2, 15, 4))
    r = Responder(tts=tts, sink=sink, bus=bus, llm=llm, skills=default_skills(), skill_context=fixed, **kw)
    return r, log


def llm_settings(max_tokens: int) -> LlmSettings:
    return replace(load_settings().llm, max_tokens=max_tokens)


def speech_seconds(path: Path) -> float:
    """Seconds of the file louder than near-silence."""
    info, chunks = read_chunks(path)
    samples = np.concatenate([c.array()[:, 0] for c in chunks]).astype(np.float64)
    window = info.rate // 50
    frames = samples[: len(samples) // window * window].reshape(-1, window)
    return float(np.sum(np.sqrt(np.mean(frames**2, axis=1)) > 500) / 50)


def test_llm_streams_and_reuses_the_system_prompt(llm: LlamaChatModel) -> None:
    system = ChatMessage("system", "You answer in one short sentence.")
    llm.warm([system])
    stats = GenerationStats()
    pieces = list(
        llm.stream(
            [system, ChatMessage("user", "What is the capital of France?")],
            GenerationOptions(max_tokens=24),
            stats,
        )
    )
    assert len(pieces) > 1  # streamed, not one block
    assert "paris" in "".join(pieces).lower()
    assert stats.cached_tokens >= len(llm.prompt_tokens([system])) - 4  # the system prompt was not redone
    assert stats.completion_tokens >= 2 and stats.prompt_tokens > stats.cached_tokens


def test_question_is_answered_in_order_and_spoken(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    out = tmp_path / "reply.wav"
    r, log = responder(llm, tts, out, llm_settings=llm_settings(40))
    result = r.respond("What is the capital of France?")
    r.sink.close()
    names = [e.name for e in log.events]
    assert names.index("llm_first_token") < names.index("sentence") < names.index("tts_first_audio")
    assert names[-1] == "turn_done"
    assert "paris" in result.reply.lower()
    assert result.timings["first_audio"] < result.timings["total"]
    assert speech_seconds(out) > 0.5
    assert abs(probe(out).duration - result.audio_seconds) < 0.05


def test_first_sentence_is_spoken_before_the_reply_is_written(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    r, log = responder(llm, tts, tmp_path / "long.wav", llm_settings=llm_settings(120))
    r.respond("Tell me three facts about the ocean, each in its own sentence.")
    names = [e.name for e in log.events]
    sentences = [i for i, n in enumerate(names) if n == "sentence"]
    assert len(sentences) >= 2, names
    assert names.index("tts_first_audio") < sentences[-1]  # audio began before the last sentence existed


def test_skill_answers_without_the_llm(llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path) -> None:
    r, log = responder(llm, tts, tmp_path / "time.wav")
    result = r.respond("Hey, what time is it?")
    assert result.intent == "time" and result.reply == "It's 3:04 PM."
    assert "llm_first_token" not in [e.name for e in log.events]
    assert log.named("intent")[0].to_dict()["skill"] == "clock"


def test_llm_failure_is_reported_and_apologised_for(
    tts: PiperSynthesizer, store: ModelStore, tmp_path: Path
) -> None:
    small = LlamaChatModel(store.require("smollm2-135m-instruct-q4_1").main, context_tokens=256)
    small.load()
    r, log = responder(small, tts, tmp_path / "sorry.wav")
    result = r.respond("please repeat this " * 80)  # far longer than a 256-token context
    errors = log.named("error")
    assert errors and errors[0].to_dict()["stage"] == "llm"
    assert "context" in errors[0].to_dict()["message"]
    assert result.reply == SORRY
    assert log.events[-1].name == "turn_done"


class _Timed:
    """A real engine whose streaming method notes when it works: every LLM piece's arrival, every
    synthesis's start and end (time.monotonic)."""

    def __init__(self, engine: object, method: str) -> None:
        self.engine, self.method = engine, method
        self.pieces: list[float] = []
        self.spans: list[tuple[float, float]] = []

    def __getattr__(self, name: str) -> object:
        if name == "stream" and self.method == "stream":
            return self._stream
        if name == "synthesize" and self.method == "synthesize":
            return self._synthesize
        return getattr(self.engine, name)

    def _stream(self, *args: object, **kw: object) -> object:
        for piece in self.engine.stream(*args, **kw):  # type: ignore[attr-defined]
            self.pieces.append(time.monotonic())
            yield piece

    def _synthesize(self, text: str) -> object:
        began = time.monotonic()
        yield from self.engine.synthesize(text)  # type: ignore[attr-defined]
        self.spans.append((began, time.monotonic()))


def test_the_model_waits_while_a_sentence_is_synthesized(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    timed_llm, timed_tts = _Timed(llm, "stream"), _Timed(tts, "synthesize")
    r, _ = responder(timed_llm, timed_tts, tmp_path / "reply.wav", llm_settings=llm_settings(60))  # type: ignore[arg-type]
    result = r.respond("Tell me about the moon, the sun and the stars.")
    r.sink.close()
    assert len(timed_tts.spans) >= 2 and result.llm is not None  # several sentences were voiced
    during = [sum(a < t < b for t in timed_llm.pieces) for a, b in timed_tts.spans]
    # Side by side, the model writes several pieces while each sentence is synthesized.
    assert max(during) <= 1, during
    assert result.llm.paused_seconds > 0
    assert result.llm.completion_tokens > 20 and len(result.reply.split()) > 5

"""The answering half of a turn: skill fast path, or LLM -> sentences -> TTS -> speaker, streamed.

The model writes in a worker thread while this thread speaks, so the first sentence is heard
while the rest of the reply is still being written.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from skills import SkillContext, SkillSet
from speaker.audio.sinks import AudioSink
from speaker.errors import SpeakerError
from speaker.events import (
    ErrorEvent,
    EventBus,
    IntentMatched,
    LlmFirstToken,
    SentenceReady,
    TtsFirstAudio,
    TurnDone,
)
from speaker.llm.base import ChatMessage, ChatModel, GenerationOptions, GenerationStats
from speaker.settings import LlmSettings
from speaker.text.sentences import SentenceSplitter
from speaker.text.speakable import speakable
from speaker.tts.base import SpeechSynthesizer

log = logging.getLogger(__name__)

SORRY = "Sorry, I couldn't come up with an answer."
_END = object()


@dataclass
class TurnResult:
    transcript: str
    reply: str = ""
    audio_seconds: float = 0.0
    interrupted: bool = False
    intent: str | None = None
    action: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    llm: GenerationStats | None = None


class Responder:
    def __init__(
        self,
        *,
        tts: SpeechSynthesizer,
        sink: AudioSink,
        bus: EventBus,
        llm: ChatModel | None = None,
        llm_settings: LlmSettings | None = None,
        skills: SkillSet | None = None,
        skill_context: SkillContext | None = None,
        on_action: Callable[[str], None] | None = None,
    ) -> None:
        self.tts = tts
        self.sink = sink
        self.bus = bus
        self.llm = llm
        self.llm_settings = llm_settings or LlmSettings()
        self.skills = skills or SkillSet([])
        self.skill_context = skill_context or SkillContext()
        self.on_action = on_action
        self._interrupted = threading.Event()

    def warm(self) -> None:
        """Evaluate the system prompt now, so that the first turn pays only for its own words."""
        if self.llm is not None:
            self.llm.warm([ChatMessage("system", self.llm_settings.system_prompt)])

    def interrupt(self) -> None:
        """Stop talking now (barge-in, "stop"); safe from any thread."""
        self._interrupted.set()
        self.sink.stop()

    def respond(self, transcript: str, *, endpoint: float | None = None) -> TurnResult:
        """Answer one utterance out loud. `endpoint` (time.monotonic) is when the user stopped."""
        start = endpoint if endpoint is not None else time.monotonic()
        self._interrupted.clear()
        result = TurnResult(transcript=transcript)
        result.timings["transcript"] = time.monotonic() - start
        try:
            matched = self.skills.handle(transcript, self.skill_context)
            if matched is not None:
                skill, reply = matched
                result.intent, result.action = reply.intent, reply.action
                self.bus.emit(IntentMatched(intent=reply.intent, skill=skill.name, slots=dict(reply.slots)))
                if reply.action and self.on_action is not None:
                    self.on_action(reply.action)
                if reply.text:
                    self._speak_all([reply.text], result, start)
            else:
                self._answer_with_llm(transcript, result, start)
        except SpeakerError as exc:
            self.bus.emit(ErrorEvent(code=exc.code, message=exc.message, stage=getattr(exc, "stage", "turn")))
            log.error("turn failed: %s", exc.message)
        finally:
            self.sink.end_reply()
        result.interrupted = self._interrupted.is_set()
        result.timings["total"] = time.monotonic() - start
        self.bus.emit(
            TurnDone(
                reply=result.reply,
                transcript=transcript,
                audio_seconds=round(result.audio_seconds, 3),
                interrupted=result.interrupted,
                timings={k: round(v, 4) for k, v in result.timings.items()},
                llm=result.llm.as_dict() if result.llm else {},
            )
        )
        log.info("turn: %s", format_timings(result))
        return result

    def messages(self, transcript: str) -> list[ChatMessage]:
        return [ChatMessage("system", self.llm_settings.system_prompt), ChatMessage("user", transcript)]

    def options(self) -> GenerationOptions:
        s = self.llm_settings
        return GenerationOptions(s.max_tokens, s.temperature, s.top_p, s.repeat_penalty, s.seed)

    def _answer_with_llm(self, transcript: str, result: TurnResult, start: float) -> None:
        if self.llm is None:
            raise SpeakerError("no language model is configured for questions", code="llm")
        stats = GenerationStats()
        result.llm = stats
        sentences: queue.Queue[object] = queue.Queue()
        writer = threading.Thread(
            target=self._write,
            args=(self.messages(transcript), stats, sentences, result, start),
            name="llm-writer",
            daemon=True,
        )
        writer.start()
        spoken = self._speak_queue(sentences, result, start)
        writer.join()
        if not spoken and not self._interrupted.is_set():
            self._speak_all([SORRY], result, start)

    def _write(
        self,
        messages: list[ChatMessage],
        stats: GenerationStats,
        sentences: queue.Queue[object],
        result: TurnResult,
        start: float,
    ) -> None:
        """Worker thread: stream the model's reply and hand over each sentence once complete."""
        assert self.llm is not None
        splitter = SentenceSplitter()
        try:
            pieces = self.llm.stream(messages, self.options(), stats)
            for piece in pieces:
                if "llm_first_token" not in result.timings:
                    result.timings["llm_first_token"] = time.monotonic() - start
                    self.bus.emit(LlmFirstToken())
                for sentence in splitter.feed(piece):
                    self._hand_over(sentence, sentences, result, start)
                if self._interrupted.is_set():
                    pieces.close()
                    break
            rest = splitter.flush()
            truncated = stats.extra.get("truncated") and result.timings.get("first_sentence") is not None
            if not self._interrupted.is_set() and not truncated:  # a cut-off fragment is not said
                for sentence in rest:
                    self._hand_over(sentence, sentences, result, start)
        except SpeakerError as exc:
            self.bus.emit(ErrorEvent(code=exc.code, message=exc.message, stage="llm"))
        except Exception as exc:  # the model failing must never take the speaker down
            log.exception("the language model failed")
            self.bus.emit(ErrorEvent(code="llm", message=str(exc), stage="llm"))
        finally:
            sentences.put(_END)

    def _hand_over(
        self, sentence: str, sentences: queue.Queue[object], result: TurnResult, start: float
    ) -> None:
        text = speakable(sentence)
        if not text or not any(c.isalnum() for c in text):
            return
        if "first_sentence" not in result.timings:
            result.timings["first_sentence"] = time.monotonic() - start
        self.bus.emit(SentenceReady(text=text))
        sentences.put(text)

    def _speak_queue(self, sentences: queue.Queue[object], result: TurnResult, start: float) -> int:
        spoken = 0
        while (item := sentences.get()) is not _END:
            if self._interrupted.is_set():
                continue  # drain until the writer stops
            self._speak(str(item), result, start)
            spoken += 1
        return spoken

    def _speak_all(self, texts: list[str], result: TurnResult, start: float) -> None:
        for text in texts:
            self.bus.emit(SentenceReady(text=text))
            self._speak(text, result, start)

    def _speak(self, text: str, result: TurnResult, start: float) -> None:
        for chunk in self.tts.synthesize(text):
            if self._interrupted.is_set():
                return
            if "first_audio" not in result.timings:
                result.timings["first_audio"] = time.monotonic() - start
                self.bus.emit(TtsFirstAudio())
            self.sink.play(chunk)
            result.audio_seconds += chunk.duration
        result.reply = f"{result.reply} {text}".strip()


def format_timings(result: TurnResult) -> str:
    t = result.timings
    parts = [
        f"{name} {1000 * t[name]:.0f} ms"
        for name in ("transcript", "llm_first_token", "first_sentence", "first_audio")
        if name in t
    ]
    parts.append(f"done {t.get('total', 0.0):.2f} s")
    if result.llm and result.llm.completion_tokens:
        parts.append(f"{result.llm.completion_tokens} tokens at {result.llm.tokens_per_second:.0f}/s")
    if result.intent:
        parts.append(f"intent {result.intent}")
    return ", ".join(parts) + f" | {result.transcript!r} -> {result.reply!r}"

"""The answering half of a turn: skill fast path, or LLM -> sentences -> TTS -> speaker, streamed.

The model writes in a worker thread while this thread speaks, so the first sentence is heard
while the rest of the reply is still being written. With a Dialog, each utterance is routed
to a mode (its prompt, sampling and spoken-length limit) and answered within the conversation;
the reply comes from the local model or a LAN server (CloudEdge).
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
from speaker.dialog.session import Dialog, TurnPlan
from speaker.errors import SpeakerError
from speaker.events import (
    ConversationReset,
    ErrorEvent,
    EventBus,
    IntentMatched,
    LlmFirstToken,
    ModeChosen,
    SentenceReady,
    TtsFirstAudio,
    TurnDone,
)
from speaker.llm.base import ChatMessage, ChatModel, GenerationOptions, GenerationStats
from speaker.llm.cloud_edge import CloudEdge
from speaker.settings import LlmSettings
from speaker.text.length import SpokenBudget
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
    mode: str | None = None  # the dialog mode the turn was answered in
    cut: bool = False  # the reply was cut at the mode's spoken-length limit
    timings: dict[str, float] = field(default_factory=dict)
    llm: GenerationStats | None = None


@dataclass
class _Reply:
    """One reply from the language model: what it is asked, and what comes back."""

    messages: list[ChatMessage]
    options: GenerationOptions
    transcript: str
    plan: TurnPlan | None = None
    stats: GenerationStats = field(default_factory=GenerationStats)
    sentences: queue.Queue[object] = field(default_factory=queue.Queue)
    said: str = ""  # the model's text up to the last sentence handed to speech


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
        dialog: Dialog | None = None,
        cloud: CloudEdge | None = None,
    ) -> None:
        self.tts = tts
        self.sink = sink
        self.bus = bus
        self.llm_settings = llm_settings or LlmSettings()
        self.skills = skills or SkillSet([])
        self.skill_context = skill_context or SkillContext()
        self.on_action = on_action
        self.dialog = dialog
        self.cloud = cloud or (CloudEdge(llm, bus, local_name=self.llm_settings.model) if llm else None)
        self.llm = llm
        self._interrupted = threading.Event()

    @property
    def llm(self) -> ChatModel | None:
        return self._llm

    @llm.setter
    def llm(self, model: ChatModel | None) -> None:
        """A model swapped in (e.g. after an update) answers the next turn, locally or as fallback."""
        self._llm = model
        if model is not None and self.cloud is not None:
            self.cloud.local = model

    def warm(self, languages: tuple[str, ...] = ("en",)) -> None:
        """Evaluate the system prompts now (every mode's), so that a turn pays only for its own words."""
        warm = getattr(self.llm, "warm", None)
        if warm is None:
            return
        if self.dialog is None:
            warm([ChatMessage("system", self.llm_settings.system_prompt)])
            return
        for language in languages:
            for system in self.dialog.system_prompts(language):
                warm([system])

    def interrupt(self) -> None:
        """Stop talking now (barge-in, "stop"); safe from any thread."""
        self._interrupted.set()
        self.sink.stop()

    def respond(
        self, transcript: str, *, endpoint: float | None = None, mode: str | None = None
    ) -> TurnResult:
        """Answer one utterance out loud. `endpoint` (time.monotonic) is when the user stopped;
        `mode` forces a dialog mode instead of routing."""
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
                self._answer(transcript, result, start, mode)
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
        """Without a dialog: the one system prompt and the utterance."""
        return [ChatMessage("system", self.llm_settings.system_prompt), ChatMessage("user", transcript)]

    def options(self) -> GenerationOptions:
        s = self.llm_settings
        return GenerationOptions(s.max_tokens, s.temperature, s.top_p, s.repeat_penalty, s.seed)

    def _answer(self, transcript: str, result: TurnResult, start: float, mode: str | None) -> None:
        if self.dialog is None:
            job = _Reply(self.messages(transcript), self.options(), transcript)
            self._answer_with_llm(job, result, start)
            return
        plan = self.dialog.plan(transcript, forced_mode=mode)
        if plan.reset is not None:
            self.bus.emit(ConversationReset(reason=plan.reset, forgotten=plan.forgotten))
        d = plan.decision
        result.mode = d.mode
        self.bus.emit(
            ModeChosen(
                mode=d.mode, confidence=d.confidence, reason=d.reason, source=d.source, language=plan.language
            )
        )
        if plan.reply is not None:  # a command: said at once, no model needed
            self._speak_all([plan.reply], result, start)
            return
        job = _Reply(list(plan.messages), plan.options or self.options(), transcript, plan)
        self._answer_with_llm(job, result, start)
        self.dialog.remember(plan, result.reply if self._interrupted.is_set() else job.said)

    def _answer_with_llm(self, job: _Reply, result: TurnResult, start: float) -> None:
        if self.cloud is None:
            raise SpeakerError("no language model is configured for questions", code="llm")
        result.llm = job.stats
        writer = threading.Thread(
            target=self._write, args=(job, result, start), name="llm-writer", daemon=True
        )
        writer.start()
        spoken = self._speak_queue(job.sentences, result, start)
        writer.join()
        if not spoken and not self._interrupted.is_set():
            self._speak_all([SORRY], result, start)

    def _write(self, job: _Reply, result: TurnResult, start: float) -> None:
        """Worker thread: stream the model's reply and hand over each sentence once complete.

        Sentences are admitted until the mode's spoken-length limit. The model's own text up to
        the last sentence handed over becomes `job.said` (what the conversation remembers).
        """
        assert self.cloud is not None
        splitter = SentenceSplitter()
        budget = SpokenBudget(job.plan.spoken_limit_s if job.plan else None)
        raw, said_upto = "", 0
        try:
            mode = job.plan.mode if job.plan else None
            pieces = self.cloud.stream(job.messages, job.options, job.stats, text=job.transcript, mode=mode)
            for piece in pieces:
                raw += piece
                if "llm_first_token" not in result.timings:
                    result.timings["llm_first_token"] = time.monotonic() - start
                    self.bus.emit(LlmFirstToken())
                batch = splitter.feed(piece)
                for sentence, end in zip(
                    batch, splitter.ends[len(splitter.ends) - len(batch) :], strict=True
                ):
                    if not self._hand_over(sentence, job.sentences, result, start, budget):
                        break
                    said_upto = end
                if self._interrupted.is_set() or budget.exhausted:
                    pieces.close()
                    break
            rest = splitter.flush()
            broken_off = job.stats.extra.get("truncated") or job.stats.extra.get("remote_stalled")
            truncated = broken_off and result.timings.get("first_sentence") is not None
            if not self._interrupted.is_set() and not truncated and not budget.exhausted:
                for sentence in rest:  # a cut-off fragment is not said
                    if self._hand_over(sentence, job.sentences, result, start, budget):
                        said_upto = len(raw)
            if budget.exhausted:
                result.cut = True
                job.stats.extra["cut_at_limit"] = 1
        except SpeakerError as exc:
            self.bus.emit(ErrorEvent(code=exc.code, message=exc.message, stage="llm"))
        except Exception as exc:  # the model failing must never take the speaker down
            log.exception("the language model failed")
            self.bus.emit(ErrorEvent(code="llm", message=str(exc), stage="llm"))
        finally:
            job.said = raw[:said_upto].strip()
            job.sentences.put(_END)

    def _hand_over(
        self,
        sentence: str,
        sentences: queue.Queue[object],
        result: TurnResult,
        start: float,
        budget: SpokenBudget | None = None,
    ) -> bool:
        """Queue a sentence for speech; False once the spoken-length limit refuses it."""
        text = speakable(sentence)
        if not text or not any(c.isalnum() for c in text):
            return True
        if budget is not None and not budget.admit(text):
            return False
        if "first_sentence" not in result.timings:
            result.timings["first_sentence"] = time.monotonic() - start
        self.bus.emit(SentenceReady(text=text))
        sentences.put(text)
        return True

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
    if result.mode:
        parts.append(f"mode {result.mode}" + (" (cut at its length limit)" if result.cut else ""))
    return ", ".join(parts) + f" | {result.transcript!r} -> {result.reply!r}"

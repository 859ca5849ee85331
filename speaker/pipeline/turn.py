"""The answering half of a turn: skill fast path, or LLM -> sentences -> TTS -> speaker, streamed.

The model's reply is written and voiced by its own threads (pipeline/reply.py) while this thread
plays it, so the first sentence is heard while the rest of the reply is still being written.
With a Dialog, each utterance is routed to a mode (its prompt, sampling and spoken-length limit)
and answered within the conversation; the reply comes from the local model or a LAN server
(CloudEdge).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from skills import SkillContext, SkillSet
from speaker.audio.chunk import AudioChunk
from speaker.audio.sinks import AudioSink
from speaker.dialog.session import Dialog, system_prompts_to_warm
from speaker.errors import SpeakerError
from speaker.events import (
    ConversationReset,
    ErrorEvent,
    EventBus,
    IntentMatched,
    ModeChosen,
    SentenceReady,
    TtsFirstAudio,
    TurnDone,
)
from speaker.llm.base import ChatMessage, ChatModel, GenerationOptions, GenerationStats
from speaker.llm.cloud_edge import CloudEdge
from speaker.pipeline.reply import END, Reply
from speaker.settings import LlmSettings
from speaker.text.transcript import as_written
from speaker.tts.base import SpeechSynthesizer

log = logging.getLogger(__name__)

SORRY = "Sorry, I couldn't come up with an answer."


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
        self._playing: Reply | None = None  # the reply being spoken (interrupt() stops it)

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
        for system in system_prompts_to_warm(self.dialog, self.llm_settings.system_prompt, languages):
            warm([system])

    def interrupt(self) -> None:
        """Stop talking now (barge-in, "stop"); safe from any thread."""
        self._interrupted.set()
        playing = self._playing
        if playing is not None:
            playing.stop.set()
        self.sink.stop()

    def prepare(self, transcript: str) -> Reply | None:
        """Start writing and voicing the answer to `transcript` before the turn (the user paused).

        Nothing is said and no event goes out until `respond` adopts it; `discard` drops it.
        Commands and skills are not prepared (they are quick, and act on the world).
        """
        if self.cloud is None:
            return None
        if self.dialog is None:
            job = Reply(self.messages(transcript), self.options(), transcript)
        else:
            plan = self.dialog.plan(transcript, tentative=True)
            if plan.reply is not None:
                return None
            job = Reply(list(plan.messages), plan.options or self.options(), transcript, plan)
        job.hold()
        job.start(self.cloud, self.tts, self.bus)
        return job

    @staticmethod
    def discard(job: Reply | None) -> None:
        """Drop a prepared reply: its threads stop at their next step, its events are forgotten."""
        if job is not None:
            job.drop()

    def respond(
        self,
        transcript: str,
        *,
        endpoint: float | None = None,
        mode: str | None = None,
        prepared: Reply | None = None,
    ) -> TurnResult:
        """Answer one utterance out loud. `endpoint` (time.monotonic) is when the user stopped;
        `mode` forces a dialog mode instead of routing; `prepared` is a reply started ahead
        (`prepare`), used when it answers the same request, dropped otherwise."""
        start = endpoint if endpoint is not None else time.monotonic()
        self._interrupted.clear()
        result = TurnResult(transcript=transcript)
        result.timings["transcript"] = time.monotonic() - start
        try:
            matched = self.skills.handle(transcript, self.skill_context)
            if matched is not None:
                self.discard(prepared)
                skill, reply = matched
                result.intent, result.action = reply.intent, reply.action
                self.bus.emit(IntentMatched(intent=reply.intent, skill=skill.name, slots=dict(reply.slots)))
                if reply.action and self.on_action is not None:
                    self.on_action(reply.action)
                if reply.text:
                    self._speak_all([reply.text], result, start)
            else:
                self._answer(transcript, result, start, mode, prepared)
        except SpeakerError as exc:
            self.bus.emit(ErrorEvent(code=exc.code, message=exc.message, stage=getattr(exc, "stage", "turn")))
            log.error("turn failed: %s", exc.message)
        finally:
            if prepared is not None and prepared is not self._playing:
                self.discard(prepared)
            if self._playing is not None:
                self._playing.stop.set()  # an error mid-reply: its threads end too
                self._playing = None
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
        return [
            ChatMessage("system", self.llm_settings.system_prompt),
            ChatMessage("user", as_written(transcript)),
        ]

    def options(self) -> GenerationOptions:
        s = self.llm_settings
        return GenerationOptions(s.max_tokens, s.temperature, s.top_p, s.repeat_penalty, s.seed)

    def _answer(
        self, transcript: str, result: TurnResult, start: float, mode: str | None, prepared: Reply | None
    ) -> None:
        if self.dialog is None:
            job = Reply(self.messages(transcript), self.options(), transcript)
            self._answer_with_llm(self._adopt(prepared, job), result, start)
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
        job = Reply(list(plan.messages), plan.options or self.options(), transcript, plan)
        job = self._adopt(prepared, job)
        self._answer_with_llm(job, result, start)
        self.dialog.remember(plan, result.reply if self._interrupted.is_set() else job.said)

    def _adopt(self, prepared: Reply | None, job: Reply) -> Reply:
        """The prepared reply when it answers the same request (and still runs); else `job`."""
        if prepared is None or prepared.stop.is_set() or not prepared.same_request(job.messages, job.options):
            return job
        prepared.plan = job.plan or prepared.plan
        return prepared

    def _answer_with_llm(self, job: Reply, result: TurnResult, start: float) -> None:
        if self.cloud is None:
            raise SpeakerError("no language model is configured for questions", code="llm")
        result.llm = job.stats
        self._playing = job
        if job.held is None:
            job.start(self.cloud, self.tts, self.bus)
        else:  # prepared ahead: what it held back goes out now, before anything newer
            job.release()
            result.timings["prepared"] = start - job.created
        spoken = self._play(job, result, start)
        for name, at in job.times.items():
            result.timings[name] = at - start
        result.cut = job.cut
        if not spoken and not self._interrupted.is_set() and not job.stop.is_set():
            self._speak_all([SORRY], result, start)  # (a reply stopped by a failing voice stays silent)

    def _play(self, job: Reply, result: TurnResult, start: float) -> int:
        """Play the reply's audio as it is voiced; returns how many sentences were said."""
        spoken = 0
        while (item := job.audio.get()) is not END:
            if self._interrupted.is_set() or job.stop.is_set():
                job.stop.set()
                continue  # drain until the voicer stops
            if isinstance(item, str):
                result.reply = f"{result.reply} {item}".strip()
                spoken += 1
                continue
            self._play_chunk(item, result, start)  # type: ignore[arg-type]
        return spoken

    def _speak_all(self, texts: list[str], result: TurnResult, start: float) -> None:
        for text in texts:
            self.bus.emit(SentenceReady(text=text))
            for chunk in self.tts.synthesize(text):
                if self._interrupted.is_set():
                    return
                self._play_chunk(chunk, result, start)
            result.reply = f"{result.reply} {text}".strip()

    def _play_chunk(self, chunk: AudioChunk, result: TurnResult, start: float) -> None:
        if "first_audio" not in result.timings:
            result.timings["first_audio"] = time.monotonic() - start
            self.bus.emit(TtsFirstAudio())
        self.sink.play(chunk)
        result.audio_seconds += chunk.duration


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

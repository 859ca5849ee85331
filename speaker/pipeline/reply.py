"""One reply from the language model, written and voiced by two threads while the turn plays it.

A writer thread streams the model's text and cuts it into sentences; a voicer thread turns each
sentence into audio; the turn (pipeline/turn.py) plays the audio as it comes. A reply may be
prepared before its turn starts (the user paused): it is then written and voiced ahead with its
events held back, and either adopted by the turn (the final transcript asks the same) or dropped.

Writing and voicing take turns instead of running side by side: while a sentence waits to be
synthesized or is being synthesized, the writer waits before its next token. Each then has every
core (speech synthesis runs on two threads), and the model's threads, which wait for each other at
every step, are not slowed by a neighbour. Both are many times faster than speech, so taking turns
costs the listener nothing, and the first words come out sooner (measured with `speaker bench`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from speaker.dialog.session import TurnPlan
from speaker.errors import SpeakerError
from speaker.events import ErrorEvent, Event, EventBus, LlmFirstToken, SentenceReady
from speaker.llm.base import ChatMessage, GenerationOptions, GenerationStats
from speaker.llm.cloud_edge import CloudEdge
from speaker.text.length import SpokenBudget
from speaker.text.sentences import SentenceSplitter
from speaker.text.speakable import speakable
from speaker.tts.base import SpeechSynthesizer

log = logging.getLogger(__name__)

END = object()  # the last item of a reply's queues
# The model waits at most this long for a sentence to be synthesized (a safety net: a sentence
# takes a fraction of a second).
VOICE_WAIT = 3.0


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


@dataclass
class Reply:
    """What the model is asked, and what comes back: sentences, then audio (see the module doc)."""

    messages: list[ChatMessage]
    options: GenerationOptions
    transcript: str
    plan: TurnPlan | None = None
    stats: GenerationStats = field(default_factory=GenerationStats)
    sentences: queue.Queue[object] = field(default_factory=queue.Queue)
    audio: queue.Queue[object] = field(default_factory=queue.Queue)  # AudioChunk, str (said), END
    said: str = ""  # the model's text up to the last sentence handed to speech
    cut: bool = False  # the reply was cut at the mode's spoken-length limit
    stop: threading.Event = field(default_factory=threading.Event)
    first_voiced: threading.Event = field(default_factory=threading.Event)
    voice_idle: threading.Event = field(default_factory=_set_event)  # clear while sentences wait
    unvoiced: int = 0  # sentences handed to the voicer and not synthesized yet
    created: float = field(default_factory=time.monotonic)
    times: dict[str, float] = field(default_factory=dict)  # time.monotonic() of first token, sentence
    held: list[Event] | None = None  # events kept back until adopted (None: they go out at once)
    lock: threading.Lock = field(default_factory=threading.Lock)
    bus: EventBus | None = None

    def same_request(self, messages: list[ChatMessage], options: GenerationOptions) -> bool:
        return self.messages == messages and self.options == options

    def start(self, cloud: CloudEdge, tts: SpeechSynthesizer, bus: EventBus) -> None:
        """Start writing and voicing (events go to `bus`, or are held while `held` is a list)."""
        self.bus = bus
        threading.Thread(target=self._write, args=(cloud,), name="llm-writer", daemon=True).start()
        threading.Thread(target=self._voice, args=(tts,), name="voicer", daemon=True).start()

    def hold(self) -> None:
        """Keep events back from now on (a prepared reply, until `release` or `drop`)."""
        self.held = []

    def release(self) -> None:
        """Send the events held back, in order, and every later one at once."""
        with self.lock:
            for event in self.held or []:
                if self.bus is not None:
                    self.bus.emit(event)
            self.held = None

    def drop(self) -> None:
        """Stop writing and voicing at the next step; held events are forgotten."""
        with self.lock:
            self.held = None if self.held is None else []
        self.stop.set()

    def emit(self, event: Event) -> None:
        with self.lock:
            if self.held is not None:
                self.held.append(event)
                return
        if self.bus is not None:
            self.bus.emit(event)

    def _write(self, cloud: CloudEdge) -> None:
        """Writer thread: stream the model's reply and hand over each sentence once complete.

        Sentences are admitted until the mode's spoken-length limit. The model's own text up to
        the last sentence handed over becomes `said` (what the conversation remembers).
        """
        splitter = SentenceSplitter(quick_first=True)
        budget = SpokenBudget(self.plan.spoken_limit_s if self.plan else None)
        raw, said_upto = "", 0
        try:
            mode = self.plan.mode if self.plan else None
            pieces = cloud.stream(
                self.messages, self.options, self.stats, text=self.transcript, mode=mode, emit=self.emit
            )
            for piece in pieces:
                raw += piece
                if "llm_first_token" not in self.times:
                    self.times["llm_first_token"] = time.monotonic()
                    self.emit(LlmFirstToken())
                batch = splitter.feed(piece)
                for sentence, end in zip(
                    batch, splitter.ends[len(splitter.ends) - len(batch) :], strict=True
                ):
                    if not self._hand_over(sentence, budget):
                        break
                    said_upto = end
                if self.stop.is_set() or budget.exhausted:
                    pieces.close()
                    break
                self._wait_for_voice()
            rest = splitter.flush()
            broken_off = self.stats.extra.get("truncated") or self.stats.extra.get("remote_stalled")
            truncated = broken_off and self.times.get("first_sentence") is not None
            if not self.stop.is_set() and not truncated and not budget.exhausted:
                for sentence in rest:  # a cut-off fragment is not said
                    if self._hand_over(sentence, budget):
                        said_upto = len(raw)
            if budget.exhausted:
                self.cut = True
                self.stats.extra["cut_at_limit"] = 1
        except SpeakerError as exc:
            self.emit(ErrorEvent(code=exc.code, message=exc.message, stage="llm"))
        except Exception as exc:  # the model failing must never take the speaker down
            log.exception("the language model failed")
            self.emit(ErrorEvent(code="llm", message=str(exc), stage="llm"))
        finally:
            self.said = raw[:said_upto].strip()
            self.sentences.put(END)

    def _wait_for_voice(self) -> None:
        """Let the voice have the cores while it has sentences (see the module doc)."""
        if not self.voice_idle.is_set():
            paused = time.monotonic()
            self.voice_idle.wait(VOICE_WAIT)
            self.stats.paused_seconds += time.monotonic() - paused

    def _hand_over(self, sentence: str, budget: SpokenBudget) -> bool:
        """Queue a sentence for speech; False once the spoken-length limit refuses it."""
        text = speakable(sentence)
        if not text or not any(c.isalnum() for c in text):
            return True
        if not budget.admit(text):
            return False
        self.times.setdefault("first_sentence", time.monotonic())
        self.emit(SentenceReady(text=text))
        with self.lock:
            self.unvoiced += 1
            self.voice_idle.clear()
        self.sentences.put(text)
        return True

    def _voice(self, tts: SpeechSynthesizer) -> None:
        """Voicer thread: each sentence into audio, ahead of playback."""
        try:
            while (item := self.sentences.get()) is not END:
                try:
                    if self.stop.is_set():
                        continue  # drain until the writer stops
                    for chunk in tts.synthesize(str(item)):
                        if self.stop.is_set():
                            break
                        self.audio.put(chunk)
                finally:
                    with self.lock:
                        self.unvoiced -= 1
                        if self.unvoiced <= 0:
                            self.voice_idle.set()
                self.audio.put(str(item))
                self.first_voiced.set()
        except SpeakerError as exc:
            self.stop.set()
            self.emit(ErrorEvent(code=exc.code, message=exc.message, stage="tts"))
        except Exception as exc:  # a voice failing must not take the speaker down
            log.exception("speech synthesis failed")
            self.stop.set()
            self.emit(ErrorEvent(code="tts", message=str(exc), stage="tts"))
        finally:
            self.first_voiced.set()
            self.voice_idle.set()
            self.audio.put(END)

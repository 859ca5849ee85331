"""Typed events of the voice loop, and the one bus every listener (log, JSONL, MQTT, bench) hangs on.

Each event is stamped when emitted with `wall` (seconds since the run started, monotonic clock)
and `audio` (seconds of input audio consumed at that moment).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Event:
    name: ClassVar[str] = "event"
    wall: float = -1.0
    audio: float = -1.0

    def to_dict(self) -> dict[str, Any]:
        data = {"event": self.name}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            data[f.name] = round(value, 4) if isinstance(value, float) else value
        return data


@dataclass(frozen=True, kw_only=True)
class Ready(Event):
    """Models are loaded and the loop is listening."""

    name: ClassVar[str] = "ready"
    input: str = ""


@dataclass(frozen=True, kw_only=True)
class Wake(Event):
    name: ClassVar[str] = "wake"
    phrase: str
    score: float = 0.0


@dataclass(frozen=True, kw_only=True)
class BargeIn(Event):
    """The wake word was heard over a reply: the reply stops and the request after it is listened to."""

    name: ClassVar[str] = "barge_in"
    phrase: str
    score: float = 0.0
    reply_seconds: float = 0.0  # input audio time from the start of the interrupted turn


@dataclass(frozen=True, kw_only=True)
class OwnVoiceIgnored(Event):
    """The microphone heard the wake phrase in the speaker's own playback; it did not wake."""

    name: ClassVar[str] = "own_voice"
    phrase: str
    score: float = 0.0
    count: int = 0  # own-voice detections dropped since the start


@dataclass(frozen=True, kw_only=True)
class SpeechStart(Event):
    name: ClassVar[str] = "speech_start"


@dataclass(frozen=True, kw_only=True)
class PartialTranscript(Event):
    name: ClassVar[str] = "partial_transcript"
    text: str


@dataclass(frozen=True, kw_only=True)
class SpeechEnd(Event):
    name: ClassVar[str] = "speech_end"
    last_voiced_audio: float  # input audio time of the last voiced frame
    last_voiced_wall: float  # when that frame reached the loop
    reason: str = "silence"  # silence | max_length


@dataclass(frozen=True, kw_only=True)
class NoSpeech(Event):
    """Woken, but nobody spoke before the timeout."""

    name: ClassVar[str] = "no_speech"


@dataclass(frozen=True, kw_only=True)
class Transcript(Event):
    name: ClassVar[str] = "transcript"
    text: str


@dataclass(frozen=True, kw_only=True)
class IntentMatched(Event):
    """A local skill answers this utterance without the LLM."""

    name: ClassVar[str] = "intent"
    intent: str
    skill: str
    slots: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ModeChosen(Event):
    """The dialog mode a turn is answered in, and why (before the language model starts)."""

    name: ClassVar[str] = "mode"
    mode: str
    confidence: float
    reason: str
    source: str = ""  # forced | explicit | command | classifier | follow_up | default
    language: str = "en"


@dataclass(frozen=True, kw_only=True)
class LlmModelChosen(Event):
    """Which model answers this turn (local or a remote server on the LAN), and why."""

    name: ClassVar[str] = "llm_model"
    source: str  # local | remote
    model: str
    reason: str
    fallback: bool = False  # the remote failed before its first token; the local model answers


@dataclass(frozen=True, kw_only=True)
class ConversationReset(Event):
    """The conversation was forgotten: idle too long, or the user asked for a new one."""

    name: ClassVar[str] = "conversation_reset"
    reason: str  # idle | command
    forgotten: int = 0  # exchanges forgotten


@dataclass(frozen=True, kw_only=True)
class FollowUpListening(Event):
    """After a reply the speaker listens without the wake word for a while."""

    name: ClassVar[str] = "follow_up"
    seconds: float


@dataclass(frozen=True, kw_only=True)
class LlmFirstToken(Event):
    name: ClassVar[str] = "llm_first_token"


@dataclass(frozen=True, kw_only=True)
class SentenceReady(Event):
    name: ClassVar[str] = "sentence"
    text: str


@dataclass(frozen=True, kw_only=True)
class TtsFirstAudio(Event):
    name: ClassVar[str] = "tts_first_audio"


@dataclass(frozen=True, kw_only=True)
class TurnDone(Event):
    name: ClassVar[str] = "turn_done"
    reply: str
    transcript: str = ""
    audio_seconds: float = 0.0  # length of the spoken reply
    interrupted: bool = False
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    llm: dict[str, float] = dataclasses.field(default_factory=dict)  # prompt/generated tokens, rates


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(Event):
    name: ClassVar[str] = "error"
    code: str
    message: str
    stage: str = ""


@dataclass(frozen=True, kw_only=True)
class DeviceLost(Event):
    """An audio device vanished or stopped delivering (USB unplugged): it is waited for."""

    name: ClassVar[str] = "device_lost"
    kind: str  # input | output
    device: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class DeviceBack(Event):
    """A lost audio device was opened again; the loop goes on without a restart."""

    name: ClassVar[str] = "device_back"
    kind: str  # input | output
    device: str
    down_seconds: float = 0.0


Listener = Callable[[Event], None]


class RunClock:
    """Wall time since the run started, and how much input audio the loop has consumed."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._audio = 0.0

    def wall(self) -> float:
        return time.monotonic() - self._start

    def to_wall(self, monotonic_time: float) -> float:
        return monotonic_time - self._start

    def audio(self) -> float:
        return self._audio

    def set_audio(self, seconds: float) -> None:
        self._audio = seconds


class EventBus:
    """Stamps events and hands them to every subscriber, in order, from any thread."""

    def __init__(self, clock: RunClock | None = None) -> None:
        self.clock = clock or RunClock()
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: Event) -> Event:
        with self._lock:
            stamped = dataclasses.replace(event, wall=self.clock.wall(), audio=self.clock.audio())
            for listener in list(self._listeners):
                try:
                    listener(stamped)
                except Exception:  # one broken listener must not stop the loop or the others
                    log.exception("event listener %r failed on %s", listener, stamped.name)
            return stamped


class JsonlEventWriter:
    """Writes one JSON object per event, flushed at once so a crash loses nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def open(self) -> JsonlEventWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        return self

    def __call__(self, event: Event) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class EventLog:
    """Keeps every event in memory: for tests, `speaker ask` and the benchmark."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


# Services beside the loop (MQTT, home devices, controls, timers) report here too.


@dataclass(frozen=True, kw_only=True)
class MqttConnected(Event):
    name: ClassVar[str] = "mqtt_connected"
    broker: str


@dataclass(frozen=True, kw_only=True)
class MqttDisconnected(Event):
    name: ClassVar[str] = "mqtt_disconnected"
    broker: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class DeviceCommand(Event):
    """A skill sent a command to a home device (published, or not when the broker is away)."""

    name: ClassVar[str] = "device_command"
    device: str
    command: str
    topic: str
    payload: str
    sent: bool = True


@dataclass(frozen=True, kw_only=True)
class ModeRequested(Event):
    """Someone asked for a dialog mode from outside a turn (Home Assistant's select)."""

    name: ClassVar[str] = "mode_requested"
    mode: str
    source: str = "homeassistant"


@dataclass(frozen=True, kw_only=True)
class ControlsChanged(Event):
    name: ClassVar[str] = "controls_changed"
    volume: int
    muted: bool
    source: str = ""  # voice | homeassistant | config


@dataclass(frozen=True, kw_only=True)
class TimerRang(Event):
    name: ClassVar[str] = "timer_rang"
    label: str
    seconds: float

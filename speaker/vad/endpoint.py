"""Endpointing as a pure, time-based state machine: fed (is_speech, seconds) per frame, no audio, no clock.

After `reset()` it waits for speech. Speech counts as started once `speech_start` seconds of voiced
frames fall within the last `start_window` seconds (so a click or a single noisy frame does not
start an utterance, but a flickering VAD inside real speech does not stop it from starting either).
The utterance then ends after `trailing_silence` seconds without a voiced frame, or when it has
lasted `max_utterance` seconds. If nothing starts within `no_speech_timeout`, it gives up.

With `pause` set (shorter than `trailing_silence`), a stretch of silence that long inside an
utterance is reported once (SpeechPaused) so the answer can be prepared while the endpoint is
still being waited for; a voiced frame after it is reported as SpeechResumed.

All times are offsets in seconds since `reset()`, measured by summing the frame durations fed,
so the loop maps them to input-audio time by adding the audio time at which it reset.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from speaker.settings import VadSettings

_EPS = 1e-9  # frame durations are summed as floats: 20 x 0.03 must count as 0.6


class EndpointState(Enum):
    WAITING = "waiting"  # no speech yet
    SPEAKING = "speaking"  # an utterance is in progress
    DONE = "done"  # ended or timed out; reset() to listen again


@dataclass(frozen=True)
class SpeechStarted:
    start: float  # offset of the first voiced frame that counted towards the start


@dataclass(frozen=True)
class SpeechEnded:
    reason: Literal["silence", "max_length"]
    start: float  # offset of the start of speech
    last_voiced_end: float  # offset of the end of the last voiced frame
    end: float  # offset at which the endpoint was decided


@dataclass(frozen=True)
class SpeechPaused:
    last_voiced_end: float  # offset of the end of the last voiced frame
    at: float  # offset at which the pause was long enough to report


@dataclass(frozen=True)
class SpeechResumed:
    at: float  # offset of the end of the voiced frame that ended the pause


@dataclass(frozen=True)
class NoSpeech:
    waited: float  # seconds listened without speech starting


EndpointResult = SpeechStarted | SpeechPaused | SpeechResumed | SpeechEnded | NoSpeech


class EndpointDetector:
    def __init__(
        self,
        speech_start: float = 0.09,
        trailing_silence: float = 0.6,
        max_utterance: float = 12.0,
        no_speech_timeout: float = 5.0,
        start_window: float = 0.3,
        pause: float | None = None,
    ) -> None:
        if min(speech_start, trailing_silence, max_utterance, no_speech_timeout) <= 0:
            raise ValueError("endpoint durations must all be positive")
        if start_window < speech_start:
            raise ValueError(
                f"start_window ({start_window}s) must be at least speech_start ({speech_start}s)"
            )
        self.speech_start = speech_start
        self.trailing_silence = trailing_silence
        self.max_utterance = max_utterance
        self.no_speech_timeout = no_speech_timeout
        self.start_window = start_window
        if pause is not None and not 0 < pause < trailing_silence:
            raise ValueError(f"pause ({pause}s) must be positive and shorter than trailing_silence")
        self.pause = pause
        self.reset()

    @classmethod
    def from_settings(cls, settings: VadSettings) -> EndpointDetector:
        speech_start = settings.speech_start_ms / 1000
        return cls(
            speech_start=speech_start,
            trailing_silence=settings.trailing_silence_ms / 1000,
            max_utterance=settings.max_utterance_s,
            no_speech_timeout=settings.no_speech_timeout_s,
            start_window=max(0.3, 2 * speech_start),
            pause=settings.prepare_after_ms / 1000 if settings.prepare_after_ms else None,
        )

    def reset(self) -> None:
        """Listen for a new utterance; offsets count from here."""
        self.state = EndpointState.WAITING
        self.elapsed = 0.0
        self.speech_started_at: float | None = None
        self.last_voiced_end: float | None = None
        self._window: deque[tuple[float, float]] = deque()  # (start, end) of recent voiced frames
        self._voiced_in_window = 0.0
        self.paused = False  # a SpeechPaused was reported and no voice came since

    def process(self, is_speech: bool, seconds: float) -> EndpointResult | None:
        """One frame: its VAD decision and its duration. A result when the state changes, else None.

        Once DONE, frames are ignored (None) until `reset()`.
        """
        if seconds <= 0:
            raise ValueError(f"frame duration must be positive, got {seconds}")
        if self.state is EndpointState.DONE:
            return None
        start, self.elapsed = self.elapsed, self.elapsed + seconds
        if is_speech:
            self.last_voiced_end = self.elapsed
        if self.state is EndpointState.WAITING:
            return self._waiting(is_speech, start)
        return self._speaking(is_speech)

    def _waiting(self, is_speech: bool, start: float) -> EndpointResult | None:
        if is_speech:
            self._window.append((start, self.elapsed))
            self._voiced_in_window += self.elapsed - start
        while self._window and self._window[0][0] < self.elapsed - self.start_window - _EPS:
            old_start, old_end = self._window.popleft()
            self._voiced_in_window -= old_end - old_start
        if self._window and self._voiced_in_window >= self.speech_start - _EPS:
            self.state = EndpointState.SPEAKING
            self.speech_started_at = self._window[0][0]
            self._window.clear()
            return SpeechStarted(self.speech_started_at)
        if self.elapsed >= self.no_speech_timeout - _EPS:
            self.state = EndpointState.DONE
            return NoSpeech(self.elapsed)
        return None

    def _speaking(self, is_speech: bool) -> EndpointResult | None:
        assert self.speech_started_at is not None and self.last_voiced_end is not None
        silence = self.elapsed - self.last_voiced_end
        if silence >= self.trailing_silence - _EPS:
            return self._end("silence")
        if self.elapsed - self.speech_started_at >= self.max_utterance - _EPS:
            return self._end("max_length")
        if is_speech and self.paused:
            self.paused = False
            return SpeechResumed(self.elapsed)
        if self.pause is not None and not self.paused and silence >= self.pause - _EPS:
            self.paused = True
            return SpeechPaused(self.last_voiced_end, self.elapsed)
        return None

    def _end(self, reason: Literal["silence", "max_length"]) -> SpeechEnded:
        assert self.speech_started_at is not None and self.last_voiced_end is not None
        self.state = EndpointState.DONE
        return SpeechEnded(reason, self.speech_started_at, self.last_voiced_end, self.elapsed)

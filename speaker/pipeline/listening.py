"""After the wake word: voice activity, endpointing and streaming recognition of one utterance.

When the speaker pauses (vad.prepare_after_ms of silence) the recognizer is finished there, so the
transcript is ready for an answer to be prepared before the endpoint is decided. If speech goes on,
a new recognition segment starts (with the silence heard since, so its first sound is not cut) and
the final transcript is the two segments' texts joined: the split falls at a pause, where a
phrase ends anyway.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from speaker.asr.base import RecognitionStream, SpeechRecognizer
from speaker.audio.chunk import AudioChunk
from speaker.settings import VadSettings
from speaker.vad.endpoint import (
    EndpointDetector,
    NoSpeech,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)
from speaker.vad.webrtc import WebRtcVad

PREROLL_SECONDS = 0.5  # audio kept from before speech starts, so the first syllable is not cut
# The wake phrase's last sound decays past where the detector says it ended; voice heard this soon
# after does not start the request (it still reaches the recognizer through the pre-roll).
WAKE_TAIL_SECONDS = 0.15


@dataclass
class ListenResult:
    partial: str | None = None
    started: bool = False
    ended: bool = False
    no_speech: bool = False
    reason: str = ""
    last_voiced_audio: float = 0.0  # input audio time at the end of the last voiced frame
    last_voiced_arrived: float = 0.0  # time.monotonic() when that frame reached the loop
    paused: str | None = None  # the speaker paused: the transcript so far (an answer may be prepared)
    resumed: bool = False  # speech went on after a pause: what was prepared is out of date


class Listener:
    """Feeds frames to the VAD, the endpoint state machine and (from speech start) the recognizer."""

    def __init__(self, vad: WebRtcVad, asr: SpeechRecognizer, settings: VadSettings) -> None:
        self.vad = vad
        self.asr = asr
        self.settings = settings
        self.endpoint = EndpointDetector.from_settings(settings)
        self._stream: RecognitionStream | None = None
        self._preroll: collections.deque[AudioChunk] = collections.deque()
        self._last_voiced_audio = 0.0
        self._last_voiced_arrived = 0.0
        self._ignore_until = 0.0
        self._quiet_needed = 0.0  # speech counts only after this much silence has been heard
        self._quiet_heard = 0.0
        self._settled: str | None = None  # the transcript up to the pause, while paused
        self._before = ""  # the transcript of the segments before the current one
        self._held: list[AudioChunk] = []  # frames heard during the pause, for the next segment

    def start(
        self, audio_time: float, *, no_speech_timeout: float | None = None, quiet_first: float = 0.0
    ) -> None:
        """Listen for one utterance from `audio_time`; give up after `no_speech_timeout` (default: vad's).

        `quiet_first`: speech already going on when listening starts is not the start of a request
        (after a reply: someone talked over the speaker); it counts once this much silence was heard.
        """
        self.endpoint.reset()
        self._quiet_needed, self._quiet_heard = quiet_first, 0.0
        self.endpoint.no_speech_timeout = no_speech_timeout or self.settings.no_speech_timeout_s
        self._stream = None
        self._preroll.clear()
        self._settled, self._before, self._held = None, "", []
        self._last_voiced_audio = audio_time
        self._ignore_until = audio_time + WAKE_TAIL_SECONDS

    def observe(self, frame: AudioChunk) -> None:
        """Before the wake word: the VAD keeps its estimate of the room's noise up to date."""
        self.vad.is_speech(frame)

    def feed(self, frame: AudioChunk, arrived: float) -> ListenResult:
        voiced = self.vad.is_speech(frame) and frame.timestamp >= self._ignore_until
        if self._quiet_needed > 0:
            self._quiet_heard = 0.0 if voiced else self._quiet_heard + frame.duration
            if self._quiet_heard < self._quiet_needed:
                voiced = False
            else:
                self._quiet_needed = 0.0
        if voiced:
            self._last_voiced_audio = frame.end
            self._last_voiced_arrived = arrived
        result = ListenResult()
        if self._stream is None:
            self._preroll.append(frame)
            while sum(f.duration for f in self._preroll) > PREROLL_SECONDS:
                self._preroll.popleft()
        elif self._settled is not None:
            self._held.append(frame)
        else:
            partial = self._stream.accept(frame)
            result.partial = self._joined(partial) if partial else None
        update = self.endpoint.process(voiced, frame.duration)
        if isinstance(update, SpeechPaused) and self._stream is not None:
            self._settled = self._joined(self._stream.finish())
            result.paused = self._settled
        elif isinstance(update, SpeechResumed) and self._settled is not None:
            result.resumed = True
            self._resume()
        elif isinstance(update, SpeechStarted):
            result.started = True
            self._stream = self.asr.start()
            for held in self._preroll:
                partial = self._stream.accept(held)
                result.partial = partial or result.partial
            self._preroll.clear()
        elif isinstance(update, NoSpeech):
            result.no_speech = True
        elif isinstance(update, SpeechEnded):
            result.ended = True
            result.reason = update.reason
        result.last_voiced_audio = self._last_voiced_audio
        result.last_voiced_arrived = self._last_voiced_arrived
        return result

    def _joined(self, text: str) -> str:
        return " ".join(part for part in (self._before, text.strip()) if part)

    def _resume(self) -> None:
        """Speech after a pause: a new segment, fed the pause's frames (they end in the new voice)."""
        self._before, self._settled = self._settled or "", None
        self._stream = self.asr.start()
        held, self._held = self._held, []
        for frame in held:
            self._stream.accept(frame)

    def finish(self) -> str:
        stream, self._stream = self._stream, None
        if self._settled is not None:  # ended during a pause: the transcript is the one settled on
            text, self._settled, self._held = self._settled, None, []
            return text
        return self._joined(stream.finish()) if stream is not None else self._before

    def cancel(self) -> None:
        if self._stream is not None and self._settled is None:
            self._stream.abandon()
        self._stream = None
        self._settled, self._before, self._held = None, "", []
        self._preroll.clear()

    def end_of_input(self) -> ListenResult | None:
        """The input stopped mid-utterance: end it there if speech had started."""
        if self._stream is None:
            return None
        return ListenResult(
            ended=True,
            reason="end_of_input",
            last_voiced_audio=self._last_voiced_audio,
            last_voiced_arrived=self._last_voiced_arrived,
        )

"""The interface every wake word engine implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from speaker.audio.chunk import AudioChunk, frames


@dataclass(frozen=True)
class Detection:
    phrase: str
    score: float  # engine-specific confidence; larger is surer
    end: float  # input audio time at which the phrase was heard
    phone_score: float | None = None  # the trained engine's phone check, when it ran (phones.py)


class WakeWordDetector(Protocol):
    phrase: str

    def load(self) -> None:
        """Load the model (slow); construction only stores settings."""

    def process(self, frame: AudioChunk) -> Detection | None:
        """Feed one 16 kHz mono frame; a Detection when the phrase has just been heard."""

    def reset(self) -> None:
        """Forget everything heard so far (after a detection, or after the speaker's own playback)."""


def detect_all(detector: WakeWordDetector, audio: AudioChunk, frame_samples: int = 480) -> list[Detection]:
    """Every detection in a 16 kHz mono recording, fed in the loop's frames; the detector starts
    afresh and is reset after each detection, as the voice loop does."""
    detector.reset()
    found = []
    for frame in frames(audio, frame_samples, bytearray()):
        detection = detector.process(frame)
        if detection is not None:
            found.append(detection)
            detector.reset()
    flush = getattr(detector, "flush", None)  # a detection that waits for audio after the phrase
    last = flush() if flush is not None else None
    return found + ([last] if last is not None else [])

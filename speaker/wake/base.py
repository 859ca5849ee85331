"""The interface every wake word engine implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from speaker.audio.chunk import AudioChunk


@dataclass(frozen=True)
class Detection:
    phrase: str
    score: float  # engine-specific confidence; larger is surer
    end: float  # input audio time at which the phrase was heard


class WakeWordDetector(Protocol):
    phrase: str

    def load(self) -> None:
        """Load the model (slow); construction only stores settings."""

    def process(self, frame: AudioChunk) -> Detection | None:
        """Feed one 16 kHz mono frame; a Detection when the phrase has just been heard."""

    def reset(self) -> None:
        """Forget everything heard so far (after a detection, or after the speaker's own playback)."""

"""The interface every speech synthesizer implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from speaker.audio.chunk import AudioChunk


class SpeechSynthesizer(Protocol):
    sample_rate: int

    def load(self) -> None:
        """Load the voice (slow); construction only stores settings."""

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        """Speak one sentence (or a few); chunks come as soon as each is ready."""

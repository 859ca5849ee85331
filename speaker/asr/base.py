"""The interface every speech recognizer implements."""

from __future__ import annotations

from typing import Protocol

from speaker.audio.chunk import AudioChunk


class RecognitionStream(Protocol):
    def accept(self, frame: AudioChunk) -> str | None:
        """Feed one 16 kHz mono frame; returns the partial transcript when it changed, else None."""

    def finish(self) -> str:
        """End of the utterance: the final transcript (empty when nothing was understood)."""

    def abandon(self) -> None:
        """Drop the utterance unfinished (the wake was false, the input ended, a new turn began)."""


class SpeechRecognizer(Protocol):
    language: str

    def load(self) -> None:
        """Load the model (slow); construction only stores settings."""

    def start(self) -> RecognitionStream:
        """Begin one utterance."""

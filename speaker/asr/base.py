"""The interface every speech recognizer implements."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from speaker.audio.chunk import AudioChunk
from speaker.errors import StageError

log = logging.getLogger(__name__)


class RecognitionStream(Protocol):
    def accept(self, frame: AudioChunk) -> str | None:
        """Feed one 16 kHz mono frame; returns the partial transcript when it changed, else None."""

    def finish(self) -> str:
        """End of the utterance: the final transcript (empty when nothing was understood)."""

    def abandon(self) -> None:
        """Drop the utterance unfinished (the wake was false, the input ended, a new turn began)."""


class Utterance:
    """What every recognition stream keeps: whether its utterance is still open, and when and what
    it last reported as a partial transcript."""

    def __init__(self) -> None:
        self._active = True
        self._since_partial = 0.0
        self._partial = ""

    def _check_open(self) -> None:
        if not self._active:
            raise StageError("asr", "this recognition stream is finished (or a newer one was started)")

    def _close(self) -> None:
        """The utterance ends here (`finish`); a second end is an error."""
        self._check_open()
        self._active = False

    def _partial_due(self, frame: AudioChunk, every: float, now: bool = False) -> bool:
        """True once `every` seconds of audio have come since the last partial (or `now`)."""
        self._since_partial += frame.duration
        if self._since_partial < every and not now:
            return False
        self._since_partial = 0.0
        return True

    def _changed(self, text: str) -> str | None:
        """`text` if it is a new partial transcript, else None."""
        if text and text != self._partial:
            self._partial = text
            return text
        return None


class SpeechRecognizer(Protocol):
    language: str

    def load(self) -> None:
        """Load the model (slow); construction only stores settings."""

    def start(self) -> RecognitionStream:
        """Begin one utterance."""


def usable_phrases(
    grammar: Iterable[str],
    words_of: Callable[[str], list[str]],
    known: Callable[[str], bool],
    vocabulary: str,
) -> list[str]:
    """The grammar's phrases (as `words_of` splits them into the model's words) whose words the
    model knows, each once; the others are left out with one warning, however many a device name
    with an unknown word spoils. `vocabulary` names what the words were looked up in."""
    usable, left_out, missing_words = [], [], set()
    for phrase in grammar:
        phrase_words = words_of(phrase)
        missing = [w for w in phrase_words if not known(w)]
        if missing:
            left_out.append(phrase)
            missing_words.update(missing)
        elif phrase_words:
            usable.append(" ".join(phrase_words))
    if left_out:
        log.warning(
            "%d grammar phrase(s) left out (e.g. %r): not in %s: %s",
            len(left_out), left_out[0], vocabulary, ", ".join(sorted(missing_words)),
        )  # fmt: skip
    return sorted(set(usable))

"""Streaming recognition with vosk (Kaldi), in any language a vosk model exists for.

Grammar biasing: vosk's grammar mode decodes a loop over the grammar's words (plus a garbage word),
so on its own it turns every sentence into grammar words. When a grammar is given, a grammar
recognizer runs beside the open one (about 3% of real time more here) and its result is taken only
when it is exactly one of the grammar phrases; speech outside the grammar comes out of it as word
salad or garbage words, which match no phrase, and the open result is used.

The recognizers are made once per `load()` and reset per utterance: making an open-vocabulary
recognizer costs ~70 ms here, a reset nothing. The model is shared with the vosk wake word when
both use the same directory (see `shared_model`).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from speaker.asr.base import Utterance, usable_phrases
from speaker.audio.chunk import AudioChunk, check_frame
from speaker.errors import ModelError, StageError

log = logging.getLogger(__name__)

PARTIAL_EVERY = 0.3  # seconds of audio between partial results (each one walks the lattice)
GARBAGE_WORDS = ("[unk]", "<UNK>", "<unk>", "<SPOKEN_NOISE>")  # what models call "anything else"
_NON_SPEECH = re.compile(r"^(\[.*\]|<.*>)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")

_models: weakref.WeakValueDictionary[Path, Any] = weakref.WeakValueDictionary()
_models_lock = threading.Lock()


def shared_model(model_dir: Path) -> Any:
    """One loaded `vosk.Model` per directory while anything holds it (a model is hundreds of MB)."""
    import vosk

    if not logging.getLogger("speaker").isEnabledFor(logging.DEBUG):
        vosk.SetLogLevel(-1)
    key = model_dir.resolve()
    with _models_lock:
        model = _models.get(key)
        if model is None:
            if not (key / "am").is_dir() and not (key / "final.mdl").is_file():
                raise ModelError(f"vosk model not found in {model_dir} (expected am/, conf/, graph/)")
            try:
                model = vosk.Model(str(key))
            except Exception as exc:  # vosk raises a bare Exception
                raise ModelError(f"cannot load the vosk model in {model_dir}: {exc}") from exc
            _models[key] = model
        return model


def in_vocabulary(model: Any, word: str) -> bool:
    return bool(model.vosk_model_find_word(word) >= 0)


def garbage_word(model: Any) -> str | None:
    """The model's word for unknown speech, if it has one ("[unk]" in most vosk models)."""
    return next((w for w in GARBAGE_WORDS if in_vocabulary(model, w)), None)


def clean(text: str) -> str:
    """Text without [unk], <UNK>, [noise]-style tokens."""
    return " ".join(w for w in text.split() if not _NON_SPEECH.match(w))


def result_text(raw: str) -> str:
    return str(json.loads(raw).get("text", ""))


class VoskRecognizer:
    def __init__(self, model_dir: Path | str, language: str, grammar: Sequence[str] = ()) -> None:
        self.model_dir = Path(model_dir)
        self.language = language
        self.grammar = tuple(grammar)
        self._model: Any = None
        self._open: Any = None
        self._grammar: Any = None
        self._phrases: frozenset[str] = frozenset()
        self._stream: VoskStream | None = None

    def load(self) -> None:
        import vosk

        self._model = shared_model(self.model_dir)
        self._open = vosk.KaldiRecognizer(self._model, 16000)
        self._grammar, self._phrases = self._grammar_recognizer()

    def update_grammar(self, grammar: Sequence[str]) -> None:
        """Bias toward new phrases from the next utterance on (built aside, then swapped in)."""
        self.grammar = tuple(grammar)
        if self._model is not None:
            self._grammar, self._phrases = self._grammar_recognizer()

    def _grammar_recognizer(self) -> tuple[Any, frozenset[str]]:
        import vosk

        phrases = self._usable_phrases()
        if not phrases:
            return None, frozenset()
        garbage = garbage_word(self._model)
        choices = [*phrases, garbage] if garbage else phrases
        recognizer = vosk.KaldiRecognizer(self._model, 16000, json.dumps(choices, ensure_ascii=False))
        return recognizer, frozenset(phrases)

    def _usable_phrases(self) -> list[str]:
        known = functools.lru_cache(maxsize=None)(lambda w: in_vocabulary(self._model, w))

        def words_of(phrase: str) -> list[str]:
            found = []
            for word in phrase.lower().split():
                # Chinese models write words apart ("客厅 的 灯"); a name typed as one string is split
                pieces = [word] if known(word) else segment(word, known) if _CJK.search(word) else None
                found.extend(pieces or [word])
            return found

        return usable_phrases(self.grammar, words_of, known, "the vosk vocabulary")

    def start(self) -> VoskStream:
        if self._open is None:
            raise StageError("asr", "the vosk recognizer is not loaded; call load() first")
        if self._stream is not None:
            self._stream.abandon()
        self._stream = VoskStream(self._open, self._grammar, self._phrases)
        return self._stream


class VoskStream(Utterance):
    """One utterance. vosk may end segments on its own (pauses): their texts are joined."""

    def __init__(self, open_rec: Any, grammar_rec: Any, phrases: frozenset[str]) -> None:
        super().__init__()
        self._recognizers = [r for r in (open_rec, grammar_rec) if r is not None]
        self._texts: list[list[str]] = [[] for _ in self._recognizers]
        self._phrases = phrases
        for recognizer in self._recognizers:
            recognizer.Reset()

    def accept(self, frame: AudioChunk) -> str | None:
        check_frame(frame, "asr")
        self._check_open()
        try:
            ended = [r.AcceptWaveform(frame.audio) for r in self._recognizers]
            for texts, recognizer, segment_ended in zip(self._texts, self._recognizers, ended, strict=True):
                if segment_ended:
                    texts.append(result_text(recognizer.Result()))
            if not self._partial_due(frame, PARTIAL_EVERY, now=ended[0]):
                return None
            current = "" if ended[0] else json.loads(self._recognizers[0].PartialResult())["partial"]
        except Exception as exc:
            raise StageError("asr", f"vosk failed on a frame: {exc}") from exc
        return self._changed(clean(" ".join((*self._texts[0], current))))

    def finish(self) -> str:
        self._close()
        try:
            # the grammar's final is the cheaper one (~15 ms vs 15-60 ms): when it is a command, done
            if len(self._recognizers) == 2:
                text = self._final(1)
                if text in self._phrases:  # garbage words included, so they match no phrase
                    return text
            return clean(self._final(0))
        except Exception as exc:
            raise StageError("asr", f"vosk failed at the end of the utterance: {exc}") from exc

    def _final(self, index: int) -> str:
        texts = [*self._texts[index], result_text(self._recognizers[index].FinalResult())]
        return " ".join(" ".join(texts).split())

    def abandon(self) -> None:
        self._active = False


def segment(text: str, known: Callable[[str], bool], longest: int = 8) -> list[str] | None:
    """`text` split into known words, longest match first ("客厅的灯" -> 客厅 的 灯); None if impossible."""
    if not text:
        return []
    for size in range(min(longest, len(text)), 0, -1):
        if known(text[:size]):
            rest = segment(text[size:], known, longest)
            if rest is not None:
                return [text[:size], *rest]
    return None

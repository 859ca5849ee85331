"""Wake word by vosk grammar spotting: works in any language a vosk model exists for.

The recognizer decodes a loop over the grammar [phrase, garbage word, fillers...]; a detection is
the phrase appearing as whole words in a partial or final result. Most vosk models have "[unk]" as
their garbage word; some (the small Korean model) have only a spoken-noise word that matches speech
poorly, so ordinary speech would come out as the phrase. Fillers, common words of the language,
give ordinary speech somewhere else to go: with the Korean list below, espeak-ng sentences
without the phrase stopped waking it while the phrase itself was still found (with 20 fillers
ordinary sentences woke it again). The model adapts to the speaker as it listens: cold, on the
first sentence it ever hears, it missed espeak-ng's "알렉사", so keep one instance listening.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from speaker.asr.vosk import garbage_word, in_vocabulary, shared_model
from speaker.audio.chunk import AudioChunk, check_frame
from speaker.errors import ModelError, StageError
from speaker.wake.base import Detection

log = logging.getLogger(__name__)

FILLERS: dict[str, tuple[str, ...]] = {
    "ko": tuple(
        "제 의 와 죠 가 지 뭐 요 다 네 내 이 그 저 는 을 를 에 도 고 서 하 어 아 오 우 "
        "으 예 나 너 우리 것 수 있 없 한 할 해 했 되 된 보 말 일 사람 때 거 좀 잘 더 안 "
        "못 또 왜 어디 무엇 누구 언제 여기 거기 네요 세요 이에요 예요 입니다 합니다 있어요 "
        "없어요 좋아 싫어 정말 진짜 그래 아니 응".split()
    ),
}


class VoskWakeWord:
    """`language` picks built-in `FILLERS` when `fillers` is not given; words not in the model are skipped."""

    def __init__(
        self,
        model_dir: Path | str,
        phrase: str,
        language: str = "",
        fillers: Sequence[str] | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.phrase = " ".join(phrase.lower().split())
        if not self.phrase:
            raise ValueError("the wake phrase must not be empty")
        self.language = language
        self.fillers = tuple(fillers) if fillers is not None else FILLERS.get(language.split("-")[0], ())
        self._model: Any = None  # held so that a recognizer loading the same directory shares it
        self._recognizer: Any = None
        self._fed = 0.0  # seconds of audio this recognizer has been given

    def load(self) -> None:
        import vosk

        model = self._model = shared_model(self.model_dir)
        missing = [w for w in self.phrase.split() if not in_vocabulary(model, w)]
        if missing:
            raise ModelError(
                f"wake phrase {self.phrase!r}: {', '.join(repr(w) for w in missing)} "
                f"not in the vocabulary of the vosk model in {self.model_dir}; choose other words"
            )
        phrase_words = set(self.phrase.split())
        fillers = [w for w in self.fillers if w not in phrase_words and in_vocabulary(model, w)]
        garbage = garbage_word(model)
        if garbage is None and not fillers:
            log.warning(
                "vosk model %s has no garbage word and no fillers: ordinary speech may wake it",
                self.model_dir,
            )
        grammar = [self.phrase, *([garbage] if garbage else []), *fillers]
        try:
            self._recognizer = vosk.KaldiRecognizer(model, 16000, json.dumps(grammar, ensure_ascii=False))
            self._recognizer.SetWords(True)  # word times: where the phrase really ended
            self._recognizer.SetPartialWords(True)
        except Exception as exc:
            raise ModelError(
                f"cannot build the wake grammar for the vosk model in {self.model_dir}: {exc}"
            ) from exc

    def process(self, frame: AudioChunk) -> Detection | None:
        check_frame(frame, "wake")
        recognizer = self._require_loaded()
        try:
            self._fed += frame.duration
            if recognizer.AcceptWaveform(frame.audio):
                result = json.loads(recognizer.Result())
                text, timed = result.get("text", ""), result.get("result", [])
            else:
                result = json.loads(recognizer.PartialResult())
                text, timed = result.get("partial", ""), result.get("partial_result", [])
        except Exception as exc:
            raise StageError("wake", f"vosk failed on a frame: {exc}") from exc
        if f" {self.phrase} " not in f" {text} ":
            return None
        recognizer.Reset()
        # vosk times words from the first sample this recognizer was ever fed (Reset keeps
        # counting), and reports a phrase a while after it ended: map its end to input time.
        last = self.phrase.split()[-1]
        ends = [float(w["end"]) for w in timed if w.get("word") == last and "end" in w]
        end = frame.end - max(0.0, self._fed - ends[-1]) if ends else frame.end
        return Detection(self.phrase, 1.0, end)

    def reset(self) -> None:
        self._require_loaded().Reset()

    def _require_loaded(self) -> Any:
        if self._recognizer is None:
            raise StageError("wake", "the vosk wake word detector is not loaded; call load() first")
        return self._recognizer

"""Wake word by pocketsphinx keyphrase search: no training, any phrase made of dictionary words.

The search runs the phrase's HMMs against a phone loop; a detection is reported when
p(phrase) / p(best phone sequence) reaches `threshold` (larger is stricter). `Detection.score` is
log10 of that ratio at its best, so it compares directly with log10(threshold). Measured on 15
varied piper renditions: "hey computer" scored 13 to 51; near misses ("my computer", "hey, come
here", "he computed") -21 to 15; ordinary sentences were never reported even at 1e-30. The live
cepstral mean needs a few seconds of audio to settle: the very first phrase scores lower.

Changing the threshold at run time (stricter while the speaker itself talks) rebuilds the keyphrase
search, which takes well under a millisecond and restarts listening.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from speaker.asr.pocketsphinx import find_model_files, new_decoder, words
from speaker.audio.chunk import AudioChunk, check_frame
from speaker.errors import ModelError, StageError
from speaker.wake.base import Detection

# kws_search.c reports a detection's probability as (phrase - phone loop - KWS_MAX), in log units
# shifted right by SENSCR_SHIFT; undo both to get the ratio the threshold is compared with.
_KWS_MAX = 1500
_SENSCR_SHIFT = 10
_FRAMES_PER_SECOND = 100  # pocketsphinx's feature frame rate (-frate)


class PocketsphinxWakeWord:
    def __init__(self, model_dir: Path | str, phrase: str = "hey computer", threshold: float = 1e-20) -> None:
        if threshold <= 0:
            raise ValueError(f"the keyphrase threshold must be positive, got {threshold}")
        self.model_dir = Path(model_dir)
        self.phrase = " ".join(words(phrase))
        if not self.phrase:
            raise ValueError(f"the wake phrase {phrase!r} has no words")
        self.threshold = threshold
        self._decoder: Any = None
        self._utterance_start: float | None = None  # audio time of the first frame since start_utt
        self._searches: dict[float, str] = {}
        self._log10_per_unit = 0.0

    def load(self) -> None:
        files = find_model_files(self.model_dir)
        decoder = new_decoder(files, keyphrase=self.phrase, kws_threshold=self.threshold, lm=None)
        missing = [w for w in self.phrase.split() if decoder.lookup_word(w) is None]
        if missing:
            raise ModelError(
                f"wake phrase {self.phrase!r}: {', '.join(repr(w) for w in missing)} "
                f"not in the pronunciation dictionary {files.dictionary}; choose other words"
            )
        self._log10_per_unit = (1 << _SENSCR_SHIFT) * math.log10(float(decoder.config["logbase"]))
        self._decoder = decoder
        self._searches = {self.threshold: decoder.current_search()}
        decoder.start_utt()

    def set_threshold(self, threshold: float) -> None:
        """Make spotting stricter (larger) or more lenient (smaller); listening restarts."""
        if threshold <= 0:
            raise ValueError(f"the keyphrase threshold must be positive, got {threshold}")
        self.threshold = threshold
        if self._decoder is None:
            return  # load() uses it
        decoder = self._decoder
        decoder.end_utt()
        if threshold not in self._searches:
            name = f"wake-{len(self._searches)}"
            decoder.config["kws_threshold"] = threshold  # read by the search when it is created
            decoder.add_keyphrase(name, self.phrase)
            self._searches[threshold] = name
        decoder.activate_search(self._searches[threshold])
        decoder.start_utt()
        self._utterance_start = None

    def process(self, frame: AudioChunk) -> Detection | None:
        check_frame(frame, "wake")
        decoder = self._require_loaded()
        if self._utterance_start is None:
            self._utterance_start = frame.timestamp
        try:
            decoder.process_raw(frame.audio, False, False)
            if decoder.hyp() is None:
                return None
            segments = list(decoder.seg())
            score = max((decoder.logmath.log(s.prob) for s in segments), default=-_KWS_MAX)
            decoder.end_utt()
            decoder.start_utt()
        except RuntimeError as exc:
            raise StageError("wake", f"pocketsphinx keyphrase search failed: {exc}") from exc
        # The search reports a detection some frames after the phrase ended (kws_delay); the
        # segment says where it really ended, so that the words right after it are not lost.
        end = frame.end
        if segments:
            end = min(frame.end, self._utterance_start + (segments[-1].end_frame + 1) / _FRAMES_PER_SECOND)
        self._utterance_start = None
        return Detection(self.phrase, (score + _KWS_MAX) * self._log10_per_unit, end)

    def reset(self) -> None:
        decoder = self._require_loaded()
        decoder.end_utt()
        decoder.start_utt()
        self._utterance_start = None

    def _require_loaded(self) -> Any:
        if self._decoder is None:
            raise StageError("wake", "the pocketsphinx wake word detector is not loaded; call load() first")
        return self._decoder

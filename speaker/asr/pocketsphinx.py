"""Streaming English recognition with pocketsphinx (the model ships inside its wheel).

Grammar biasing, as measured here. The open language model gets short commands wrong in ways that
matter ("turn off the kitchen light" -> "got off the kitchen like", "open the garage door" ->
"open the garage schwarzer"). A grammar-only search gets every in-grammar command right, but forces
everything else into the grammar too ("set the bedroom to twenty one degrees" -> "set a timer for
two minutes"). So when a grammar is given, a second, cheap decoder runs a JSGF search over the
grammar phrases alongside the language-model decoder, on the same frames (about 12-15% of the
LM decoder's CPU, ~300 phrases for ten devices included), and its result is taken only when it is
confident:

- it is a whole grammar phrase (the search reached the grammar's end, not a best partial path), and
- the open model finds it plausible too: it is among the LM decoder's `NBEST` best hypotheses, or
  its pronunciation is close to the LM's best one (phone-sequence similarity of at least
  `GRAMMAR_MIN_SIMILARITY`). Measured on piper speech: in-grammar commands scored 0.67-1.0 (and
  14 of 20 were in the 50-best), different sentences 0.0-0.58 (none in the 50-best); 0.7 keeps
  that margin, the n-best rescues commands the LM mangled badly. On 30 varied piper renditions
  of six commands: 30 right with the grammar, 3 with the open LM alone.

The price of any grammar: an utterance close to a phrase that is not in the grammar snaps to it
("set a timer for ten minutes" -> "... five minutes" when only "five" is in the grammar), so keep
the grammar complete (all numbers, all device names) rather than a few examples.

Adding the grammar words to the dictionary does nothing (they are in it already), and pocketsphinx
has no way to boost existing n-grams from Python, hence the parallel search.

The second pass (fwdflat) is off: it re-decodes the whole utterance at `end_utt`, which costs
50-130 ms at the endpoint for a word error rate 1.2 points better (18.6% vs 19.8%); without it
the final is ready within a few tens of ms of the last frame.
"""

from __future__ import annotations

import difflib
import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speaker.audio.chunk import AudioChunk, check_frame
from speaker.errors import ModelError, StageError

log = logging.getLogger(__name__)

GRAMMAR_MIN_SIMILARITY = 0.7
NBEST = 50
PARTIAL_EVERY = 0.3  # seconds of audio between partial hypotheses


@dataclass(frozen=True)
class PocketsphinxFiles:
    hmm: Path  # acoustic model directory (has mdef)
    dictionary: Path
    lm: Path | None


def find_model_files(model_dir: Path) -> PocketsphinxFiles:
    """The acoustic model, dictionary and LM in a pocketsphinx model directory (e.g. `model/en-us`)."""
    if not model_dir.is_dir():
        raise ModelError(f"pocketsphinx model directory not found: {model_dir}")
    candidates = [model_dir, *sorted(p for p in model_dir.iterdir() if p.is_dir())]
    hmm = next((p for p in candidates if (p / "mdef").is_file()), None)
    dictionaries = sorted(model_dir.glob("*.dict"))
    # word LMs only: en-us-phone.lm.bin is a phone LM for phonetic decoding
    lms = [
        p
        for p in sorted(model_dir.glob("*.lm.bin")) + sorted(model_dir.glob("*.lm"))
        if "phone" not in p.name
    ]
    if hmm is None or not dictionaries:
        raise ModelError(
            f"{model_dir} is not a pocketsphinx model: it needs an acoustic model directory "
            "(with mdef) and a .dict pronunciation dictionary"
        )
    return PocketsphinxFiles(hmm, dictionaries[0], lms[0] if lms else None)


def new_decoder(files: PocketsphinxFiles, **options: Any) -> Any:
    import pocketsphinx

    quiet = not logging.getLogger("speaker").isEnabledFor(logging.DEBUG)
    try:
        return pocketsphinx.Decoder(
            hmm=str(files.hmm),
            dict=str(files.dictionary),
            loglevel="FATAL" if quiet else "INFO",
            **options,
        )
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"cannot load the pocketsphinx model in {files.hmm.parent}: {exc}") from exc


def words(text: str) -> list[str]:
    """Lower-case words as the dictionary spells them (letters, digits, apostrophes)."""
    return re.sub(r"[^\w' ]+", " ", text.lower()).split()


class PocketsphinxRecognizer:
    """The open en-us language model, biased towards `grammar` phrases when given (see module doc)."""

    def __init__(self, model_dir: Path | str, grammar: Sequence[str] = (), language: str = "en") -> None:
        self.model_dir = Path(model_dir)
        self.grammar = tuple(grammar)
        self.language = language
        self._decoder: Any = None
        self._files: PocketsphinxFiles | None = None
        self._grammar_decoder: Any = None
        self._phrases: frozenset[str] = frozenset()
        self._stream: PocketsphinxStream | None = None

    def load(self) -> None:
        files = find_model_files(self.model_dir)
        if files.lm is None:
            raise ModelError(f"no language model (*.lm.bin) in {self.model_dir}")
        self._decoder = new_decoder(files, lm=str(files.lm), fwdflat=False)
        self._files = files
        self._grammar_decoder, self._phrases = self._grammar_search()

    def update_grammar(self, grammar: Sequence[str]) -> None:
        """Bias toward new phrases from the next utterance on; safe from another thread (the new
        search is built aside, then swapped in; the utterance in progress keeps the old one)."""
        self.grammar = tuple(grammar)
        if self._decoder is not None:
            self._grammar_decoder, self._phrases = self._grammar_search()

    def _grammar_search(self) -> tuple[Any, frozenset[str]]:
        if not self.grammar or self._files is None:
            return None, frozenset()
        # bestpath off: the lattice pass re-scores the grammar's paths at end_utt, which costs
        # ~150 ms with a few hundred phrases and picked a partial path more often, not less.
        decoder = new_decoder(self._files, lm=None, fwdflat=False, bestpath=False)
        phrases = self._usable_phrases(decoder)
        if not phrases:
            return None, frozenset()
        decoder.add_jsgf_string("grammar", jsgf(phrases))
        decoder.activate_search("grammar")
        return decoder, frozenset(phrases)

    def _usable_phrases(self, decoder: Any) -> list[str]:
        usable, left_out, missing_words = [], [], set()
        for phrase in self.grammar:
            phrase_words = words(phrase)
            missing = [w for w in phrase_words if decoder.lookup_word(w) is None]
            if missing:
                left_out.append(phrase)
                missing_words.update(missing)
            elif phrase_words:
                usable.append(" ".join(phrase_words))
        if left_out:  # one line, however many phrases a device name with an unknown word spoils
            log.warning(
                "%d grammar phrase(s) left out (e.g. %r): not in the dictionary: %s",
                len(left_out), left_out[0], ", ".join(sorted(missing_words)),
            )  # fmt: skip
        return sorted(set(usable))

    def start(self) -> PocketsphinxStream:
        if self._decoder is None:
            raise StageError("asr", "the pocketsphinx recognizer is not loaded; call load() first")
        if self._stream is not None:
            self._stream.abandon()
        self._stream = PocketsphinxStream(self)
        return self._stream

    def _choose(self, open_text: str, grammar_text: str, phrases: frozenset[str] | None = None) -> str:
        """The grammar's result when the open model finds it plausible too (see the module doc)."""
        if not open_text or grammar_text not in (self._phrases if phrases is None else phrases):
            return open_text
        similarity = self.phone_similarity(open_text, grammar_text)
        log.debug("grammar %r vs open %r: phone similarity %.2f", grammar_text, open_text, similarity)
        if similarity >= GRAMMAR_MIN_SIMILARITY:
            return grammar_text
        nbest = (h.hypstr for h in itertools.islice(self._decoder.nbest(), NBEST))
        return grammar_text if grammar_text in nbest else open_text

    def phone_similarity(self, a: str, b: str) -> float:
        pa, pb = self._phones(a), self._phones(b)
        return difflib.SequenceMatcher(a=pa, b=pb, autojunk=False).ratio() if pa or pb else 0.0

    def _phones(self, text: str) -> list[str]:
        phones: list[str] = []
        for word in text.split():
            pron = self._decoder.lookup_word(word)
            if pron:
                phones.extend(pron.split())
        return phones


def jsgf(phrases: Sequence[str]) -> str:
    """A JSGF grammar accepting exactly `phrases`, written as a word tree (shared prefixes once).

    A flat list of alternatives makes pocketsphinx search every phrase in parallel: with a few
    hundred phrases (every command x every device) `end_utt` took ~150 ms here; the tree takes ~4.
    """
    return f"#JSGF V1.0;\ngrammar speaker;\npublic <phrase> = {_tree([p.split() for p in phrases])} ;\n"


def _tree(sequences: list[list[str]]) -> str:
    branches: dict[str, list[list[str]]] = {}
    ends_here = False
    for sequence in sequences:
        if sequence:
            branches.setdefault(sequence[0], []).append(sequence[1:])
        else:
            ends_here = True
    alternatives = []
    for word, rests in branches.items():
        rest = _tree(rests)
        alternatives.append(f"{word} {rest}" if rest else word)
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "( " + " | ".join(alternatives) + " )"
    return f"[ {body} ]" if ends_here else body


class PocketsphinxStream:
    """One utterance: every frame goes to the decoder(s) as it arrives, so `finish` only wraps up."""

    def __init__(self, recognizer: PocketsphinxRecognizer) -> None:
        self._recognizer = recognizer
        self._decoders = [d for d in (recognizer._decoder, recognizer._grammar_decoder) if d is not None]
        self._phrases = recognizer._phrases  # the grammar this utterance is decoded with
        self._active = True
        self._since_partial = 0.0
        self._partial = ""
        try:
            for decoder in self._decoders:
                decoder.start_utt()
        except RuntimeError as exc:
            raise StageError("asr", f"pocketsphinx could not start an utterance: {exc}") from exc

    def accept(self, frame: AudioChunk) -> str | None:
        check_frame(frame, "asr")
        if not self._active:
            raise StageError("asr", "this recognition stream is finished (or a newer one was started)")
        try:
            for decoder in self._decoders:
                decoder.process_raw(frame.audio, False, False)
        except RuntimeError as exc:
            raise StageError("asr", f"pocketsphinx failed on a frame: {exc}") from exc
        self._since_partial += frame.duration
        if self._since_partial < PARTIAL_EVERY:
            return None
        self._since_partial = 0.0
        hyp = self._decoders[0].hyp()
        text = hyp.hypstr if hyp is not None else ""
        if text and text != self._partial:
            self._partial = text
            return text
        return None

    def finish(self) -> str:
        if not self._active:
            raise StageError("asr", "this recognition stream is finished (or a newer one was started)")
        self._active = False
        try:
            texts = []
            for decoder in self._decoders:
                decoder.end_utt()
                hyp = decoder.hyp()
                texts.append(hyp.hypstr if hyp is not None else "")
        except RuntimeError as exc:
            raise StageError("asr", f"pocketsphinx failed at the end of the utterance: {exc}") from exc
        if len(texts) == 1:
            return texts[0]
        return self._recognizer._choose(texts[0], texts[1], self._phrases)

    def abandon(self) -> None:
        """Drop this utterance unfinished (a newer stream takes the decoders)."""
        if self._active:
            self._active = False
            for decoder in self._decoders:
                try:
                    decoder.end_utt()
                except RuntimeError:
                    log.debug("end_utt on an abandoned stream failed", exc_info=True)

"""Streaming English recognition with pocketsphinx (the model ships inside its wheel).

Grammar biasing, as measured here. The open language model gets short commands wrong in ways that
matter ("turn off the kitchen light" -> "got off the kitchen like", "turn off the lights" -> "from
awful whites"), and worse on unfamiliar voices (espeak-ng: 33 of 176 commands right). A
grammar-only search gets nearly every in-grammar command right, but forces everything else into
the grammar too ("open the window" -> "open the garage door"). So when a grammar is given, a
second, cheap decoder searches the grammar alongside the language-model decoder, on the same
frames, and its result is taken when it is a whole grammar phrase.

What keeps other speech out is a garbage loop inside that search (`grammar_transitions`): from
any point of the phrase tree the rest of the utterance may be a free sequence of phones instead,
at a price per phone (`GARBAGE_PHONE`). Speech that is a command fits the command's words better
than the phone loop can pay for; speech that is not, or only starts like one ("turn off the
radio", "how much does a coffee machine cost"), leaves the tree where it stops fitting, the
result contains garbage words, and the open model's text is taken instead. The decision is made
on the acoustics alone, not on the open model's text, which is what it used to depend on (a
phone similarity to the LM's best hypothesis, or being in its 50-best): that rejected commands
the LM mangled, which were most of the misses (bench: 19 of 24).

Measured with the example home's grammar (10 devices, 293 phrases), decoded in sequence as on
a device (the live CMN carries over between utterances); commands right / other sentences that
came out as a grammar phrase:

| | before | after |
|---|---|---|
| `speaker bench mqtt` audio (piper joe, through the loop) | 19/24 | 24/24 (23 in one of 3 runs) |
| piper joe, 42 other commands, phrasings and device aliases | 38/42, 0/40 | 41/42, 0/40 |
| espeak-ng en-us+m3, +f3, en-gb+m2, en-us (44 commands each) | 33/176, 0/160 | 108/176, 0/160 |

The price per phone was chosen on the espeak-ng and piper sets (espeak-ng commands right of 176,
questions that became a phrase of 200, with a first version that had no garbage after a phrase's
end): 1/39 per phone 39 and 0, 1e-5 89 and 0, 1e-7 113 and 0, 1e-8 123 and 1, 1e-10 139 and 3
("I left the light on in the car" -> "mute the microphone"); 1e-7 keeps a margin on the side
that matters. The search costs 8% of real time on one core here (the LM decoder ~58%; without the garbage
loop 5%), and `end_utt` takes at most 6 ms of it.

A phrase may also follow up to `LEAD_IN` (2) stray phones, each at the garbage price, which are
dropped from the result: the tail of the wake word or a breath before the command ("hey
computer, turn off the kitchen light" came out as "or turn off the kitchen like" without them).

The price of any grammar: an utterance close to a phrase that is not in the grammar snaps to it
("set a timer for ten minutes" -> "... five minutes" when only "five" is in the grammar), so keep
the grammar complete (all numbers, all device names) rather than a few examples.

Adding the grammar words to the dictionary does nothing (they are in it already), and pocketsphinx
has no way to boost existing n-grams from Python, hence the parallel search. The open model's
misses are mostly the first word, and they shift with the live cepstral mean carried over from
the utterance before (batch CMN over the whole utterance fixes some and breaks others).

The second pass (fwdflat) is off: it re-decodes the whole utterance at `end_utt`, which costs
50-130 ms at the endpoint for a word error rate 1.2 points better (18.6% vs 19.8%); without it
the final is ready within a few tens of ms of the last frame.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speaker.asr.base import Utterance, usable_phrases
from speaker.audio.chunk import AudioChunk, check_frame
from speaker.errors import ModelError, StageError

log = logging.getLogger(__name__)

GARBAGE_ENTRY = 1e-3  # the probability of leaving the grammar for the garbage loop (see module doc)
GARBAGE_PHONE = 1e-7  # the probability of each further phone in it
LEAD_IN = 2  # stray phones a phrase may follow (see grammar_transitions)
GARBAGE_PREFIX = "garbage-"  # the garbage words: one per phone of the model
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
        garbage = []
        for phone in dictionary_phones(self._files.dictionary):
            word = GARBAGE_PREFIX + phone.lower()
            decoder.add_word(word, phone, False)
            garbage.append(word)
        fsg = decoder.create_fsg("grammar", 0, 1, grammar_transitions(phrases, garbage))
        decoder.add_fsg("grammar", fsg)
        decoder.activate_search("grammar")
        return decoder, frozenset(phrases)

    def _usable_phrases(self, decoder: Any) -> list[str]:
        return usable_phrases(
            self.grammar, words, lambda w: decoder.lookup_word(w) is not None, "the dictionary"
        )

    def start(self) -> PocketsphinxStream:
        if self._decoder is None:
            raise StageError("asr", "the pocketsphinx recognizer is not loaded; call load() first")
        if self._stream is not None:
            self._stream.abandon()
        self._stream = PocketsphinxStream(self)
        return self._stream

    def _choose(self, open_text: str, grammar_text: str, phrases: frozenset[str] | None = None) -> str:
        """The grammar's result when it is a whole phrase, not garbage (see the module doc)."""
        spoken = grammar_text.split()
        while spoken and spoken[0].startswith(GARBAGE_PREFIX):  # stray phones before the phrase
            spoken.pop(0)
        grammar_text = " ".join(spoken)
        if not open_text or grammar_text not in (self._phrases if phrases is None else phrases):
            return open_text
        return grammar_text


def grammar_transitions(
    phrases: Sequence[str], garbage: Sequence[str], entry: float = GARBAGE_ENTRY, each: float = GARBAGE_PHONE
) -> list[tuple[Any, ...]]:
    """The grammar as finite-state transitions, for `Decoder.create_fsg` (start state 0, final 1).

    The phrases form a word tree (shared prefixes once: a flat list of a few hundred phrases made
    `end_utt` take ~150 ms here, the tree ~4). From every point of the tree, its root and the ends
    of phrases included, the rest of the utterance may instead be a loop of `garbage` words (one
    phone each), entered with probability `entry`: speech that starts like a command and goes on
    differently ("open the window", "stop talking to me") ends in garbage instead of being forced
    into the closest phrase ("open the garage door", "stop"), and so does speech nothing like a
    command.
    """
    final, loop = 1, 2
    transitions: list[tuple[Any, ...]] = []
    children: dict[tuple[int, str], int] = {}
    ends: set[int] = set()
    for phrase in phrases:
        state = 0
        for word in phrase.split():
            child = children.get((state, word))
            if child is None:
                child = children[(state, word)] = len(children) + 3
                transitions.append((state, child, 1.0, word))
            state = child
        ends.add(state)
    transitions.extend((state, final, 1.0) for state in sorted(ends))
    transitions.extend((state, loop, entry) for state in [0, *sorted(children.values())])
    transitions.extend((loop, loop, each, word) for word in garbage)
    transitions.append((loop, final, 1.0))
    # A phrase may follow up to LEAD_IN stray phones (the tail of the wake word, a breath: "...ter,
    # turn off the kitchen light" was heard as "or turn off ..."), each at the garbage price.
    firsts = [(word, child) for (state, word), child in children.items() if state == 0]
    before = 0
    for lead in range(len(children) + 3, len(children) + 3 + LEAD_IN):
        transitions.extend((before, lead, each, word) for word in garbage)
        transitions.extend((lead, child, 1.0, word) for word, child in firsts)
        before = lead
    return transitions


@functools.lru_cache(maxsize=4)
def dictionary_phones(dictionary: Path) -> tuple[str, ...]:
    """Every phone the pronunciation dictionary uses (the acoustic model's phone set)."""
    phones: set[str] = set()
    with dictionary.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            phones.update(line.split()[1:])
    return tuple(sorted(phones))


class PocketsphinxStream(Utterance):
    """One utterance: every frame goes to the decoder(s) as it arrives, so `finish` only wraps up."""

    def __init__(self, recognizer: PocketsphinxRecognizer) -> None:
        super().__init__()
        self._recognizer = recognizer
        self._decoders = [d for d in (recognizer._decoder, recognizer._grammar_decoder) if d is not None]
        self._phrases = recognizer._phrases  # the grammar this utterance is decoded with
        try:
            for decoder in self._decoders:
                decoder.start_utt()
        except RuntimeError as exc:
            raise StageError("asr", f"pocketsphinx could not start an utterance: {exc}") from exc

    def accept(self, frame: AudioChunk) -> str | None:
        check_frame(frame, "asr")
        self._check_open()
        try:
            for decoder in self._decoders:
                decoder.process_raw(frame.audio, False, False)
        except RuntimeError as exc:
            raise StageError("asr", f"pocketsphinx failed on a frame: {exc}") from exc
        if not self._partial_due(frame, PARTIAL_EVERY):
            return None
        hyp = self._decoders[0].hyp()
        return self._changed(hyp.hypstr if hyp is not None else "")

    def finish(self) -> str:
        self._close()
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

"""How long text takes to say, and a reply cut at a sentence boundary once it has said enough.

The estimate is deliberately simple and deterministic: about 2.6 English words a second (a
calm speaking voice, ~155 words a minute) and 4.5 Chinese characters a second. It decides
before synthesis, so a reply never starts a sentence it is not allowed to finish.
"""

from __future__ import annotations

import re

from speaker.text.sentences import split_sentences

WORDS_PER_SECOND = 2.6
HANZI_PER_SECOND = 4.5
_HANZI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SOFT_BREAKS = tuple(",;:，、；：—")
_WORD = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:['’.][A-Za-z0-9]+)*")


def spoken_seconds(text: str) -> float:
    """Estimated seconds to say `text` aloud (Chinese characters and other words mixed)."""
    hanzi = len(_HANZI.findall(text))
    words = len(_WORD.findall(_HANZI.sub(" ", text)))
    return hanzi / HANZI_PER_SECOND + words / WORDS_PER_SECOND


class SpokenBudget:
    """Admits sentences in order until the next one would pass `limit_s` seconds of speech.

    The first sentence is always admitted (a reply says something); after the first refusal
    every later sentence is refused too, so the reply ends at a sentence boundary. A long
    sentence handed over in parts (cut at a comma so speech could start) is finished first.
    """

    def __init__(self, limit_s: float | None) -> None:
        self.limit_s = limit_s
        self.used_s = 0.0
        self.admitted = 0
        self.exhausted = False
        self._mid_sentence = False  # the last part admitted ended at a comma, not a sentence end

    def admit(self, sentence: str) -> bool:
        if self.exhausted:
            return False
        seconds = spoken_seconds(sentence)
        over = self.limit_s is not None and self.used_s + seconds > self.limit_s
        if over and self.admitted and not self._mid_sentence:
            self.exhausted = True
            return False
        self.used_s += seconds
        self.admitted += 1
        self._mid_sentence = sentence.rstrip().endswith(_SOFT_BREAKS)
        return True


def cut_to_limit(text: str, limit_s: float | None) -> str:
    """`text` up to the last whole sentence that fits in `limit_s` seconds of speech."""
    budget = SpokenBudget(limit_s)
    kept = [s for s in split_sentences(text) if budget.admit(s)]
    joiner = "" if _HANZI.search(text) else " "
    return joiner.join(kept)

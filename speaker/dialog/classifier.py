"""A fast, deterministic classifier: each mode's cues (modes.yaml) found in an utterance, weighed.

English cues are whole words or phrases ("clean*" also matches cleaning; a lone "*" stands for
one to three words); Chinese cues are found anywhere ("*": up to six characters). Each cue
counts once. Everything is compiled when the classifier is built, so scoring an utterance is
a few hundred cheap searches, well under a millisecond (`speaker bench modes` measures it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from speaker.dialog.commands import normalize
from speaker.dialog.modes import ModeBook
from speaker.text.language import has_hanzi

_LATIN = re.compile(r"[a-z]")


@dataclass(frozen=True)
class ModeScore:
    mode: str
    score: float
    cues: tuple[str, ...]  # the cues found, strongest first


def _english_pattern(cue: str) -> re.Pattern[str]:
    parts = []
    for word in cue.lower().replace("’", "'").split():
        if word == "*":
            parts.append(r"\S+(?:\s+\S+){0,2}")
        elif word.endswith("*"):
            parts.append(re.escape(word[:-1]) + r"[\w']*")
        else:
            parts.append(re.escape(word))
    return re.compile(r"(?<![\w'])" + r"\s+".join(parts) + r"(?![\w'])")


def _chinese_pattern(cue: str) -> re.Pattern[str] | None:
    """A pattern for a cue with "*" in it; None for a plain cue (found as a substring)."""
    if "*" not in cue:
        return None
    return re.compile(".{0,6}?".join(re.escape(part) for part in cue.split("*")))


def _anchor(cue: str) -> str:
    """The cue's first word, which the utterance must hold for the cue to be searched at all;
    "clean*" gives the prefix "clean*". Skipping cues whose first word is absent keeps routing
    to a few dozen set lookups and a handful of searches."""
    first = cue.lower().replace("’", "'").split()[0]
    return "" if first == "*" else first  # "": no anchor, always searched


class CueClassifier:
    def __init__(self, book: ModeBook) -> None:
        self.modes = book.ids
        self._english: dict[str, list[tuple[str, float, re.Pattern[str], str]]] = {}
        self._chinese: dict[str, list[tuple[str, float, re.Pattern[str] | None]]] = {}
        for mode_id, spec in book.modes.items():
            english, chinese = [], []
            for groups in spec.cues.values():
                for weight, phrases in groups.items():
                    for phrase in phrases:
                        if has_hanzi(phrase):
                            chinese.append((phrase, weight, _chinese_pattern(phrase)))
                        elif phrase.strip():
                            english.append(
                                (phrase.strip(), weight, _english_pattern(phrase), _anchor(phrase))
                            )
            self._english[mode_id] = sorted(english, key=lambda c: -c[1])
            self._chinese[mode_id] = sorted(chinese, key=lambda c: -c[1])

    def scores(self, text: str) -> list[ModeScore]:
        """Every mode's score for `text`, highest first; ties keep the order of modes.yaml."""
        lowered = normalize(text)
        latin = _LATIN.search(lowered) is not None
        chinese = has_hanzi(lowered)
        words = set(lowered.split()) if latin else set()
        prefixes = {w[:n] + "*" for w in words for n in range(1, len(w) + 1)}
        results = []
        for mode_id in self.modes:
            found: dict[str, float] = {}
            if latin:
                for phrase, weight, pattern, anchor in self._english[mode_id]:
                    if anchor and anchor not in words and anchor not in prefixes:
                        continue
                    if phrase not in found and pattern.search(lowered):
                        found[phrase] = weight
            if chinese:
                for phrase, weight, wild in self._chinese[mode_id]:
                    hit = wild.search(lowered) is not None if wild else phrase in lowered
                    if hit and phrase not in found:
                        found[phrase] = weight
            results.append(ModeScore(mode_id, sum(found.values()), tuple(found)))
        order = {m: i for i, m in enumerate(self.modes)}
        return sorted(results, key=lambda s: (-s.score, order[s.mode]))

"""Split streamed text into sentences, handing each over the moment it is complete.

English ends a sentence at . ! ? followed by white space, so "3.5", "e.g." and "Dr. Smith" do
not end one (a period after a number or a known abbreviation waits for the next character or
word to decide); Chinese ends at 。！？；… and their full-width forms with no space needed.
A line break ends one too (lists, paragraphs), and "1." at the start of a list item does not.
A very long run with no end is cut at a comma so that speech can start.
"""

from __future__ import annotations

import re

# Titles are never the end of a sentence: "Dr. Jones", "St. Louis", "Mt. Everest".
TITLES = frozenset("mr mrs ms dr prof sr jr st mt vs fig no approx dept gen col lt sgt rev".split())
# These end a sentence only when a capitalized word follows: "apples, pears, etc. Then ...".
ABBREVIATIONS = frozenset("etc e.g i.e a.m p.m u.s u.k inc ltd corp co jan feb aug sept oct nov dec".split())
_CJK_END = "。！？；…｡！？"
_LATIN_END = ".!?"
_CLOSERS = "\"'”’)]}」』）》〉】"
_LATE_CLOSERS = "”’)]}」』）》〉】"
_SOFT_BREAKS = ",;:，、；：—"
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")
_LIST_NUMBER = re.compile(r"(?:^|\n|[:：]\s*)\s*\d{1,2}\.$")


class SentenceSplitter:
    """Feed text pieces as they stream; get back finished sentences."""

    def __init__(self, soft_limit: int = 120, first_soft_limit: int = 60) -> None:
        self.soft_limit = soft_limit  # cut at a comma past this many characters
        self.first_soft_limit = first_soft_limit  # sooner for the first sentence: it is waited for
        self._buffer = ""
        self._emitted = 0
        self._fed = 0  # characters fed so far
        self.ends: list[int] = []  # per sentence returned: how many characters fed it covers

    def feed(self, text: str) -> list[str]:
        self._fed += len(text)
        if not self._buffer and self._emitted:
            text = text.lstrip(_LATE_CLOSERS)  # a closing quote that came after the cut
        self._buffer += text
        out = []
        while (cut := self._find_cut()) is not None:
            sentence, rest = self._buffer[:cut].strip(), self._buffer[cut:]
            self._buffer = rest.lstrip(_LATE_CLOSERS)  # a closing quote that came after the cut
            if sentence:
                out.append(sentence)
                self.ends.append(self._fed - len(self._buffer))
                self._emitted += 1
        return out

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        if rest.strip(_CLOSERS):
            self._emitted += 1
            self.ends.append(self._fed)
            return [rest]
        return []

    def _find_cut(self) -> int | None:
        text = self._buffer
        for i, char in enumerate(text):
            if char == "\n":
                return i + 1
            if char in _CJK_END:
                return _after_closers(text, i + 1)
            if char in _LATIN_END:
                end = _after_closers(text, i + 1)
                if end >= len(text):
                    return None  # wait: the next character decides ("3." vs "3.5", "e." vs "e.g.")
                if not text[end].isspace():
                    continue
                if char == ".":
                    ends = self._period_ends_sentence(text[: i + 1], text[end:])
                    if ends is None:
                        return None  # wait for the next word
                    if not ends:
                        continue
                return end
        limit = self.first_soft_limit if self._emitted == 0 else self.soft_limit
        if len(text) > limit:
            cut = max(text.rfind(c, 0, len(text) - 1) for c in _SOFT_BREAKS)
            if cut > limit // 3:
                return cut + 1
        return None

    def _period_ends_sentence(self, before: str, after: str) -> bool | None:
        """Does the period at the end of `before` end the sentence? None: the next word decides."""
        if _LIST_NUMBER.search(before):
            return False  # "1. Boil water": a list number, not the end of a sentence
        match = _WORD_BEFORE.search(before)
        if not match:
            return True
        word = match.group(1).lower()
        if word in TITLES:
            return False
        if len(word) == 1 and word != "i" and match.group(1).isupper():
            return False  # an initial: "J. K. Rowling"
        if word in ABBREVIATIONS:
            following = after.lstrip()
            if not following:
                return None
            return following[0].isupper()
        return True


def _after_closers(text: str, index: int) -> int:
    while index < len(text) and (text[index] in _CLOSERS or text[index] in _LATIN_END + _CJK_END):
        index += 1
    return index


def split_sentences(text: str) -> list[str]:
    splitter = SentenceSplitter(soft_limit=10**9, first_soft_limit=10**9)
    return splitter.feed(text) + splitter.flush()

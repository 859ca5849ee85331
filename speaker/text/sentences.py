"""Split streamed text into sentences, handing each over the moment it is complete.

English ends a sentence at . ! ? followed by white space (so "3.5" and "e.g." do not end one);
Chinese ends at 。！？； with no space needed. A line break ends one too (lists, paragraphs).
A very long run with no end is cut at a comma so that speech can start.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt vs etc e.g i.e a.m p.m u.s u.k fig approx dept inc ltd corp".split()
)
_CJK_END = "。！？；…"
_LATIN_END = ".!?"
_CLOSERS = "\"'”’)]}」』）"
_SOFT_BREAKS = ",;:，、；：—"
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


class SentenceSplitter:
    """Feed text pieces as they stream; get back finished sentences."""

    def __init__(self, soft_limit: int = 120, first_soft_limit: int = 60) -> None:
        self.soft_limit = soft_limit  # cut at a comma past this many characters
        self.first_soft_limit = first_soft_limit  # sooner for the first sentence: it is waited for
        self._buffer = ""
        self._emitted = 0

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        out = []
        while (cut := self._find_cut()) is not None:
            sentence, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if sentence:
                out.append(sentence)
                self._emitted += 1
        return out

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        if rest:
            self._emitted += 1
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
                if text[end].isspace() and not self._is_abbreviation(text[: i + 1]):
                    return end
        limit = self.first_soft_limit if self._emitted == 0 else self.soft_limit
        if len(text) > limit:
            cut = max(text.rfind(c, 0, len(text) - 1) for c in _SOFT_BREAKS)
            if cut > limit // 3:
                return cut + 1
        return None

    @staticmethod
    def _is_abbreviation(text: str) -> bool:
        match = _WORD_BEFORE.search(text)
        if not match:
            return False
        word = match.group(1).lower()
        if word in ABBREVIATIONS:
            return True
        return len(word) == 1 and word != "i" and match.group(1).isupper()  # an initial: "J. K. Rowling"


def _after_closers(text: str, index: int) -> int:
    while index < len(text) and (text[index] in _CLOSERS or text[index] in _LATIN_END + _CJK_END):
        index += 1
    return index


def split_sentences(text: str) -> list[str]:
    splitter = SentenceSplitter(soft_limit=10**9, first_soft_limit=10**9)
    return splitter.feed(text) + splitter.flush()

"""Split streamed text into sentences, handing each over the moment it is complete.

English ends a sentence at . ! ? followed by white space, so "3.5", "e.g." and "Dr. Smith" do
not end one (a period after a number or a known abbreviation waits for the next character or
word to decide); Chinese ends at 。！？；… and their full-width forms with no space needed.
A line break ends one too (lists, paragraphs), and "1." at the start of a list item does not.
A very long run with no end is cut at a comma so that speech can start, and one with no comma
either is cut before a joining word ("and", "which", ...) or at a space once it reaches
`hard_limit`: speech synthesis needs memory in proportion to the length of what it says at once.

The first piece of a reply is what the listener waits for, so with `quick_first` it ends sooner:
at a comma once it has two words ("Of course, ..."), or before a word that opens a clause once it
has four ("The sky looks blue | because sunlight ..."). Shorter first pieces are written and
synthesized sooner; the rest of the sentence follows while the first piece plays.
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
# Words that open a clause: a first piece may end before one (and the clause follows).
_CLAUSE_OPENERS = "because which who whose where when while but although though since unless until whereas"


def _before_any(words: str) -> re.Pattern[str]:
    """A space, one of `words`, a space: where a piece may end (just before the word)."""
    return re.compile(r"\s(?:" + "|".join(words.split()) + r")\s", re.IGNORECASE)


_BEFORE_CLAUSE = _before_any(_CLAUSE_OPENERS)
# Where an over-long run with no comma may be cut: before one of these.
_JOINING_WORDS = _CLAUSE_OPENERS + " and or that before after as with for to"
_BEFORE_JOINING = _before_any(_JOINING_WORDS)
_LATIN_COMMA = re.compile(r"[,;:—]\s")
_CJK_COMMA = re.compile(r"[，、；：]")
QUICK_COMMA_WORDS = 2  # a first piece may end at a comma once it has this many words
QUICK_CLAUSE_WORDS = 4  # ... or before a clause opener once it has this many
QUICK_CJK_CHARS = 4  # Chinese (no spaces): characters before a comma


class SentenceSplitter:
    """Feed text pieces as they stream; get back finished sentences."""

    def __init__(
        self,
        soft_limit: int = 120,
        first_soft_limit: int = 60,
        *,
        hard_limit: int = 160,
        quick_first: bool = False,
    ) -> None:
        self.soft_limit = soft_limit  # cut at a comma past this many characters
        self.hard_limit = max(hard_limit, soft_limit)  # cut anyway (at a joining word or a space)
        self.first_soft_limit = first_soft_limit  # sooner for the first sentence: it is waited for
        self.quick_first = quick_first  # the first piece ends at its first comma or clause (above)
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
        quick = self._quick_cut(text) if self.quick_first and self._emitted == 0 else None
        for i, char in enumerate(text):
            if quick is not None and i >= quick:
                return quick
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
        if len(text) > self.hard_limit:
            head = text[: self.hard_limit]
            joins = [
                m.start() + 1 for m in _BEFORE_JOINING.finditer(head) if m.start() > self.hard_limit // 3
            ]
            if joins:
                return joins[-1]
            space = head.rfind(" ")
            return space + 1 if space > self.hard_limit // 3 else self.hard_limit
        return None

    @staticmethod
    def _quick_cut(text: str) -> int | None:
        """Where a reply's first piece may end early (see the module doc), if anywhere yet."""
        cuts = [
            m.end()
            for m in _LATIN_COMMA.finditer(text)
            if len(text[: m.start()].split()) >= QUICK_COMMA_WORDS
        ]
        cuts += [
            m.end() for m in _CJK_COMMA.finditer(text) if len(text[: m.start()].strip()) >= QUICK_CJK_CHARS
        ]
        cuts += [
            m.start() + 1
            for m in _BEFORE_CLAUSE.finditer(text)
            if len(text[: m.start()].split()) >= QUICK_CLAUSE_WORDS
        ]
        return min(cuts, default=None)

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
    splitter = SentenceSplitter(soft_limit=10**9, first_soft_limit=10**9, hard_limit=10**9)
    return splitter.feed(text) + splitter.flush()

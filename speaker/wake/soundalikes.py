"""Words that sound like a wake phrase's: near misses for training, and the rivals the phone check
weighs the phrase against (phones.py). From pocketsphinx's English pronunciation dictionary (words
one or two phones apart), and for "hey computer" a list written here."""

from __future__ import annotations

import functools

# Words that sound like those of "hey computer", beyond the dictionary's nearest.
HEY_COMPUTER_SOUNDS = (
    "he, they, a, okay, say, the, my",
    "compute, computed, computes, computing, commuter, commuters, commute, commutes, cooper, pewter, "
    "computation, competing, completed, composer, consumer, cucumber, company, compare, compass, "
    "compost, can pewter, come pewter, come here, come on, cam",
)
# English determiners: a word people say before any noun. With one of these in place of its first
# word, a phrase whose later words are everyday words is said all day ("his computer", "the
# computer"); the phone check weighs the phrase against those too.
DETERMINERS = (
    "a an the my your his her its our their this that these those some any no every each one another"
).split()


def sound_alike_swaps(phrase: str) -> tuple[list[str], list[list[str]], list[str]]:
    """The phrase's words, for each the words that sound like it (no homophones), and the first
    words a near miss may start with in its place."""
    words = phrase.lower().split()
    dictionary = _dictionary()
    swaps = [[w for w in similar_words(word) if dictionary.get(w) != dictionary.get(word)] for word in words]
    starts = list(swaps[0]) if words else []
    if phrase.lower() == "hey computer":
        for k, sounds in enumerate(HEY_COMPUTER_SOUNDS):
            swaps[k] = sorted(set(swaps[k]) | set(sounds.split(", ")))
        starts = [w for w in swaps[0] if w != "he"]  # "he computer" is too close to be a fair negative
    return words, swaps, starts


def rival_calls(phrase: str) -> list[str]:
    """What the phone check weighs the phrase against (phones.py): the phrase with a word after
    the first swapped for one that sounds like it, after the phrase's own first word or one like
    it ("hey computes", "he computed", "okay commuter"), and the phrase's later words after a
    determiner ("the computer", "his computer"); for a one-word phrase, the words that sound like
    it."""
    words, swaps, _ = sound_alike_swaps(phrase)
    if len(words) < 2:
        return sorted(set(swaps[0])) if words else []
    calls: set[str] = set()
    for k in range(1, len(words)):
        rest = [words[1:k] + [alt] + words[k + 1 :] for alt in swaps[k]]
        calls |= {" ".join([first, *r]) for first in [words[0], *swaps[0]] for r in rest}
    return sorted(calls | set(determiner_calls(phrase)))


def determiner_calls(phrase: str) -> list[str]:
    """The phrase's later words after each determiner ("his computer"), not after its own first
    word nor one said the same way; none for a one-word phrase (rival_calls)."""
    words = phrase.lower().split()
    if len(words) < 2:
        return []
    said_first = _dictionary().get(words[0])
    return [
        " ".join([determiner, *words[1:]])
        for determiner in DETERMINERS
        if determiner != words[0] and (said_first is None or _dictionary().get(determiner) != said_first)
    ]


def _edit_distance(a: list[str], b: list[str], limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


@functools.lru_cache(maxsize=1)
def _dictionary() -> dict[str, list[str]]:
    """Words and their phones from pocketsphinx's English dictionary; empty when it is not there."""
    try:
        import pocketsphinx
    except ImportError:
        return {}
    path = f"{pocketsphinx.get_model_path()}/en-us/cmudict-en-us.dict"
    words: dict[str, list[str]] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                word, *phones = line.split()
                if word.isalpha() and phones:
                    words.setdefault(word, phones)
    except OSError:
        return {}
    return words


def similar_words(phrase: str, per_word: int = 6) -> list[str]:
    """Words that sound like each word of the phrase (one or two phones apart), for near misses."""
    dictionary = _dictionary()
    found: list[str] = []
    for word in phrase.lower().split():
        phones = dictionary.get(word)
        if not phones:
            continue
        limit = 1 if len(phones) < 5 else 2
        scored = []
        for other, other_phones in dictionary.items():
            if len(other) < 3 or other == word or other.startswith(word) or word.startswith(other):
                continue
            d = _edit_distance(phones, other_phones, limit)
            if d <= limit:
                scored.append((d, len(other), other))
        found += [w for _, _, w in sorted(scored)[:per_word]]
    return found

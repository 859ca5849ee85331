"""A recognizer's transcript as a person would have typed it, for the language model.

Recognizers write lower case ("how do i boil an egg"); a small model shown that tends to answer
in lower case too. The first letter and the pronoun "I" are capitalized; nothing else changes
(names cannot be told from the words alone), and text in other scripts is left as it is.
"""

from __future__ import annotations

import re

_PRONOUN = re.compile(r"\bi(?=$|\s|'(?:m|ve|ll|d)\b)")


def as_written(transcript: str) -> str:
    text = _PRONOUN.sub("I", transcript.strip())
    return text[:1].upper() + text[1:]

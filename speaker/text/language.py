"""Which language an utterance is in, as far as the dialog needs to know: Chinese or not."""

from __future__ import annotations

import re

_HANZI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def has_hanzi(text: str) -> bool:
    return _HANZI.search(text) is not None


def detect_language(text: str) -> str:
    """ "zh" when the text holds Chinese characters, else "en"."""
    return "zh" if has_hanzi(text) else "en"

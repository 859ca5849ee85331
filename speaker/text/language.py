"""Which language an utterance is in, as far as the dialog needs to know: Chinese or not."""

from __future__ import annotations

import re

_HANZI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def has_hanzi(text: str) -> bool:
    return _HANZI.search(text) is not None


def detect_language(text: str) -> str:
    """ "zh" when the text holds Chinese characters, else "en"."""
    return "zh" if has_hanzi(text) else "en"


CHINESE_VOICES = ("cmn", "zh", "yue")  # espeak-ng voice names of Chinese (piper's zh_CN voices use cmn)
_CJK_PUNCT = str.maketrans({"。": ".", "，": ",", "！": "!", "？": "?", "；": ";", "：": ":", "、": ","})


def for_voice(text: str, voice_language: str) -> str:
    """What a voice for `voice_language` (an espeak-ng voice name) can say of `text`.

    A voice without Chinese would read each Chinese character as "Chinese letter". A sentence
    that is mostly Chinese is therefore not said at all (its leftovers would be gibberish); in
    a mostly English one, the few Chinese characters are left out.
    """
    if voice_language.lower().startswith(CHINESE_VOICES) or not has_hanzi(text):
        return text
    words = len(re.findall(r"[^\W\u3400-\u9fff\uf900-\ufaff]+", text))  # runs of other letters/digits
    if len(_HANZI.findall(text)) >= words:  # a character is about a syllable, a word one or two
        return ""
    kept = _HANZI.sub(" ", text).translate(_CJK_PUNCT)
    kept = re.sub(r"\s+([,.!?;:])", r"\1", " ".join(kept.split()))
    return kept if any(c.isalnum() for c in kept) else ""

"""Explicit requests the dialog obeys at once: switching modes and forgetting the conversation.

"switch to inspiration mode", "inspiration mode please", "切换到灵感模式" name a mode (by any of
its names in modes.yaml) anywhere in the utterance; what else was said is answered in that
mode. A mode's `requests` ("let's brainstorm", "我想聊聊天") and the forget commands ("forget
that", "new conversation", "重新开始") count only as the whole utterance, give or take words
like "please" or "吧": "I want to talk about black holes" is a question, not a request to chat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from speaker.dialog.modes import ModeBook

FORGET = {
    "en": (
        "forget that",
        "forget it",
        "forget everything",
        "forget what i said",
        "forget our conversation",
        "forget the conversation",
        "new conversation",
        "start a new conversation",
        "start over",
        "start again",
        "clear the conversation",
        "reset the conversation",
    ),
    "zh": (
        "忘掉刚才的",
        "忘了刚才的",
        "忘掉刚才说的",
        "忘了刚才说的",
        "忘记刚才的对话",
        "忘掉",
        "忘了",
        "新对话",
        "新的对话",
        "开始新的对话",
        "开始新对话",
        "重新开始",
        "清空对话",
    ),
}
_FILLERS_EN = re.compile(
    r"\b(?:please|ok|okay|hey|now|so|um|uh|well|just|right|again|then|and|thanks|thank you|"
    r"can you|could you|would you|a bit|a little|for a while|with me|for me|let's|lets|"
    r"i want to|i'd like to|i would like to|computer)\b"
)
_FILLERS_ZH = re.compile(r"请|吧|一下|好吗|好不好|可以吗|呀|啊|嘛|呢|吗|了|麻烦你|麻烦|现在|嗯|好的|那")
_PUNCT = re.compile(r"[^\w\s']+")
_SWITCH_VERBS_EN = r"(?:switch|change|go|move|get|come)(?:\s+back)?(?:\s+over)?\s+(?:to|into)"
_START_VERBS_EN = r"(?:use|enter|start|activate|try|turn\s+on|put\s+me\s+in|let's\s+do|let's\s+go\s+to)"
_SWITCH_VERBS_ZH = r"(?:切换到|切换成|切换至|切到|换到|换成|转到|进入|打开|开启|使用|用|来点|开始)"


@dataclass(frozen=True)
class Command:
    kind: Literal["switch", "forget"]
    mode: str | None  # the mode switched to
    phrase: str  # the words that made it a command
    rest: str  # what else was said, to be answered ("" when nothing)


def normalize(text: str) -> str:
    """Lower case, curly apostrophes straightened, punctuation dropped, spaces collapsed."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    return " ".join(_PUNCT.sub(" ", text).split())


def strip_fillers(text: str) -> str:
    """`text` (normalized) without polite and filler words, in either language."""
    text = _FILLERS_EN.sub(" ", text)
    text = _FILLERS_ZH.sub("", text)
    return " ".join(text.split()).replace(" '", "'")


def _alternation(phrases: list[str]) -> str:
    ordered = sorted({p.strip().lower() for p in phrases if p.strip()}, key=len, reverse=True)
    return "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in ordered)


class CommandFinder:
    """Compiled once from the mode book; `find` is a few regular expression searches."""

    def __init__(self, book: ModeBook) -> None:
        self._switch: list[tuple[str, re.Pattern[str]]] = []
        self._requests: dict[str, str] = {}
        for mode_id, spec in book.modes.items():
            en = _alternation([*spec.names.get("en", ()), mode_id.replace("_", " ")])
            zh = _alternation(list(spec.names.get("zh", ())))
            patterns = [
                rf"\b{_SWITCH_VERBS_EN}\s+(?:the\s+)?(?:{en})(?:\s+mode)?\b",
                rf"\b(?:{_START_VERBS_EN}\s+(?:the\s+)?)?(?:{en})\s+mode\b",
            ]
            if zh:
                patterns += [rf"{_SWITCH_VERBS_ZH}(?:{zh})(?:模式)?", rf"(?:{zh})模式"]
            self._switch.append((mode_id, re.compile("|".join(f"(?:{p})" for p in patterns))))
            for phrases in spec.requests.values():
                for phrase in phrases:
                    self._requests.setdefault(strip_fillers(normalize(phrase)), mode_id)
        self._forget = {strip_fillers(normalize(p)) for phrases in FORGET.values() for p in phrases}

    def find(self, text: str) -> Command | None:
        """The command in `text`, if it holds one."""
        whole = strip_fillers(normalize(text))
        if not whole:
            return None
        if whole in self._forget:
            return Command("forget", None, text.strip(), "")
        if whole in self._requests:
            return Command("switch", self._requests[whole], text.strip(), "")
        lowered = text.lower().replace("’", "'")  # same length as text: spans map back onto it
        for mode_id, pattern in self._switch:
            match = pattern.search(lowered)
            if match:
                rest = (text[: match.start()] + " " + text[match.end() :]).strip()
                if not strip_fillers(normalize(rest)):
                    rest = ""
                return Command("switch", mode_id, match.group(0), _tidy(rest))
        return None


def _tidy(rest: str) -> str:
    """What follows a switch phrase, without the joining words: "and give me..." -> "give me..."."""
    rest = re.sub(r"^[\s,.;:!?，。；：！？、]*(?:and|then|please|so|然后|并且|再|请)?[\s,，、]*", "", rest)
    return rest.strip()

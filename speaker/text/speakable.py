"""Turn model output into text that sounds right when spoken: no markdown, lists, emoji or URLs."""

from __future__ import annotations

import re
import unicodedata

_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.S)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^)]*)\)")
_URL = re.compile(r"\b(?:https?://|www\.)(\S+?)(?=[\s)\]]|[.,!?;:](?:\s|$)|$)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.M)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+", re.M)
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]{3,}\|?\s*$", re.M)
_SPACES = re.compile(r"[ \t]+")


def _domain(match: re.Match[str]) -> str:
    host = match.group(1).split("/")[0]
    host = host.removeprefix("www.")
    return host.replace(".", " dot ") if host else "a link"


def _is_emoji(char: str) -> bool:
    if char in "\u200d\ufe0f\u20e3":
        return True
    category = unicodedata.category(char)
    return category == "So" or (category == "Sk" and ord(char) >= 0x1F3FB) or 0x1F000 <= ord(char) <= 0x1FAFF


def speakable(text: str) -> str:
    """Markdown and other written-only marks removed; what remains reads naturally aloud."""
    text = _CODE_BLOCK.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(_domain, text)
    text = _TABLE_RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = text.replace("|", ", ")
    text = "".join(c for c in text if not _is_emoji(c))
    text = text.replace("&", " and ").replace("#", " ").replace("*", " ")
    return _SPACES.sub(" ", text).strip()

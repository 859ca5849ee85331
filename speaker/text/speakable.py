"""Turn model output into text that sounds right when spoken.

Markdown (emphasis, headings, lists, tables, quotes, links), code, emoji, URLs and e-mail
addresses are written-only: they are removed or said the way a person would say them.
English and Chinese text both pass through; symbols are spoken in the text's language.
"""

from __future__ import annotations

import re
import unicodedata

_CODE_BLOCK = re.compile(r"```.*?(```|$)|~~~.*?(~~~|$)", re.S)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^)]*)\)")
_URL = re.compile(r"\b(?:https?://|www\.)(\S+?)(?=[\s)\]，。！？]|[.,!?;:](?:\s|$)|$)")
_EMAIL = re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]{0,40}>")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.M)
_QUOTE = re.compile(r"^\s{0,3}>\s?", re.M)
_RULE = re.compile(r"^\s*([-*_=])(?:\s*\1){2,}\s*$", re.M)
_BULLET = re.compile(
    r"^\s*(?:(?:[-*+•·▪◦]|\d{1,2}[.)]|[a-z]\))\s+|(?:\d{1,2}|[一二三四五六七八九十]{1,2})、)", re.M
)
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]{3,}\|?\s*$", re.M)
_FOOTNOTE = re.compile(r"\[\^?\d+\]")
_PERCENT = re.compile(r"(\d)\s?%")
_DEGREES = re.compile(r"(\d)\s?°\s?([CF])\b")
_ABOUT = re.compile(r"~\s?(?=\d)")
_REPEATED = re.compile(r"([!?！？。])\1+")
_SPACES = re.compile(r"[ \t\u3000]+")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.!?;:，。！？；：])")
_CJK = re.compile(r"[\u4e00-\u9fff]")

_WORDS = {
    "en": {
        "and": " and ",
        "dot": " dot ",
        "at": " at ",
        "link": "a link",
        "about": "about ",
    },
    "zh": {"and": "和", "dot": "点", "at": "艾特", "link": "一个链接", "about": "大约"},
}
_DEGREE_WORDS = {"C": "degrees Celsius", "F": "degrees Fahrenheit"}


def _is_emoji(char: str) -> bool:
    if char in "\u200d\ufe0f\u20e3":
        return True
    category = unicodedata.category(char)
    code = ord(char)
    return (
        category == "So"
        or (category == "Sk" and code >= 0x1F3FB)
        or 0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
    )


def speakable(text: str) -> str:
    """Markdown and other written-only marks removed; what remains reads naturally aloud."""
    words = _WORDS["zh" if _CJK.search(text) else "en"]
    text = _CODE_BLOCK.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(lambda m: _domain(m.group(1), words), text)
    text = _EMAIL.sub(lambda m: m.group(1) + words["at"] + m.group(2).replace(".", words["dot"]), text)
    text = _HTML_TAG.sub(" ", text)
    text = _FOOTNOTE.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = text.replace("|", ", ")
    if words is _WORDS["en"]:
        text = _DEGREES.sub(lambda m: f"{m.group(1)} {_DEGREE_WORDS[m.group(2)]}", text)
    text = "".join(c for c in text if c == "°" or not _is_emoji(c))
    if words is _WORDS["en"]:
        text = _PERCENT.sub(r"\1 percent", text)
    text = _ABOUT.sub(words["about"], text)
    text = text.replace("&", words["and"]).replace("#", " ").replace("*", " ").replace("~", " ")
    text = text.replace("->", " ").replace("=>", " ").replace("→", " ")
    text = _REPEATED.sub(r"\1", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text))
    lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line).strip()


def _domain(address: str, words: dict[str, str]) -> str:
    host = address.split("/")[0].split("?")[0].removeprefix("www.")
    return host.replace(".", words["dot"]).strip() if host else words["link"]

"""Words skills need in English and Chinese: numbers as recognizers write them, and durations.

Recognizers write numbers as words ("twenty one", "二十一"), people type digits: both are read.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
ONES_WORDS = {v: k for k, v in _UNITS.items() if k != "oh"}
TENS_WORDS = {v: k for k, v in _TENS.items()}
_ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
NUMBER_WORDS = "|".join([*_UNITS, *_TENS, "hundred", "point", "and", "half", r"\d+(?:\.\d+)?"])
EN_NUMBER = rf"(?:(?:{NUMBER_WORDS})(?:[\s-]+(?:{NUMBER_WORDS}))*)"
ZH_NUMBER = r"(?:[零〇一二两三四五六七八九十百千点\d.]+)"


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def compact_zh(text: str) -> str:
    """Chinese as one string: punctuation and the spaces recognizers put between words dropped."""
    kept = "".join(c for c in text.lower() if c.isalnum() or c.isspace() or c in ".%")
    return re.sub(r"(?<=[^\sa-z0-9])\s+|\s+(?=[^\sa-z0-9])", "", kept).strip()


def spoken_numbers(text: str) -> str:
    """Typed numbers as a recognizer would write them, so punctuation removal keeps them: 19.5% ->
    19 point 5 percent."""
    text = re.sub(r"(\d)\.(\d)", r"\1 point \2", text)
    return text.replace("%", " percent ").replace("°", " degrees ")


def number_en(text: str) -> float | None:
    """ "twenty one" -> 21, "one hundred" -> 100, "21.5" -> 21.5, "twenty one point five" -> 21.5."""
    words = [w for w in re.split(r"[\s-]+", text.strip().lower()) if w and w != "and"]
    if not words:
        return None
    if len(words) == 1 and re.fullmatch(r"\d+(\.\d+)?", words[0]):
        return float(words[0])
    if "point" in words:
        i = words.index("point")
        whole = number_en(" ".join(words[:i])) if i else 0.0
        digits = "".join(w if w.isdigit() else str(_UNITS.get(w, "x")) for w in words[i + 1 :])
        if whole is None or not digits.isdigit():
            return None
        return whole + float("0." + digits)
    total, current = 0, 0
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word.isdigit():
            current += int(word)
        else:
            return None
    return float(total + current)


def number_zh(text: str) -> float | None:
    """ "二十一" -> 21, "一百" -> 100, "两" -> 2, "21" -> 21, "二十一点五" -> 21.5."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if "点" in text:
        whole, _, frac = text.partition("点")
        w = number_zh(whole) if whole else 0.0
        digits = [_ZH_DIGITS.get(c) for c in frac]
        if w is None or not digits or None in digits:
            return None
        return w + float("0." + "".join(str(d) for d in digits))
    total, digit = 0, None
    for char in text:
        if char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        elif char in _ZH_UNITS:
            total += (1 if digit is None else digit) * _ZH_UNITS[char]
            digit = None
        else:
            return None
    return float(total + (digit or 0))


def spell_en(n: int) -> str:
    """21 -> "twenty one" (0..999), as the recognizer's dictionary spells numbers."""
    if n < 20:
        return ONES_WORDS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS_WORDS[tens * 10] + (f" {ONES_WORDS[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{ONES_WORDS[hundreds]} hundred" + (f" {spell_en(rest)}" if rest else "")


def spell_digits_en(text: str) -> str:
    """ "plug 2" -> "plug two": device names as a recognizer would write them."""
    return re.sub(r"\b\d{1,3}\b", lambda m: spell_en(int(m.group())), text)


def spell_zh(n: int) -> str:
    """21 -> "二十一" (0..999)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    hundreds, rest = divmod(n, 100)
    tail = (
        ""
        if rest == 0
        else ("零" + spell_zh(rest) if rest < 10 else spell_zh(rest) if rest >= 20 else "一" + spell_zh(rest))
    )
    return digits[hundreds] + "百" + tail


_EN_UNITS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600}
_EN_DURATION = re.compile(
    rf"\b(?P<n>{EN_NUMBER}|half an?|a half|an?)\s+(?P<unit>seconds?|secs?|minutes?|mins?|hours?)\b"
)
_ZH_DURATION = re.compile(
    rf"(?P<n>{ZH_NUMBER}|半)\s*(?:个)?(?P<half>半)?\s*(?P<unit>秒钟|秒|分钟|分|小时|钟头)(?P<half2>半)?"
)
_ZH_UNIT_SECONDS = {"秒": 1, "秒钟": 1, "分": 60, "分钟": 60, "小时": 3600, "钟头": 3600}


def duration_en(text: str) -> float | None:
    """Seconds in "five minutes", "an hour and a half", "1 hour 30 minutes", "half an hour"."""
    total, found = 0.0, False
    for match in _EN_DURATION.finditer(text):
        n_text, unit = match.group("n"), match.group("unit").rstrip("s")
        n = 0.5 if "half" in n_text else 1.0 if n_text in ("a", "an") else number_en(n_text)
        if n is None:
            return None
        total += n * _EN_UNITS[unit]
        found = True
    if found and re.search(r"\band a half\b", text):
        unit = _EN_DURATION.search(text).group("unit").rstrip("s")  # type: ignore[union-attr]
        total += 0.5 * _EN_UNITS[unit]
    return total if found else None


def duration_zh(text: str) -> float | None:
    """Seconds in "五分钟", "一个半小时", "半小时", "一小时二十分钟", "30秒"."""
    total, found = 0.0, False
    for match in _ZH_DURATION.finditer(text):
        n = 0.5 if match.group("n") == "半" else number_zh(match.group("n"))
        if n is None:
            return None
        seconds = _ZH_UNIT_SECONDS[match.group("unit")]
        total += (n + (0.5 if match.group("half") or match.group("half2") else 0)) * seconds
        found = True
    return total if found else None


def say_duration_en(seconds: float) -> str:
    parts = []
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if value:
            parts.append(f"{value} {unit}{'s' if value != 1 else ''}")
    return " and ".join(parts) or "0 seconds"


def say_duration_zh(seconds: float) -> str:
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    text = (
        (f"{hours}小时" if hours else "")
        + (f"{minutes}分钟" if minutes else "")
        + (f"{secs}秒" if secs else "")
    )
    return text or "0秒"

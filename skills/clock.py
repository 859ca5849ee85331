"""The time and the date, from the speaker's own clock."""

from __future__ import annotations

import re

from skills import SkillContext, SkillReply, normalize

_TIME = re.compile(r"\b(what time is it|what's the time|what is the time|tell me the time|current time)\b")
_DATE = re.compile(r"\b(what day is (it|today)|what's the date|what is the date|today's date)\b")
_TIME_ZH = ("几点", "什么时间", "时间是")
_DATE_ZH = ("几号", "星期几", "什么日子", "日期")


class ClockSkill:
    name = "clock"

    def handle(self, utterance: str, context: SkillContext) -> SkillReply | None:
        text = normalize(utterance)
        now = context.now()
        zh = any("\u4e00" <= c <= "\u9fff" for c in text)
        if _TIME.search(text) or (zh and any(k in text for k in _TIME_ZH)):
            if zh:
                return SkillReply("time", f"现在是{now.hour}点{now.minute}分。", {"time": now.isoformat()})
            spoken = now.strftime("%I:%M %p").lstrip("0")
            return SkillReply("time", f"It's {spoken}.", {"time": now.isoformat()})
        if _DATE.search(text) or (zh and any(k in text for k in _DATE_ZH)):
            if zh:
                weekday = "一二三四五六日"[now.weekday()]
                return SkillReply("date", f"今天是{now.month}月{now.day}日，星期{weekday}。", {})
            return SkillReply("date", f"Today is {now.strftime('%A, %B')} {now.day}.", {})
        return None

"""Countdown timers by voice: "set a timer for five minutes", "定一个十分钟的计时器", and they ring."""

from __future__ import annotations

import re

from skills import SkillContext, SkillReply, normalize
from skills.lang import compact_zh, duration_en, duration_zh, is_chinese, say_duration_en, say_duration_zh

_P = r"^(?:(?:hey|ok|okay|please|can you|could you)\s+)*"
_SET = re.compile(rf"{_P}(?:set|start|make|create)?\s*(?:a|an|the)?\s*(?:timer|countdown)\s+(?:for|of)"
                  rf"\s+(?P<d>.+)$"
                  rf"|{_P}(?:set|start)\s+(?:a|an)\s+(?P<d2>.+?)\s+(?:timer|countdown)$"
                  rf"|^(?P<d3>.+?)\s+timer$")  # fmt: skip
_CANCEL = re.compile(
    rf"{_P}(?:cancel|stop|delete|clear|remove)\s+(?:the\s+|my\s+|all\s+(?:the\s+)?)?timers?$"
)
_LEFT = re.compile(r"^(?:how (?:much|long) (?:time )?(?:is )?left(?: on (?:the|my) timer)?|how long is left"
                   r"|when does (?:the|my) timer (?:ring|go off)|how much time is left)$")  # fmt: skip
_ZH_SET = re.compile(r"(?:定|设|设置|设定|开|来|定个|设个)?(?:一个)?(?P<d>.+?)(?:的)?"
                     r"(?:计时器|倒计时|定时器|闹钟)$"
                     r"|^(?P<d2>.+?)(?:后|以后|之后)(?:提醒我|叫我)$")  # fmt: skip
_ZH_CANCEL = ("取消计时器", "取消倒计时", "关掉计时器", "停止计时器", "取消定时器")
_ZH_LEFT = ("还剩多少时间", "还有多久", "计时器还剩多少", "还剩多久")


class TimerSkill:
    name = "timer"

    def handle(self, utterance: str, context: SkillContext) -> SkillReply | None:
        zh = is_chinese(utterance)
        text = compact_zh(utterance).lstrip("请帮我给") if zh else normalize(utterance).replace("-", " ")
        request = _parse(text, zh)
        if request is None:
            return None
        action, seconds = request
        timers = context.timers
        if timers is None:  # `speaker ask` ends at once: a timer would never ring
            text = (
                "只有在运行时才能用计时器。"
                if zh
                else "I can only keep a timer while I'm running and listening."
            )
            return SkillReply("timer_unavailable", text)
        if action == "cancel":
            cancelled = timers.cancel_all()
            if zh:
                return SkillReply("timer_cancel", "计时器已取消。" if cancelled else "没有正在运行的计时器。")
            return SkillReply(
                "timer_cancel", "Timer cancelled." if cancelled else "There's no timer running."
            )
        if action == "left":
            pending = timers.pending()
            if not pending:
                return SkillReply(
                    "timer_left", "没有正在运行的计时器。" if zh else "There's no timer running."
                )
            left = pending[0][1]
            text = f"还剩{say_duration_zh(left)}。" if zh else f"{say_duration_en(left)} left."
            return SkillReply("timer_left", text)
        assert seconds is not None
        label = say_duration_zh(seconds) if zh else say_duration_en(seconds)
        try:
            timers.add(seconds, label, zh)
        except ValueError as exc:
            return SkillReply("timer_refused", "计时器最长二十四小时。" if zh else f"Sorry, {exc}.")
        text = f"好的，{label}倒计时开始。" if zh else f"Timer set for {label}."
        return SkillReply("timer_set", text, {"seconds": seconds})


def _parse(text: str, zh: bool) -> tuple[str, float | None] | None:
    if (text in _ZH_CANCEL) if zh else _CANCEL.match(text):
        return "cancel", None
    if (text in _ZH_LEFT) if zh else _LEFT.match(text):
        return "left", None
    match = (_ZH_SET if zh else _SET).search(text)
    if not match:
        return None
    spoken = next(g for g in match.groups() if g)
    seconds = duration_zh(spoken) if zh else duration_en(spoken)
    return None if seconds is None else ("set", seconds)

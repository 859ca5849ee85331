"""Stop: silence the speaker at once."""

from __future__ import annotations

import re

from skills import SkillContext, SkillReply, normalize

_STOP = re.compile(
    r"^(?:(?:please|ok|okay|hey)\s+)*(?:stop|cancel|never ?mind|be quiet|quiet|shut up|enough|that's enough)"
    r"(?:\s+(?:it|that|talking|please|now))*$"
)
_STOP_ZH = ("停", "停止", "别说了", "不要说了", "安静", "闭嘴", "算了", "取消")


class StopSkill:
    name = "control"

    def handle(self, utterance: str, context: SkillContext) -> SkillReply | None:
        text = normalize(utterance)
        if _STOP.match(text) or text.replace(" ", "") in _STOP_ZH:
            return SkillReply(intent="stop", text="", action="stop")
        return None

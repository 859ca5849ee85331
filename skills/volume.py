"""Volume and microphone mute by voice: "volume up", "set the volume to 5", "mute", "音量调到五十"."""

from __future__ import annotations

import re

from skills import SkillContext, SkillReply, normalize
from skills.lang import EN_NUMBER, ZH_NUMBER, compact_zh, is_chinese, number_en, number_zh, spoken_numbers

_P = r"^(?:(?:hey|ok|okay|please|can you|could you)\s+)*"
_UP = re.compile(rf"{_P}(?:volume up|turn (?:it|the volume|the sound) up|turn up the (?:volume|sound)|louder"
                 r"|speak up|increase the volume|raise the volume)(?: a bit| please)*$")  # fmt: skip
_DOWN = re.compile(rf"{_P}(?:volume down|turn (?:it|the volume|the sound) down|turn down the (?:volume|sound)"
                   r"|quieter|softer|lower the volume|decrease the volume)(?: a bit| please)*$")  # fmt: skip
_SET = re.compile(
    rf"{_P}(?:set (?:the )?volume (?:to|at)|volume(?: to)?|turn the volume to|change the volume to)"
    rf"\s+(?P<n>{EN_NUMBER}|max(?:imum)?|min(?:imum)?)(?P<pct>\s*(?:percent|%))?(?: please)?$"
)
_ASK = re.compile(r"^(?:what(?:'s|s| is) the volume|how loud are you)$")
_MUTE = re.compile(rf"{_P}(?:mute(?: yourself| the microphone| the mic| your microphone)?|stop listening"
                   r"|turn off (?:the |your )?(?:microphone|mic))(?: please)?$")  # fmt: skip
_UNMUTE = re.compile(rf"{_P}(?:unmute(?: yourself| the microphone| the mic)?|start listening"
                     r"|turn on (?:the |your )?(?:microphone|mic))(?: please)?$")  # fmt: skip
_ZH_UP = (
    "音量调大",
    "音量调高",
    "大声点",
    "大声一点",
    "声音大一点",
    "声音大点",
    "调大音量",
    "音量大一点",
    "增大音量",
)
_ZH_DOWN = (
    "音量调小",
    "音量调低",
    "小声点",
    "小声一点",
    "声音小一点",
    "声音小点",
    "调小音量",
    "音量小一点",
    "降低音量",
)
_ZH_SET = re.compile(
    rf"^(?:把)?(?:音量|声音)(?:调到|调成|设为|设置为|设成|调至)(?:百分之)?(?P<n>{ZH_NUMBER})%?$"
)
_ZH_MUTE = ("静音", "关闭麦克风", "关掉麦克风", "麦克风静音", "别听了", "停止监听")
_ZH_UNMUTE = ("取消静音", "打开麦克风", "开启麦克风")


class VolumeSkill:
    name = "volume"

    def handle(self, utterance: str, context: SkillContext) -> SkillReply | None:
        controls = context.controls
        if controls is None:
            return None
        zh = is_chinese(utterance)
        request = _parse_zh(compact_zh(utterance)) if zh else _parse_en(normalize(spoken_numbers(utterance)))
        if request is None:
            return None
        action, value = request
        if action == "mute":
            controls.set_muted(True, "voice")
            text = "麦克风已关闭。" if zh else "Microphone off. Unmute me from Home Assistant, or restart me."
            return SkillReply("mute", text, {"muted": True})
        if action == "unmute":
            controls.set_muted(False, "voice")
            return SkillReply("unmute", "麦克风已打开。" if zh else "I'm listening again.", {"muted": False})
        if action == "up":
            level = controls.change_volume(1, "voice")
        elif action == "down":
            level = controls.change_volume(-1, "voice")
        elif action == "set":
            level = controls.set_volume(value, "voice")  # type: ignore[arg-type]
        else:
            level = controls.volume
        text = f"音量百分之{level}。" if zh else f"Volume {level} percent."
        return SkillReply("volume", text, {"volume": level})


def _parse_en(text: str) -> tuple[str, float | None] | None:
    if _UP.match(text):
        return "up", None
    if _DOWN.match(text):
        return "down", None
    if _MUTE.match(text):
        return "mute", None
    if _UNMUTE.match(text):
        return "unmute", None
    if _ASK.match(text):
        return "ask", None
    m = _SET.match(text)
    if m:
        word = m.group("n")
        if word.startswith("max"):
            return "set", 100.0
        if word.startswith("min"):
            return "set", 10.0
        n = number_en(word)
        if n is None:
            return None
        # "volume five" means five of ten; "volume fifty" or "fifty percent" means percent
        return "set", n if m.group("pct") or n > 10 else n * 10
    return None


def _parse_zh(text: str) -> tuple[str, float | None] | None:
    text = text.lstrip("请帮我").rstrip("吧")
    if any(text.startswith(w) for w in _ZH_UNMUTE):
        return "unmute", None
    if text in _ZH_MUTE:
        return "mute", None
    if any(w in text for w in _ZH_UP):
        return "up", None
    if any(w in text for w in _ZH_DOWN):
        return "down", None
    m = _ZH_SET.match(text)
    if m:
        n = number_zh(m.group("n"))
        if n is None:
            return None
        return "set", n if n > 10 or "百分之" in text else n * 10
    if text in ("音量多少", "现在音量多少", "音量是多少"):
        return "ask", None
    return None

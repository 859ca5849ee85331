"""What a device request asks for, in English and Chinese: the action, the target phrase, a value.

Only parsing: which devices the target means is decided by `skills.targets`. A sentence may parse
several ways ("关掉开关" ends in 关 too); all readings come back, best first, and the skill takes
the first whose target is a known device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skills import normalize
from skills.lang import EN_NUMBER, ZH_NUMBER, compact_zh, is_chinese, number_en, number_zh, spoken_numbers


@dataclass(frozen=True)
class Request:
    action: str  # on off brightness temperature set open close stop lock unlock query confirm deny
    target: str = ""
    value: float | None = None
    quantity: str | None = None  # query: state, temperature, humidity, setpoint
    zh: bool = False


_P = r"^(?:(?:hey|ok|okay|please|can you|could you|would you|will you|computer)\s+)*"
_END = r"(?:\s+(?:please|now|for me))*$"
_COVERS = r"blinds?|curtains?|shades?|shutters?|door"
_STATES = r"on|off|open|closed|shut|locked|unlocked"
_WHATS = r"what(?:'s|s| is)"
_MEASURES = r"temperature|humidity"
_IN = r"(?:in|of|at)"
_EN: list[tuple[str, re.Pattern[str]]] = [
    (a, re.compile(p))
    for a, p in [
        ("switch", rf"{_P}(?:turn|switch|power)\s+(?P<state>on|off)\s+(?P<target>.+?){_END}"),
        ("switch", rf"{_P}(?:turn|switch|power)\s+(?P<target>.+?)\s+(?P<state>on|off){_END}"),
        (
            "brightness",
            rf"{_P}(?:set|dim|turn|change|put|make)\s+(?:the\s+)?(?:brightness\s+(?:of|in)\s+)?(?P<target>.+?)"
            rf"(?:\s+brightness)?\s+(?:to|at)\s+(?P<value>{EN_NUMBER})\s*(?:percent|%)(?:\s+brightness)?{_END}",
        ),
        (
            "set",
            rf"{_P}(?:set|turn|change|put|make)\s+(?:the\s+)?(?:temperature\s+(?:in|of)\s+)?(?P<target>.+?)"
            rf"(?:\s+temperature)?\s+(?:to|at)\s+(?P<value>{EN_NUMBER})\s*(?P<unit>degrees?|°)?"
            rf"(?:\s+(?:celsius|centigrade|fahrenheit))?{_END}",
        ),
        ("dim", rf"{_P}(?P<dir>dim|brighten)\s+(?P<target>.+?){_END}"),
        ("cover", rf"{_P}(?P<dir>open|close|shut|raise|lower)\s+(?P<target>.+?){_END}"),
        ("cover", rf"{_P}(?P<dir>stop)\s+(?P<target>(?:the\s+)?.*(?:{_COVERS})){_END}"),
        ("lock", rf"{_P}(?P<dir>lock|unlock)\s+(?P<target>.+?){_END}"),
        ("state", rf"^(?:is|are)\s+(?P<target>.+?)\s+(?P<state>{_STATES})(?:\s+(?:right\s+)?now)?$"),
        ("measure", rf"^(?:{_WHATS}|tell me)\s+the\s+(?P<quantity>{_MEASURES})\s+{_IN}\s+(?P<target>.+)$"),
        ("measure", r"^what(?:'s|s| is)\s+(?:the\s+)?(?P<target>.+?)\s+(?P<quantity>temperature|humidity)$"),
        ("measure", r"^how\s+(?P<quantity>warm|cold|hot|humid)\s+is\s+(?:it\s+in\s+)?(?P<target>.+)$"),
        ("setpoint", r"^what(?:'s|s| is)\s+(?P<target>.+?)\s+set\s+to$"),
        ("status", r"^(?:what(?:'s|s| is)\s+)?the\s+(?:state|status)\s+of\s+(?P<target>.+)$"),
    ]
]  # fmt: skip

_ZP = r"^(?:请|麻烦|帮我|帮忙|给我|你)*(?:把|将)?"
_ZS = r"(?:调到|调成|调为|设为|设置为|设置成|设成|调至|开到)"  # "set to"
_ZSTATE = r"开着|关着|开了|关了|锁着|锁了|锁上了|打开了|关上了|开着的|关着的|锁好了"
_ZQ = r"(?:多少|几度|怎么样|多高|多少度)"
_ZQE = r"(?:了)?(?:呢|啊)?$"
_ZE = r"(?:吧|一下|啊|呀|好吗|好不好)*$"
_ZH: list[tuple[str, re.Pattern[str]]] = [
    (a, re.compile(p))
    for a, p in [
        ("temperature", rf"{_ZP}(?P<target>.+?)(?:的)?(?:温度)?{_ZS}(?P<value>{ZH_NUMBER})(?:摄氏)?度{_ZE}"),
        ("brightness", rf"{_ZP}(?P<target>.+?)(?:的)?亮度{_ZS}(?:百分之)?(?P<value>{ZH_NUMBER})%?{_ZE}"),
        (
            "brightness",
            rf"{_ZP}(?P<target>.+?){_ZS}(?:百分之(?P<value>{ZH_NUMBER})|(?P<value2>{ZH_NUMBER})%)(?:的)?(?:亮度)?{_ZE}",
        ),
        ("dim", rf"{_ZP}(?P<target>.+?)(?P<dir>调暗|调亮|调暗一点|调亮一点|暗一点|亮一点){_ZE}"),
        ("lock", rf"{_ZP}(?P<target>.+?)(?P<dir>锁上|锁好|上锁|锁起来|解锁|开锁){_ZE}"),
        ("lock", rf"{_ZP}(?P<dir>锁上|锁好|解锁|开锁)(?P<target>.+?){_ZE}"),
        ("cover", rf"{_ZP}(?P<target>.+?)(?P<dir>拉开|拉上|升起来|降下来|升起|降下){_ZE}"),
        ("cover", rf"{_ZP}(?P<dir>拉开|拉上)(?P<target>.+?){_ZE}"),
        ("off", rf"{_ZP}(?P<target>.+?)(?:给我)?(?:关掉|关闭|关上|关了|关起来|关){_ZE}"),
        ("off", rf"{_ZP}(?:关掉|关闭|关上|关)(?P<target>.+?){_ZE}"),
        ("on", rf"{_ZP}(?P<target>.+?)(?:给我)?(?:打开|开开|开启|开起来|开了|开){_ZE}"),
        ("on", rf"{_ZP}(?:打开|开启|开)(?P<target>.+?){_ZE}"),
        ("state", rf"^(?P<target>.+?)(?:现在)?(?:是)?(?P<state>{_ZSTATE})(?:吗|没有|没|呢)?$"),
        ("state", r"^(?P<target>.+?)(?:现在)?(?:是)?(?:开着|打开)(?:的)?还是关着(?:的)?(?:呢)?$"),
        ("measure", rf"^(?P<target>.+?)(?:的|里|里面)?(?:现在)?(?P<quantity>温度|湿度)(?:是)?{_ZQ}{_ZQE}"),
        ("measure", r"^(?P<target>.+?)(?:现在)?(?P<quantity>几度|多少度)(?:了)?(?:呢|啊)?$"),
        ("status", r"^(?P<target>.+?)(?:的)?状态(?:是什么|怎么样|如何)?(?:呢)?$"),
    ]
]  # fmt: skip

YES_EN = {"yes", "yeah", "yep", "yes please", "sure", "do it", "go ahead", "confirm", "ok", "okay", "correct"}
NO_EN = {
    "no",
    "nope",
    "no thanks",
    "don't",
    "do not",
    "cancel",
    "never mind",
    "nevermind",
    "stop",
    "leave it",
}
YES_ZH = {"是", "是的", "对", "对的", "确定", "确认", "好", "好的", "好啊", "行", "可以", "要", "嗯"}
NO_ZH = {"不", "不要", "不用", "取消", "算了", "别", "不是", "不了"}
_EN_COVER = {
    "open": "open",
    "raise": "open",
    "close": "close",
    "shut": "close",
    "lower": "close",
    "stop": "stop",
}
_ZH_COVER = {
    "拉开": "open",
    "升起来": "open",
    "升起": "open",
    "拉上": "close",
    "降下来": "close",
    "降下": "close",
}
_ZH_STATE = {"开": "on", "关": "off", "锁": "locked", "打开": "on", "关上": "off"}
_ZH_MEASURE = {"温度": "temperature", "湿度": "humidity", "几度": "temperature", "多少度": "temperature"}


def parse(utterance: str) -> list[Request]:
    """Every reading of `utterance` as a device request, best first; empty when it is none."""
    if is_chinese(utterance):
        return _parse_zh(compact_zh(utterance))
    return _parse_en(normalize(spoken_numbers(utterance)).replace("-", " "))


def answer(utterance: str) -> str | None:
    """ "confirm" or "deny" for a yes/no answer, else None."""
    if is_chinese(utterance):
        text = compact_zh(utterance).rstrip("吧啊呀")
        return "confirm" if text in YES_ZH else "deny" if text in NO_ZH else None
    text = normalize(utterance)
    return "confirm" if text in YES_EN else "deny" if text in NO_EN else None


def _parse_en(text: str) -> list[Request]:
    found: list[Request] = []
    for kind, pattern in _EN:
        m = pattern.match(text)
        if not m:
            continue
        g = m.groupdict()
        target = g.get("target") or ""
        if kind == "switch":
            found.append(Request(g["state"], target))
        elif kind in ("brightness", "set"):
            value = number_en(g["value"])
            if value is not None:
                action = "temperature" if g.get("unit") else kind
                found.append(Request(action, target, value))
        elif kind == "dim":
            found.append(Request("brightness", target, 30.0 if g["dir"] == "dim" else 100.0))
        elif kind == "cover":
            found.append(Request(_EN_COVER[g["dir"]], target))
        elif kind == "lock":
            found.append(Request(g["dir"], target))
        elif kind == "state":
            state = "closed" if g["state"] == "shut" else g["state"]
            found.append(Request("query", target, quantity="state:" + state))
        elif kind == "measure":
            q = g["quantity"]
            found.append(
                Request("query", target, quantity="humidity" if q in ("humidity", "humid") else "temperature")
            )
        elif kind == "setpoint":
            found.append(Request("query", target, quantity="setpoint"))
        elif kind == "status":
            found.append(Request("query", target, quantity="status"))
    return found


def _parse_zh(text: str) -> list[Request]:
    found: list[Request] = []
    for kind, pattern in _ZH:
        m = pattern.match(text)
        if not m:
            continue
        g = m.groupdict()
        target = re.sub(r"(?:的)?(?:温度|亮度)$", "", g.get("target") or "")
        if kind in ("temperature", "brightness"):
            value = number_zh(g.get("value") or g.get("value2") or "")
            if value is not None:
                found.append(Request(kind, target, value, zh=True))
        elif kind == "dim":
            found.append(Request("brightness", target, 30.0 if "暗" in g["dir"] else 100.0, zh=True))
        elif kind == "lock":
            found.append(Request("unlock" if g["dir"] in ("解锁", "开锁") else "lock", target, zh=True))
        elif kind == "cover":
            found.append(Request(_ZH_COVER[g["dir"]], target, zh=True))
        elif kind in ("on", "off"):
            found.append(Request(kind, target, zh=True))
        elif kind == "state":
            word = g.get("state") or "开"
            state = next(v for k, v in _ZH_STATE.items() if word.startswith(k))
            found.append(Request("query", target, quantity="state:" + state, zh=True))
        elif kind == "measure":
            found.append(Request("query", target, quantity=_ZH_MEASURE[g["quantity"]], zh=True))
        elif kind == "status":
            found.append(Request("query", target, quantity="status", zh=True))
    return found

"""Which devices a spoken phrase means: "the kitchen light", "客厅的灯", "everything in the bedroom".

In order: a device's own name or alias; "everything"/"所有" in a room; a room and a kind of device
("living room lights", "卧室的空调"); a room and a name inside it; a kind alone when only one
device is of that kind. What matches nothing comes back with the closest known name, so the
answer can help ("I don't know a device called ... Did you mean ...?").
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from skills.lang import compact_zh, is_chinese, spell_digits_en

KIND_WORDS_EN = {
    "light": ("light", "lights", "lamp", "lamps", "bulb", "bulbs", "lighting"),
    "switch": ("switch", "switches", "plug", "plugs", "socket", "sockets", "outlet", "outlets", "fan"),
    "climate": (
        "thermostat",
        "thermostats",
        "heating",
        "heater",
        "heaters",
        "air conditioner",
        "radiator",
        "radiators",
        "air conditioning",
    ),
    "cover": (
        "blinds",
        "blind",
        "curtains",
        "curtain",
        "shades",
        "shade",
        "shutters",
        "cover",
        "garage door",
    ),
    "lock": ("lock", "locks", "door lock"),
    "sensor": ("sensor", "sensors", "thermometer"),
}
KIND_WORDS_ZH = {
    "light": ("灯光", "电灯", "台灯", "吊灯", "顶灯", "灯泡", "灯"),
    "switch": ("开关", "插座", "插头", "风扇"),
    "climate": ("空调", "暖气", "温控器", "地暖", "恒温器"),
    "cover": ("百叶窗", "窗帘", "卷帘", "车库门"),
    "lock": ("门锁", "锁"),
    "sensor": ("传感器", "温度计"),
}
KIND_NAME_EN = {
    "light": "light",
    "switch": "switch",
    "climate": "thermostat",
    "cover": "blinds",
    "lock": "lock",
}
KIND_PLURAL_EN = {"light": "lights", "switch": "switches", "climate": "thermostats", "cover": "blinds"}
KIND_NAME_ZH = {k: v[-1] if k == "light" else v[0] for k, v in KIND_WORDS_ZH.items()}
_PLURALS = {w for words in KIND_WORDS_EN.values() for w in words if w.endswith("s") and w not in ("blinds",)}
_EVERYTHING_EN = re.compile(
    r"^(?:everything|every device|all (?:of )?(?:the )?devices|all (?:of )?(?:the )?things|all)"
    r"(?:\s+(?:in|at|of)\s+(?:the\s+)?(?P<room>.+))?$"
)
_EVERYTHING_ZH = ("所有的", "所有", "全部的", "全部", "一切", "设备", "东西", "都")
_DETERMINERS = re.compile(r"^(?:(?:the|my|our|all|of|please)\s+)+")


@dataclass(frozen=True)
class Target:
    devices: tuple[Any, ...] = ()  # Device
    label: str = ""  # how the reply names them
    spoken: str = ""  # the phrase as heard
    suggestion: str | None = None  # the closest known name, when nothing matched
    choices: tuple[Any, ...] = ()  # several devices fit a singular phrase
    everything: bool = False


def resolve(phrase: str, registry: Any, zh: bool | None = None) -> Target:
    zh = is_chinese(phrase) if zh is None else zh
    devices = registry.devices() if registry is not None else []
    rooms = registry.rooms() if registry is not None else {}
    text = _clean_zh(phrase) if zh else _clean_en(phrase)
    if not text:
        return Target(spoken=phrase)
    namer = Namer(rooms, zh)
    by_name = [d for d in devices if text in _keys(d, zh)]
    if by_name:
        return Target(tuple(by_name), namer.label(by_name), phrase)
    everything, rest_room = _everything(text, zh)
    room, rest = _find_room(rest_room if everything else text, rooms, zh)
    if everything or (room and not rest):
        chosen = [d for d in devices if room is None or d.room == room]
        label = namer.everything(room)
        return (
            Target(tuple(chosen), label, phrase, everything=True)
            if chosen
            else _unknown(phrase, text, devices, zh)
        )
    pool = [d for d in devices if d.room == room] if room else devices
    kind = _kind(rest, zh)
    if kind is not None:
        of_kind = [d for d in pool if d.kind == kind]
        plural = not zh and rest.split()[-1] in _PLURALS
        if len(of_kind) == 1 or (of_kind and (plural or room is not None)):
            return Target(tuple(of_kind), namer.label(of_kind, room=room, kind=kind), phrase)
        if of_kind:
            return Target(
                spoken=phrase, choices=tuple(of_kind), label=namer.label(of_kind, room=room, kind=kind)
            )
    inside = [d for d in pool if _ends_with_name(d, rest, room, zh)]
    if inside:
        return Target(tuple(inside), namer.label(inside), phrase)
    return _unknown(phrase, text, devices, zh)


class Namer:
    """Names devices and rooms in the reply's language."""

    def __init__(self, rooms: dict[str, tuple[str, ...]], zh: bool) -> None:
        self.rooms = rooms
        self.zh = zh

    def room(self, room: str) -> str:
        if self.zh:
            return next((a for a in self.rooms.get(room, ()) if is_chinese(a)), room)
        return room

    def device(self, device: Any) -> str:
        if not self.zh:
            return f"the {device.name}"
        own = next((a for a in device.aliases if is_chinese(a)), None)
        if own:
            return own
        if device.room and is_chinese(self.room(device.room)):
            return f"{self.room(device.room)}的{KIND_NAME_ZH.get(device.kind, '设备')}"
        return device.name

    def label(self, devices: list[Any], room: str | None = None, kind: str | None = None) -> str:
        if len(devices) == 1:
            return self.device(devices[0])
        if kind is not None and room is not None:
            if self.zh:
                return f"{self.room(room)}的{KIND_NAME_ZH.get(kind, '设备')}"
            return f"the {room} {KIND_PLURAL_EN.get(kind, kind)}"
        if kind is not None and not self.zh:
            return f"all the {KIND_PLURAL_EN.get(kind, kind)}"
        names = [self.device(d) for d in devices]
        if self.zh:
            return "、".join(names[:3]) + ("等设备" if len(names) > 3 else "")
        return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) <= 3 else f"{len(names)} devices"

    def everything(self, room: str | None) -> str:
        if self.zh:
            return f"{self.room(room)}的所有设备" if room else "所有设备"
        return f"everything in the {room}" if room else "everything"


def _clean_en(phrase: str) -> str:
    text = " ".join("".join(c if c.isalnum() or c in " '" else " " for c in phrase.lower()).split())
    text = re.sub(r"\s+please$", "", spell_digits_en(text))
    return _DETERMINERS.sub("", text).strip()


def _clean_zh(phrase: str) -> str:
    text = compact_zh(phrase)
    text = re.sub(r"^(?:请|帮我|给我|麻烦)+", "", text)
    return text.replace("的", "").strip()


def _keys(device: Any, zh: bool) -> set[str]:
    if zh:
        return {_clean_zh(n) for n in device.names()}
    return {_clean_en(n) for n in device.names()}


def _everything(text: str, zh: bool) -> tuple[bool, str]:
    if zh:
        if any(w in text for w in _EVERYTHING_ZH[:5]):
            rest = text
            for word in _EVERYTHING_ZH:
                rest = rest.replace(word, "")
            return True, rest
        return False, text
    match = _EVERYTHING_EN.match(text)
    if match:
        return True, match.group("room") or ""
    return False, text


def _find_room(text: str, rooms: dict[str, tuple[str, ...]], zh: bool) -> tuple[str | None, str]:
    """The room named in `text` (longest name first) and what is left of the text."""
    candidates = sorted(
        ((name, room) for room, aliases in rooms.items() for name in (room, *aliases)),
        key=lambda pair: -len(pair[0]),
    )
    for name, room in candidates:
        if zh:
            key = _clean_zh(name)
            if key and key in text:
                return room, text.replace(key, "", 1).replace("里", "").strip()
        else:
            key = _clean_en(name)
            match = re.search(rf"(?:^|\s){re.escape(key)}(?:'s)?(?:\s|$)", text) if key else None
            if match:
                rest = (text[: match.start()] + " " + text[match.end() :]).split()
                rest = [w for w in rest if w not in ("in", "the", "of", "at", "on")]
                return room, " ".join(rest)
    return None, text


def _kind(text: str, zh: bool) -> str | None:
    if zh:
        return next((k for k, words in KIND_WORDS_ZH.items() if text in words), None)
    return next((k for k, words in KIND_WORDS_EN.items() if text in words), None)


def _ends_with_name(device: Any, rest: str, room: str | None, zh: bool) -> bool:
    if not rest:
        return False
    for key in _keys(device, zh):
        if key == rest or (room and key in (f"{room} {rest}", f"{room}{rest}")):
            return True
        if not zh and key.endswith(" " + rest) or zh and key.endswith(rest) and len(rest) >= 2:
            return True
    return False


def _unknown(phrase: str, text: str, devices: list[Any], zh: bool) -> Target:
    names = {key: d for d in devices for key in _keys(d, zh)}
    close = difflib.get_close_matches(text, list(names), n=1, cutoff=0.6)
    suggestion = Namer({}, zh).device(names[close[0]]) if close else None
    return Target(spoken=text if text else phrase, suggestion=suggestion)

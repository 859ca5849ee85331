"""The phrases the recognizer is biased toward: every command template x every device, room and value.

Generated from the device registry, so that a device added to devices.yaml or imported from the
broker is heard right without anyone writing a grammar. English for pocketsphinx/vosk English
models; Chinese (words separated by spaces, as vosk's Chinese models write them) for Chinese.
Every phrase here is one the skills understand (a test checks that).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from skills.lang import is_chinese, spell_digits_en, spell_en, spell_zh
from skills.targets import KIND_NAME_ZH, KIND_PLURAL_EN

PERCENTS = range(10, 101, 10)
DEGREES = range(16, 29)
TIMER_MINUTES = (1, 2, 3, 4, 5, 10, 15, 20, 25, 30, 45)
TIMER_SECONDS = (10, 20, 30, 40, 50)
ZH_LANGUAGES = ("zh", "cn", "cmn")

GENERAL_EN = [
    "stop", "yes", "no", "what time is it", "what's the date", "volume up", "volume down", "louder",
    "quieter",
    "turn up the volume", "turn down the volume", "mute the microphone", "stop listening", "cancel the timer",
    "how much time is left",
    *(f"set the volume to {spell_en(n)}" for n in range(1, 11)),
    *(f"set a timer for {spell_en(n)} minute{'s' if n > 1 else ''}" for n in TIMER_MINUTES),
    *(f"set a timer for {spell_en(n)} seconds" for n in TIMER_SECONDS),
    "set a timer for one hour",
]  # fmt: skip
GENERAL_ZH = [
    "停", "是的", "不要", "现在 几点", "音量 调 大", "音量 调 小", "静音", "取消 计时器", "还 剩 多少 时间",
    *(f"定 一个 {spell_zh(n)} 分钟 的 计时器" for n in TIMER_MINUTES),
]  # fmt: skip


def grammar(registry: Any, language: str) -> list[str]:
    """Phrases for `language` ("en", "zh", ...); empty for languages without templates."""
    lang = language.lower().split("-")[0]
    if lang == "en":
        phrases = list(GENERAL_EN) + list(_english(registry))
    elif lang in ZH_LANGUAGES:
        phrases = list(GENERAL_ZH) + list(_chinese(registry))
    else:
        return []
    return sorted(set(" ".join(p.split()) for p in phrases))


def _english(registry: Any) -> Iterable[str]:
    devices = registry.devices() if registry is not None else []
    rooms = registry.rooms() if registry is not None else {}
    for device in devices:
        names = [spell_digits_en(n) for n in device.names() if n.isascii()]
        for n in names:
            yield from _device_en(device, n)
    for kind in sorted({d.kind for d in devices if d.can("on")}):
        plural = KIND_PLURAL_EN.get(kind)
        if plural:  # "turn off the lights" must not snap to one light's phrase
            yield from (f"turn {s} the {plural}" for s in ("on", "off"))
            yield from (f"turn {s} all the {plural}" for s in ("on", "off"))
    for room, aliases in rooms.items():
        in_room = [d for d in devices if d.room == room]
        for r in [room, *(a for a in aliases if a.isascii())]:
            if any(d.can("on") or d.can("off") for d in in_room):
                yield from (f"turn {s} everything in the {r}" for s in ("on", "off"))
            for kind in sorted({d.kind for d in in_room if d.can("on")}):
                plural = KIND_PLURAL_EN.get(kind)
                if plural:
                    yield from (f"turn {s} the {r} {plural}" for s in ("on", "off"))
                    yield from (f"turn {s} the {plural} in the {r}" for s in ("on", "off"))
            if any({"temperature", "current_temperature"} & set(d.states) for d in in_room):
                yield f"what's the temperature in the {r}"
                yield f"what is the temperature in the {r}"
            if any("humidity" in d.states for d in in_room):
                yield f"what's the humidity in the {r}"
            if any(d.can("temperature") for d in in_room):
                yield from (f"set the {r} to {spell_en(t)} degrees" for t in DEGREES)


def _device_en(device: Any, n: str) -> Iterable[str]:
    if device.can("on") or device.can("off"):
        for state in ("on", "off"):
            yield from (f"turn {state} the {n}", f"turn the {n} {state}", f"switch {state} the {n}")
    if "state" in device.states:
        words = {"lock": ("locked", "unlocked"), "cover": ("open", "closed")}.get(device.kind, ("on", "off"))
        yield from (f"is the {n} {w}" for w in words)
    if device.can("brightness"):
        yield from (f"set the {n} to {spell_en(p)} percent" for p in PERCENTS)
        yield from (f"dim the {n}", f"brighten the {n}")
    if device.can("temperature"):
        yield from (f"set the {n} to {spell_en(t)} degrees" for t in DEGREES)
        yield f"what is the {n} set to"
    for command in ("open", "close", "lock", "unlock"):
        if device.can(command):
            yield f"{command} the {n}"


def _chinese(registry: Any) -> Iterable[str]:
    devices = registry.devices() if registry is not None else []
    rooms = registry.rooms() if registry is not None else {}
    zh_room = {room: next((a for a in aliases if is_chinese(a)), None) for room, aliases in rooms.items()}
    for device in devices:
        names = [n for n in device.aliases if is_chinese(n)]
        room = zh_room.get(device.room) if device.room else None
        if room and device.kind in KIND_NAME_ZH:
            names.append(f"{room} 的 {KIND_NAME_ZH[device.kind]}")
        for n in names:
            if device.can("on") or device.can("off"):
                yield from (
                    f"打开 {n}",
                    f"关闭 {n}",
                    f"关掉 {n}",
                    f"把 {n} 打开",
                    f"把 {n} 关掉",
                    f"把 {n} 关上",
                )
            if "state" in device.states:
                yield from (f"{n} 开着 吗", f"{n} 关了 吗")
            if device.can("temperature"):
                yield from (f"把 {n} 调到 {spell_zh(t)} 度" for t in DEGREES)
            if device.can("lock"):
                yield from (f"把 {n} 锁上", f"把 {n} 解锁")
    for room, name in zh_room.items():
        if not name:
            continue
        in_room = [d for d in devices if d.room == room]
        if any({"temperature", "current_temperature"} & set(d.states) for d in in_room):
            yield from (f"{name} 温度 多少", f"{name} 几度")
        if any(d.can("off") for d in in_room):
            yield from (f"把 {name} 的 所有 设备 关掉", f"把 {name} 的 所有 设备 打开")

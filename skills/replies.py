"""What the device skill says, in a few words, in the language it was spoken to."""

from __future__ import annotations

from typing import Any

_DONE_EN = {
    "on": "Turning on {t}.",
    "off": "Turning off {t}.",
    "open": "Opening {t}.",
    "close": "Closing {t}.",
    "stop": "Stopping {t}.",
    "lock": "Locking {t}.",
    "unlock": "Unlocking {t}.",
    "brightness": "Setting {t} to {v} percent.",
    "temperature": "Setting {t} to {v} degrees.",
}
_DONE_ZH = {
    "on": "好的，打开{t}。",
    "off": "好的，关闭{t}。",
    "open": "好的，打开{t}。",
    "close": "好的，关上{t}。",
    "stop": "好的，{t}停下了。",
    "lock": "好的，锁上{t}。",
    "unlock": "好的，{t}已解锁。",
    "brightness": "好的，{t}亮度调到百分之{v}。",
    "temperature": "好的，{t}调到{v}度。",
}
_ACTION_EN = {
    "on": "turned on", "off": "turned off", "open": "opened", "close": "closed", "stop": "stopped",
    "lock": "locked", "unlock": "unlocked", "brightness": "dimmed", "temperature": "set to a temperature",
    "set": "set to that", "query": "asked about that",
}  # fmt: skip
_STATE_EN = {"on": "on", "off": "off", "open": "open", "closed": "closed", "opening": "opening",
             "closing": "closing", "stopped": "stopped", "locked": "locked", "unlocked": "unlocked",
             "locking": "locking", "unlocking": "unlocking", "jammed": "jammed"}  # fmt: skip
_STATE_ZH = {"on": "开着", "off": "关着", "open": "开着", "closed": "关着", "opening": "正在打开",
             "closing": "正在关闭", "stopped": "停着", "locked": "锁着", "unlocked": "没锁",
             "locking": "正在上锁", "unlocking": "正在解锁", "jammed": "卡住了"}  # fmt: skip
_SAME = {"on": "on", "off": "off", "open": "open", "closed": "closed", "locked": "locked",
         "unlocked": "unlocked", "opening": "open", "closing": "closed"}  # fmt: skip


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


class Replies:
    def __init__(self, zh: bool) -> None:
        self.zh = zh

    def done(self, command: str, label: str, value: float | None, count: int, everything: bool) -> str:
        if everything and not self.zh and command in ("on", "off"):
            return (
                f"Turning {command} {label}."
                if count > 1
                else _DONE_EN[command].format(t=label, v=_num(value))
            )
        table = _DONE_ZH if self.zh else _DONE_EN
        return table[command].format(t=label, v=_num(value))

    def confirm(self, action: str, label: str) -> str:
        if self.zh:
            return f"确定要{'解锁' if action == 'unlock' else '锁上'}{label}吗？"
        return f"Do you want me to {action} {label}? Say yes or no."

    def leave(self, label: str) -> str:
        return f"好的，{label}保持不变。" if self.zh else f"Okay, I'll leave {label} as it is."

    def which(self, target: Any) -> str:
        from skills.targets import Namer

        names = [Namer({}, self.zh).device(d) for d in target.choices[:4]]
        if self.zh:
            return f"哪一个？有{'、'.join(names)}。"
        listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        return f"Which one: {listed}?"

    def unknown(self, spoken: str, suggestion: str | None, any_devices: bool) -> str:
        if self.zh:
            text = f"我不知道叫“{spoken}”的设备。"
            if suggestion:
                return text + f"你是说{suggestion}吗？"
            return text if any_devices else text + "还没有设置任何家居设备。"
        text = f"I don't know a device called {spoken}."
        if suggestion:
            return text + f" Did you mean {suggestion}?"
        return text if any_devices else text + " No home devices are set up yet."

    def unsupported(self, action: str, label: str) -> str:
        if self.zh:
            return f"{label}不支持这个操作。"
        return f"{label[0].upper()}{label[1:]} can't be {_ACTION_EN.get(action, 'used that way')}."

    def no_hub(self) -> str:
        if self.zh:
            return "还没有连接智能家居。请先设置 MQTT。"
        return "I'm not connected to a smart home hub. Set up MQTT first."

    def offline(self) -> str:
        return "抱歉，现在连不上智能家居。" if self.zh else "Sorry, I can't reach your smart home right now."

    def no_state(self, label: str) -> str:
        return f"还没有收到{label}的状态。" if self.zh else f"I haven't heard from {label} yet."

    def cannot_measure(self, quantity: str, label: str) -> str:
        word = {"humidity": "湿度", "setpoint": "设定温度"}.get(quantity, "温度")
        if self.zh:
            return f"{label}没有{word}信息。"
        return f"I don't have a {'set temperature' if quantity == 'setpoint' else quantity} for {label}."

    def measured(self, quantity: str, target: Any, number: float, device: Any, setpoint: bool) -> str:
        label = target.label
        if self.zh:
            place = label.removesuffix("的所有设备")
            if quantity == "humidity":
                return f"{place}的湿度是百分之{_num(number)}。"
            return f"{place}设定在{_num(number)}度。" if setpoint else f"{place}现在{_num(number)}度。"
        if setpoint:
            return f"{label[0].upper()}{label[1:]} is set to {_num(number)} degrees."
        place = label.removeprefix("everything in ")
        if quantity == "humidity":
            return f"The humidity in {place} is {_num(number)} percent."
        where = f"in {place}" if target.everything else f"at {place}"
        return f"It's {_num(number)} degrees {where}."

    def state(self, label: str, word: str, asked: str | None) -> str:
        if self.zh:
            return f"{label}{_STATE_ZH.get(word, '状态不一')}。"
        if word == "mixed":
            return f"Some of {label} are on and some are off."
        plural = " and " in label or label.endswith(
            ("lights", "switches", "blinds", "thermostats", "devices")
        )
        verb = "are" if plural else "is"
        said = f"{label} {verb} {_STATE_EN.get(word, word)}."
        if asked is None:
            return said[0].upper() + said[1:]
        yes = _SAME.get(word) == asked
        return f"{'Yes' if yes else 'No'}, {said}"

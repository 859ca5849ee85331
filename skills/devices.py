"""Home devices by voice: on/off, brightness, temperature, open/close, lock/unlock, and their state.

Runs without the language model: the request is parsed (`device_intents`), the devices found
(`targets`), the command published on the broker at once, and acknowledged in a few words.
Locking and unlocking ask first; the next utterance answers (yes/no), within a time limit.
Questions ("is the front door locked?", "卧室温度多少") are answered from the retained state the
devices published.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skills import SkillContext, SkillReply
from skills.device_intents import Request, answer, parse
from skills.replies import Replies
from skills.targets import Namer, Target, resolve
from speaker.events import DeviceCommand
from speaker.home.devices import as_number, state_word

# A spoken "on"/"off" means the natural action of each kind.
_ON_OFF = {
    ("on", "cover"): "open",
    ("off", "cover"): "close",
    ("on", "lock"): "unlock",
    ("off", "lock"): "lock",
    ("open", "lock"): "unlock",  # "open the front door"
    ("close", "lock"): "lock",
}
_EVERYTHING_SKIPS = {"lock", "cover", "sensor"}  # "turn off everything" never unlocks or opens


@dataclass
class _Pending:
    request: Request
    target: Target
    expires: float


class DeviceSkill:
    name = "devices"

    def __init__(self, *, confirm_locks: bool = True, confirm_timeout_s: float = 20.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.confirm_locks = confirm_locks
        self.confirm_timeout_s = confirm_timeout_s
        self.clock = clock
        self._pending: _Pending | None = None
        self.answers = _Answers(self)

    def answer_pending(self, utterance: str, context: SkillContext) -> SkillReply | None:
        """The yes/no to a question asked in the turn before; anything else drops the question."""
        pending = self._take_pending()
        if pending is None:
            return None
        said = answer(utterance)
        if said == "confirm":
            return self._execute(pending.request, pending.target, context)
        if said == "deny":
            return SkillReply("confirm_denied", Replies(pending.request.zh).leave(pending.target.label), {})
        return None

    def handle(self, utterance: str, context: SkillContext) -> SkillReply | None:
        readings = parse(utterance)
        if not readings:
            return None
        first: tuple[Request, Target] | None = None
        for request in readings:
            target = resolve(request.target, context.devices, request.zh)
            if target.devices:
                return self._act(request, target, context)
            first = first or (request, target)
        request, target = first  # type: ignore[misc]
        r = Replies(request.zh)
        if target.choices:
            return SkillReply("device_ambiguous", r.which(target), {"target": request.target})
        known = bool(context.devices is not None and context.devices.devices())
        return SkillReply(
            "device_unknown", r.unknown(target.spoken, target.suggestion, known), {"target": request.target}
        )

    def _take_pending(self) -> _Pending | None:
        pending, self._pending = self._pending, None
        if pending is not None and self.clock() > pending.expires:
            return None
        return pending

    def _act(self, request: Request, target: Target, context: SkillContext) -> SkillReply:
        if request.action == "query":
            return self._query(request, target, context)
        action = _command(request.action, "lock")
        locks = tuple(d for d in target.devices if d.kind == "lock")
        if locks and action in ("lock", "unlock") and not target.everything:
            target = Target(locks, target.label, target.spoken)  # only the locks, and asked first
            if self.confirm_locks:
                self._pending = _Pending(request, target, self.clock() + self.confirm_timeout_s)
                return SkillReply(
                    "confirm", Replies(request.zh).confirm(action, target.label), {"action": action}
                )
        return self._execute(request, target, context)

    def _execute(self, request: Request, target: Target, context: SkillContext) -> SkillReply:
        r = Replies(request.zh)
        sends: list[tuple[Any, str, float | None]] = []
        for device in target.devices:
            if target.everything and device.kind in _EVERYTHING_SKIPS:
                continue
            command, value = _command(request.action, device.kind), request.value
            if command == "set":
                command = "temperature" if device.can("temperature") else "brightness"
            if device.can(command):
                sends.append((device, command, value))
        if not sends:
            return SkillReply("device_unsupported", r.unsupported(request.action, target.label), {})
        if context.publish is None:
            return SkillReply("device_offline", r.no_hub(), {})
        sent = [self._send(device, command, value, context) for device, command, value in sends]
        slots = {"devices": [d.id for d, _, _ in sends], "command": sends[0][1], "value": request.value}
        if not any(sent):
            return SkillReply("device_offline", r.offline(), slots)
        command, value = sends[0][1], request.value
        label, everything = target.label, target.everything
        if everything and len(sends) == 1:  # "set the bedroom to 21 degrees": its thermostat
            rooms = context.devices.rooms() if context.devices is not None else {}
            label, everything = Namer(rooms, request.zh).device(sends[0][0]), False
        return SkillReply(f"device_{command}", r.done(command, label, value, len(sends), everything), slots)

    def _send(self, device: Any, command: str, value: float | None, context: SkillContext) -> bool:
        spec = device.commands[command]
        payload = spec.render(device.command_value(command, value))
        assert context.publish is not None
        sent = context.publish(spec.topic, payload, spec.retain, spec.qos)
        if context.emit is not None:
            context.emit(
                DeviceCommand(device=device.id, command=command, topic=spec.topic, payload=payload, sent=sent)
            )
        return sent

    def _query(self, request: Request, target: Target, context: SkillContext) -> SkillReply:
        r = Replies(request.zh)
        registry = context.devices
        quantity = request.quantity or "status"
        if quantity in ("temperature", "humidity", "setpoint"):
            wanted = "temperature" if quantity == "setpoint" else quantity
            for device in target.devices:
                names = [wanted] if quantity == "setpoint" else [wanted, f"current_{wanted}"]
                if quantity == "temperature" and device.kind == "climate":
                    names = ["current_temperature", "temperature"]
                for name in names:
                    if name in device.states:
                        state = registry.state(device, name)
                        number = as_number(state.value) if state else None
                        if number is None:
                            return SkillReply("query", r.no_state(target.label), {})
                        return SkillReply(
                            "query",
                            r.measured(quantity, target, number, device, setpoint=quantity == "setpoint"),
                            {"device": device.id, quantity: number},
                        )
            return SkillReply("query", r.cannot_measure(quantity, target.label), {})
        states = [(d, registry.state(d, "state")) for d in target.devices if "state" in d.states]
        known = [(d, state_word(s.value)) for d, s in states if s is not None and state_word(s.value)]
        if not known:
            return SkillReply("query", r.no_state(target.label), {})
        words = {w for _, w in known}
        asked = quantity.removeprefix("state:") if quantity.startswith("state:") else None
        word = words.pop() if len(words) == 1 else "mixed"
        return SkillReply("query", r.state(target.label, word, asked), {"state": word})


def _command(action: str, kind: str) -> str:
    return _ON_OFF.get((action, kind), action)


class _Answers:
    """The device skill's yes/no half, placed first in the skill set."""

    name = "devices"

    def __init__(self, skill: DeviceSkill) -> None:
        self.skill = skill

    def handle(self, utterance: str, context: SkillContext) -> SkillReply | None:
        return self.skill.answer_pending(utterance, context)

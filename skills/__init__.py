"""Local intents: utterances the speaker handles itself, at once, without the language model.

A skill looks at one utterance and either claims it (returning what to say and do) or passes.
The first skill that claims an utterance wins, so more specific skills come first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from speaker.controls import Controls
    from speaker.home.registry import DeviceRegistry
    from speaker.timers import TimerService

Publish = Callable[[str, str, bool, int], bool]  # MQTT (topic, payload, retain, qos) -> sent


@dataclass(frozen=True)
class SkillContext:
    """What skills may use. Everything past `now` is None when the speaker runs without it."""

    language: str = "en"
    now: Callable[[], datetime] = datetime.now
    devices: DeviceRegistry | None = None  # the home's devices and their last known state
    publish: Publish | None = None  # None: no broker configured
    emit: Callable[[Any], Any] | None = None  # the event bus: skills report what they did
    controls: Controls | None = None  # output volume, microphone mute
    timers: TimerService | None = None


@dataclass(frozen=True)
class SkillReply:
    intent: str
    text: str  # what to say; may be empty (stop says nothing)
    slots: dict[str, Any] = field(default_factory=dict)
    action: str | None = None  # something the loop must do: "stop" (silence playback)


class Skill(Protocol):
    name: str

    def handle(self, utterance: str, context: SkillContext) -> SkillReply | None: ...


class SkillSet:
    def __init__(self, skills: Sequence[Skill]) -> None:
        self.skills = list(skills)

    def handle(self, utterance: str, context: SkillContext) -> tuple[Skill, SkillReply] | None:
        for skill in self.skills:
            reply = skill.handle(utterance, context)
            if reply is not None:
                return skill, reply
        return None


def normalize(utterance: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed: what skills match against."""
    kept = "".join(c if c.isalnum() or c.isspace() or c == "'" else " " for c in utterance.lower())
    return " ".join(kept.split())


def default_skills(*, confirm_locks: bool = True, confirm_timeout_s: float = 20.0) -> SkillSet:
    from skills.clock import ClockSkill
    from skills.control import StopSkill
    from skills.devices import DeviceSkill
    from skills.timer import TimerSkill
    from skills.volume import VolumeSkill

    devices = DeviceSkill(confirm_locks=confirm_locks, confirm_timeout_s=confirm_timeout_s)
    # A pending "unlock the front door?" is answered before anything else looks at "yes" or "no".
    return SkillSet([devices.answers, StopSkill(), VolumeSkill(), TimerSkill(), devices, ClockSkill()])

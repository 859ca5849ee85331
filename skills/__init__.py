"""Local intents: utterances the speaker handles itself, at once, without the language model.

A skill looks at one utterance and either claims it (returning what to say and do) or passes.
The first skill that claims an utterance wins, so more specific skills come first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class SkillContext:
    language: str = "en"
    now: Callable[[], datetime] = datetime.now


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


def default_skills() -> SkillSet:
    from skills.clock import ClockSkill
    from skills.control import StopSkill

    return SkillSet([StopSkill(), ClockSkill()])

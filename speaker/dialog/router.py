"""Pick the dialog mode for one utterance, and say why.

In order: a mode forced by the caller (`speaker ask --mode`); an explicit request ("switch to
inspiration mode", "let's brainstorm", "我想聊聊天"); the cue classifier. Within a conversation
the current mode gets a head start (`follow_up_bonus`), so "and why is that?" stays where it
was, while "give me a name for my cat" after talking about the moon clearly moves on.
Nothing here loads a model: routing is pure text, deterministic, well under a millisecond.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from speaker.dialog.classifier import CueClassifier
from speaker.dialog.commands import CommandFinder
from speaker.dialog.modes import ModeBook
from speaker.text.language import detect_language

Source = Literal["forced", "explicit", "command", "classifier", "follow_up", "default"]


@dataclass(frozen=True)
class RouteDecision:
    text: str  # the utterance as heard
    mode: str
    confidence: float  # 0..1
    reason: str
    source: Source
    language: str  # "en" or "zh": the language of the prompt and of anything said without the model
    command: Literal["switch", "forget"] | None = None  # an utterance that is a command
    rest: str = ""  # what is left to answer once a command is taken out ("" for a bare command)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k in ("text", "mode", "confidence", "reason")}


class ModeRouter:
    def __init__(self, book: ModeBook, *, follow_up_bonus: float = 2.0) -> None:
        self.book = book
        self.follow_up_bonus = follow_up_bonus
        self.commands = CommandFinder(book)
        self.classifier = CueClassifier(book)

    def route(self, text: str, *, current: str | None = None, forced: str | None = None) -> RouteDecision:
        """The mode for `text`. `current`: the conversation's mode, if one is going on."""
        language = detect_language(text)
        if forced is not None:
            self.book.require(forced)
            return RouteDecision(text, forced, 1.0, "forced by the caller", "forced", language, rest=text)
        command = self.commands.find(text)
        if command is not None and command.kind == "forget":
            mode = self.book.default
            reason = f"command: {command.phrase!r} starts a new conversation"
            return RouteDecision(text, mode, 1.0, reason, "command", language, "forget")
        if command is not None and command.mode is not None:
            reason = f"explicit request: {command.phrase!r}"
            if not command.rest:
                return RouteDecision(text, command.mode, 1.0, reason, "explicit", language, "switch")
            language = detect_language(command.rest)
            return RouteDecision(text, command.mode, 1.0, reason, "explicit", language, rest=command.rest)
        return self._classify(text, language, current)

    def _classify(self, text: str, language: str, current: str | None) -> RouteDecision:
        scores = self.classifier.scores(text)
        total = sum(s.score for s in scores)
        best = scores[0]
        if current is not None and current in self.book.modes:
            mine = next(s for s in scores if s.mode == current)
            kept = mine.score + self.follow_up_bonus
            if kept >= best.score:
                confidence = kept / (total + self.follow_up_bonus + 1.0)
                if best.score == 0:
                    reason = f"follow-up: no cue, stays in {current}"
                elif best.mode == current:
                    reason = f"follow-up in {current}; cues {_quote(mine.cues)}"
                else:
                    reason = (
                        f"follow-up: stays in {current}; cues for {best.mode} {_quote(best.cues)} "
                        "not clear enough to change"
                    )
                confidence = round(confidence, 2)
                return RouteDecision(text, current, confidence, reason, "follow_up", language, rest=text)
        if best.score <= 0:
            reason = f"no cue matched; default mode {self.book.default}"
            return RouteDecision(text, self.book.default, 0.0, reason, "default", language, rest=text)
        confidence = best.score / (total + 1.0)
        reason = f"cues {_quote(best.cues)}"
        if current is not None and current != best.mode:
            reason += f" (changed from {current})"
        return RouteDecision(text, best.mode, round(confidence, 2), reason, "classifier", language, rest=text)


def _quote(cues: tuple[str, ...], most: int = 4) -> str:
    shown = ", ".join(repr(c) for c in cues[:most])
    return shown + (", ..." if len(cues) > most else "")

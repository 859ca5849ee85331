"""One conversation: route each utterance, build what the model sees, remember what was said.

`plan()` turns an utterance into a TurnPlan: the mode and why, and either a reply to say at
once (a bare "switch to inspiration mode", "new conversation") or the messages and sampling
options for the language model. `remember()` stores the exchange once the reply is spoken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from speaker.dialog.memory import ConversationMemory, estimate_tokens
from speaker.dialog.modes import ModeBook, ModeSpec
from speaker.dialog.router import ModeRouter, RouteDecision
from speaker.llm.base import ChatMessage, GenerationOptions
from speaker.settings import DialogSettings
from speaker.text.transcript import as_written

FORGOTTEN = {"en": "Okay, let's start fresh.", "zh": "好的，我们重新开始。"}


@dataclass(frozen=True)
class TurnPlan:
    decision: RouteDecision
    spec: ModeSpec
    language: str
    messages: tuple[ChatMessage, ...] = ()
    options: GenerationOptions | None = None
    reply: str | None = None  # said at once, without the language model
    reset: str | None = None  # the conversation was forgotten before this turn: "idle" or "command"
    forgotten: int = 0  # exchanges forgotten

    @property
    def mode(self) -> str:
        return self.decision.mode

    @property
    def spoken_limit_s(self) -> float:
        return self.spec.spoken_limit_s


class Dialog:
    def __init__(
        self,
        book: ModeBook,
        settings: DialogSettings | None = None,
        *,
        seed: int = 7,
        count_tokens: Callable[[str], int] = estimate_tokens,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.book = book
        self.settings = settings or DialogSettings()
        self.seed = seed
        self.router = ModeRouter(book, follow_up_bonus=self.settings.follow_up_bonus)
        self.memory = ConversationMemory(
            budget_tokens=self.settings.memory_tokens,
            idle_timeout_s=self.settings.idle_timeout_s,
            count_tokens=count_tokens,
            clock=clock,
        )

    def language_for(self, text_language: str) -> str:
        return text_language if self.settings.language == "auto" else self.settings.language

    def system_prompts(self, language: str | None = None) -> list[ChatMessage]:
        """Each mode's system message (for warming the model's prompt state)."""
        lang = language or ("en" if self.settings.language == "auto" else self.settings.language)
        return [ChatMessage("system", spec.system_prompt(lang)) for spec in self.book.modes.values()]

    def plan(self, text: str, *, forced_mode: str | None = None, tentative: bool = False) -> TurnPlan:
        """How to answer `text`. `tentative`: for an answer prepared before the user has surely
        finished; the conversation is left as it is (the plan is what a real one would be)."""
        reset, forgotten = None, 0
        idle = self.memory.idle()
        if idle and not tentative:
            reset, forgotten = "idle", self.memory.clear()
        current = None if idle else self.memory.mode
        decision = self.router.route(text, current=current, forced=forced_mode)
        spec = self.book[decision.mode]
        language = self.language_for(decision.language)
        if decision.command == "forget":
            forgotten += 0 if tentative else self.memory.clear()
            reply = FORGOTTEN.get(language, FORGOTTEN["en"])
            return TurnPlan(decision, spec, language, reply=reply, reset="command", forgotten=forgotten)
        if decision.command == "switch":
            if not tentative:
                self.memory.set_mode(decision.mode)
            return TurnPlan(decision, spec, language, reply=spec.text(spec.greeting, language) or "Okay.")
        # The model sees the earlier turns of this mode only: a small model given another mode's
        # answers tends to repeat them ("the best way to ... is finding the right environment")
        # instead of answering, and a shorter context answers sooner.
        messages = (
            ChatMessage("system", spec.system_prompt(language)),
            *(() if idle else self.memory.messages(decision.mode)),
            ChatMessage("user", as_written(decision.rest or text)),
        )
        s = spec.sampling
        options = GenerationOptions(s.max_tokens, s.temperature, s.top_p, s.repeat_penalty, self.seed)
        return TurnPlan(decision, spec, language, messages, options, reset=reset, forgotten=forgotten)

    def remember(self, plan: TurnPlan, reply: str) -> None:
        """Keep the exchange (what the user asked, what the model said) for the turns that follow."""
        if plan.reply is not None or not plan.messages:
            return
        if reply.strip():
            self.memory.add(plan.messages[-1].content, reply.strip(), plan.mode)
        else:
            self.memory.set_mode(plan.mode)


def system_prompts_to_warm(
    dialog: Dialog | None, system_prompt: str, languages: tuple[str, ...]
) -> list[ChatMessage]:
    """The system messages a model evaluates ahead: each mode's in `languages`, or without dialog
    modes the one `system_prompt`."""
    if dialog is None:
        return [ChatMessage("system", system_prompt)]
    return [prompt for language in languages for prompt in dialog.system_prompts(language)]

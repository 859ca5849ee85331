"""Conversation memory: the earlier turns the model sees, within a token budget, forgotten when idle.

Trimming drops the oldest exchanges. Every trim shifts the history the model has already
evaluated, so the next turn pays for the whole history again; trimming therefore goes down to
three quarters of the budget, which leaves room for a few turns before the next trim.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from speaker.llm.base import ChatMessage
from speaker.text.language import has_hanzi

MESSAGE_OVERHEAD_TOKENS = 5  # the chat template's role markers around each message
TRIM_TO = 0.75


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: a token per Chinese character, per ~4 other characters."""
    hanzi = sum(1 for c in text if has_hanzi(c))
    return hanzi + (len(text) - hanzi + 3) // 4


@dataclass(frozen=True)
class Exchange:
    user: str
    assistant: str
    mode: str
    tokens: int


class ConversationMemory:
    def __init__(
        self,
        *,
        budget_tokens: int = 600,
        idle_timeout_s: float = 300.0,
        count_tokens: Callable[[str], int] = estimate_tokens,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget_tokens = budget_tokens
        self.idle_timeout_s = idle_timeout_s
        self.count_tokens = count_tokens
        self.clock = clock
        self.exchanges: list[Exchange] = []
        self.mode: str | None = None  # the conversation's current mode; None: no conversation
        self.last_active: float | None = None
        self.trimmed = 0  # exchanges dropped to stay within the budget, over the conversation

    @property
    def active(self) -> bool:
        return self.mode is not None or bool(self.exchanges)

    @property
    def tokens(self) -> int:
        return sum(e.tokens for e in self.exchanges)

    def idle(self) -> bool:
        """Has the conversation been quiet for longer than the idle timeout?"""
        if not self.active or self.last_active is None:
            return False
        return self.clock() - self.last_active > self.idle_timeout_s

    def clear(self) -> int:
        """Forget everything; returns how many exchanges were forgotten."""
        forgotten = len(self.exchanges)
        self.exchanges.clear()
        self.mode = None
        self.last_active = None
        self.trimmed = 0
        return forgotten

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.last_active = self.clock()

    def add(self, user: str, assistant: str, mode: str) -> None:
        """Remember one exchange, then trim to the budget."""
        tokens = self.count_tokens(user) + self.count_tokens(assistant) + 2 * MESSAGE_OVERHEAD_TOKENS
        self.exchanges.append(Exchange(user, assistant, mode, tokens))
        self.set_mode(mode)
        if self.tokens > self.budget_tokens:
            while self.exchanges and self.tokens > self.budget_tokens * TRIM_TO:
                self.exchanges.pop(0)
                self.trimmed += 1

    def messages(self, mode: str | None = None) -> list[ChatMessage]:
        """The exchanges as chat messages; with `mode`, only that mode's (see Dialog.plan)."""
        out: list[ChatMessage] = []
        for exchange in self.exchanges:
            if mode is not None and exchange.mode != mode:
                continue
            out.append(ChatMessage("user", exchange.user))
            out.append(ChatMessage("assistant", exchange.assistant))
        return out

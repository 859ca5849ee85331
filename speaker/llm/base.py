"""The interface every chat model implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    max_tokens: int = 80
    temperature: float = 0.3
    top_p: float = 0.9
    repeat_penalty: float = 1.1
    seed: int = 7
    stop: tuple[str, ...] = ()


@dataclass
class GenerationStats:
    """Filled in while a reply streams; read it after the iterator is exhausted."""

    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose state was reused, not evaluated again
    completion_tokens: int = 0
    prompt_seconds: float = 0.0  # from the call until the first token
    generate_seconds: float = 0.0  # from the first token until the last
    paused_seconds: float = 0.0  # of which the reader held the model back (waiting for the voice)
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        writing = self.generate_seconds - self.paused_seconds
        if self.completion_tokens <= 1 or writing <= 0:
            return 0.0
        return (self.completion_tokens - 1) / writing

    def as_dict(self) -> dict[str, float]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_seconds": round(self.prompt_seconds, 4),
            "generate_seconds": round(self.generate_seconds, 4),
            "paused_seconds": round(self.paused_seconds, 4),
            "tokens_per_second": round(self.tokens_per_second, 1),
            **self.extra,
        }


class ChatModel(Protocol):
    def load(self) -> None:
        """Load the model (slow); construction only stores settings."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        """Yield the reply as text pieces as soon as the model writes them."""

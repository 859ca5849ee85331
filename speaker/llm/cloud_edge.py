"""Cloud-edge collaboration: per turn, the local model or a bigger one on the LAN, never an error.

The policy (`llm.remote.policy`) decides per turn: `local` always; `remote` whenever the server
answers; `heavy` for the modes named in `heavy_modes` (knowledge) and for long questions. When
the remote cannot be reached, or its first token is late, the local model answers instead and
the user hears a normal reply; after a failure the remote rests for `retry_after_s`. If the
remote stalls after it started speaking, the reply ends at what was already said.
Every turn emits `llm_model` events saying which model answers and why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from speaker.events import EventBus, LlmModelChosen
from speaker.llm.base import ChatMessage, ChatModel, GenerationOptions, GenerationStats
from speaker.llm.remote import RemoteChatModel, RemoteError
from speaker.settings import RemoteSettings
from speaker.text.length import spoken_seconds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    source: Literal["local", "remote"]
    reason: str


class CloudEdgePolicy:
    def __init__(self, settings: RemoteSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._failed_at: float | None = None
        self._failure = ""

    def choose(self, text: str, mode: str | None, *, remote_available: bool) -> ModelChoice:
        s = self.settings
        if not remote_available or s.policy == "local":
            return ModelChoice("local", "policy local" if remote_available else "no remote configured")
        if self._failed_at is not None:
            waited = self.clock() - self._failed_at
            if waited < s.retry_after_s:
                return ModelChoice("local", f"remote failed {waited:.0f} s ago ({self._failure}); resting")
        if s.policy == "remote":
            return ModelChoice("remote", "policy remote")
        if mode is not None and mode in s.heavy_modes:
            return ModelChoice("remote", f"policy heavy: {mode} mode")
        seconds = spoken_seconds(text)
        if seconds >= s.heavy_min_seconds:
            return ModelChoice("remote", f"policy heavy: long question ({seconds:.1f} s)")
        return ModelChoice("local", f"policy heavy: short {mode or 'plain'} question stays local")

    def failed(self, kind: str) -> None:
        self._failed_at = self.clock()
        self._failure = kind

    def succeeded(self) -> None:
        self._failed_at = None


class CloudEdge:
    """Streams a turn's reply from the model the policy picks, falling back to the local one."""

    def __init__(
        self,
        local: ChatModel,
        bus: EventBus,
        *,
        local_name: str = "local",
        remote: RemoteChatModel | None = None,
        policy: CloudEdgePolicy | None = None,
    ) -> None:
        self.local = local
        self.bus = bus
        self.local_name = local_name
        self.remote = remote
        self.policy = policy or CloudEdgePolicy(RemoteSettings())

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        stats: GenerationStats,
        *,
        text: str = "",
        mode: str | None = None,
        emit: Callable[[Any], Any] | None = None,
    ) -> Iterator[str]:
        """The reply's text as it streams; which model answers is announced through `emit`
        (default: the event bus; a reply prepared ahead holds its events back)."""
        emit = emit or self.bus.emit
        choice = self.policy.choose(text, mode, remote_available=self.remote is not None)
        if choice.source == "local" or self.remote is None:
            self._announce(emit, "local", choice.reason)
            yield from self.local.stream(messages, options, stats)
            return
        self._announce(emit, "remote", choice.reason)
        pieces = self.remote.stream(messages, options, stats)
        try:
            first = next(pieces, None)
        except RemoteError as exc:
            self._fall_back(exc, stats, emit)
            yield from self.local.stream(messages, options, stats)
            return
        if first is None:
            self._fall_back(RemoteError("protocol", f"{self.remote.name}: an empty reply"), stats, emit)
            yield from self.local.stream(messages, options, stats)
            return
        self.policy.succeeded()
        yield first
        try:
            yield from pieces
        except RemoteError as exc:  # mid-reply: what was said stays said, the reply ends here
            self.policy.failed(exc.kind)
            stats.extra["remote_stalled"] = 1
            self._announce(
                emit, "remote", f"remote {exc.kind} mid-reply: the reply ends here ({exc.message})"
            )
            log.warning("remote model %s mid-reply: %s", exc.kind, exc.message)
        finally:
            pieces.close()

    def _fall_back(self, exc: RemoteError, stats: GenerationStats, emit: Callable[[Any], Any]) -> None:
        self.policy.failed(exc.kind)
        stats.prompt_tokens = stats.completion_tokens = 0
        stats.extra["remote_fallback"] = 1
        log.warning("remote model %s, the local model answers: %s", exc.kind, exc.message)
        self._announce(emit, "local", f"fallback: remote {exc.kind} ({exc.message})", fallback=True)

    def _announce(
        self, emit: Callable[[Any], Any], source: str, reason: str, *, fallback: bool = False
    ) -> None:
        model = self.local_name if source == "local" else (self.remote.name if self.remote else "")
        emit(LlmModelChosen(source=source, model=model, reason=reason, fallback=fallback))

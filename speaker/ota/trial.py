"""The first turns with a new model: counted from the loop's events, failing ones trigger a rollback.

After a switch, each component must get through `ota.trial_turns` turns that used it:
    llm   a turn answered by the model (not a local skill) with at least one token, no llm error
    tts   a turn with spoken audio and no tts error
    asr   a transcript with no asr error
    wake  a wake-up (a detector that raises takes the loop down: its health check must catch it)
An error event of the component's stage fails the trial at once. The watcher only decides;
the runtime's worker thread does the rollback or the confirmation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from speaker.events import ErrorEvent, Event, Transcript, TurnDone, Wake


@dataclass
class Watch:
    version: str
    turns_left: int
    old_engine: Any = None  # the engine it replaced, kept for an instant rollback (None: reload)


Decision = Callable[[str, str, str], None]  # (component, "turn" | "failed", reason)


class TrialWatcher:
    """An EventBus listener; `decide` is called with each good turn and with a failure."""

    def __init__(self, decide: Decision) -> None:
        self.decide = decide
        self._lock = threading.Lock()
        self.watches: dict[str, Watch] = {}

    def watch(self, component: str, watch: Watch) -> None:
        with self._lock:
            self.watches[component] = watch

    def stop(self, component: str) -> Watch | None:
        with self._lock:
            return self.watches.pop(component, None)

    def __call__(self, event: Event) -> None:
        with self._lock:
            components = list(self.watches)
        for component in components:
            verdict = judge(component, event)
            if verdict is None:
                continue
            ok, reason = verdict
            if ok:
                self.decide(component, "turn", "")
            else:
                self.decide(component, "failed", reason)


def judge(component: str, event: Event) -> tuple[bool, str] | None:
    """(True, "") for a good turn of `component`, (False, why) for a failure, None: not about it."""
    if isinstance(event, ErrorEvent):
        if event.stage == component:
            return False, f"{event.code}: {event.message}"
        return None
    if component == "llm" and isinstance(event, TurnDone) and event.llm:
        if event.llm.get("completion_tokens", 0) < 1:
            return False, "the model wrote nothing"
        return True, ""
    if component == "tts" and isinstance(event, TurnDone) and event.reply:
        if event.audio_seconds <= 0 and not event.interrupted:
            return False, "the voice produced no audio"
        return True, ""
    if component == "asr" and isinstance(event, Transcript):
        return True, ""
    if component == "wake" and isinstance(event, Wake):
        return True, ""
    return None

"""Engines replaced while the speaker runs: handed over from any thread, put in place between turns.

An over-the-air update loads the new model in the background, then `offer()`s the engine here.
The voice loop calls this object once per chunk of input (it is one of its tick hooks); when the
loop is idle (waiting for the wake word, no turn running) the offered engines replace the old
ones, and each offer's callback gets the engine it replaced (to keep for a rollback, or to drop).
A turn therefore always runs on one consistent set of engines.

What the running speaker gave the old engine carries over to the new one:
- wrappers around an engine (the microphone mute around the wake word: anything with `inner` and
  `replace_inner`) stay in place, and the engine inside them is replaced (`replace_wrapped`);
- a recognizer's grammar (the home's device names and commands) is given to the new recognizer
  when it is offered, on the offering thread, before it hears anything (`carry_over`);
- the services that hold an engine themselves (timer announcements, the grammar follower) are told
  by the loop's `replaced_hooks`. The volume is applied to the audio sink, not to the voice, so a
  new voice plays at the volume set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

Swapped = Callable[[Any], None]  # called on the loop's thread with the engine that was replaced


class Swappable(Protocol):
    def idle(self) -> bool: ...

    def engine(self, stage: str) -> Any: ...

    def replace_engine(self, stage: str, engine: Any) -> Any: ...


def unwrapped(engine: Any) -> Any:
    """The engine inside any wrappers (each wrapper keeps what it wraps in `inner`)."""
    while hasattr(engine, "replace_inner"):
        engine = engine.inner
    return engine


def replace_wrapped(owner: Any, attr: str, engine: Any) -> Any:
    """Put `engine` in `owner.<attr>`'s place, inside any wrappers there; returns the old one, unwrapped."""
    holder = getattr(owner, attr)
    if not hasattr(holder, "replace_inner"):
        setattr(owner, attr, engine)
        return holder
    while hasattr(holder.inner, "replace_inner"):
        holder = holder.inner
    return holder.replace_inner(engine)


def carry_over(current: Any, new: Any) -> None:
    """Give `new` what the running speaker gave `current`: the recognizer's grammar."""
    phrases = getattr(current, "grammar", None)
    if phrases is None or not hasattr(new, "update_grammar"):
        return
    if set(phrases) != set(getattr(new, "grammar", ())):
        new.update_grammar(tuple(phrases))


class EngineSwap:
    def __init__(self, loop: Swappable) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._offers: dict[str, tuple[Any, Swapped | None]] = {}

    def offer(self, stage: str, engine: Any, on_swapped: Swapped | None = None) -> None:
        """Replace `stage`'s engine at the next idle moment (a newer offer for a stage wins).

        Slow preparation (the recognizer's grammar) happens here, on the caller's thread."""
        carry_over(self.loop.engine(stage), engine)
        with self._lock:
            self._offers[stage] = (engine, on_swapped)

    @property
    def pending(self) -> list[str]:
        with self._lock:
            return sorted(self._offers)

    def __call__(self) -> None:
        """The loop's tick hook: swap now if there is something to swap and no turn is running."""
        if not self._offers or not self.loop.idle():
            return
        with self._lock:
            offers, self._offers = self._offers, {}
        for stage, (engine, on_swapped) in offers.items():
            old = self.loop.replace_engine(stage, engine)
            log.info("%s engine replaced between turns", stage)
            if on_swapped is not None:
                try:
                    on_swapped(old)
                except Exception:  # a listener's bug must not stop the loop
                    log.exception("after replacing the %s engine", stage)

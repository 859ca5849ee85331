"""Engines replaced while the speaker runs: handed over from any thread, put in place between turns.

An over-the-air update loads the new model in the background, then `offer()`s the engine here.
The voice loop calls this object once per chunk of input (it is one of its tick hooks); when the
loop is idle (waiting for the wake word, no turn running) the offered engines replace the old
ones, and each offer's callback gets the engine it replaced (to keep for a rollback, or to drop).
A turn therefore always runs on one consistent set of engines.
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

    def replace_engine(self, stage: str, engine: Any) -> Any: ...


class EngineSwap:
    def __init__(self, loop: Swappable) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._offers: dict[str, tuple[Any, Swapped | None]] = {}

    def offer(self, stage: str, engine: Any, on_swapped: Swapped | None = None) -> None:
        """Replace `stage`'s engine at the next idle moment (a newer offer for a stage wins)."""
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

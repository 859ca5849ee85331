"""Countdown timers: started by voice, rung by the announcer when they run out.

One thread waits for the next timer due; it is started with the first timer and calls
`on_ring(timer)` (which must not block for long: the announcer queues the ring).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_TIMERS = 20
MAX_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Timer:
    id: int
    seconds: float  # as asked
    due: float  # clock time when it rings
    label: str = ""  # how the user named it ("five minutes", "五分钟")
    zh: bool = False


class TimerService:
    def __init__(self, on_ring: Callable[[Timer], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.on_ring = on_ring
        self.clock = clock
        self._timers: dict[int, Timer] = {}
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, seconds: float, label: str = "", zh: bool = False) -> Timer:
        if not 0 < seconds <= MAX_SECONDS:
            raise ValueError(f"a timer must be between 1 second and 24 hours, not {seconds:.0f} s")
        with self._cond:
            if len(self._timers) >= MAX_TIMERS:
                raise ValueError(f"there are already {MAX_TIMERS} timers")
            timer = Timer(next(self._ids), seconds, self.clock() + seconds, label, zh)
            self._timers[timer.id] = timer
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="timers", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        log.info("timer %d set for %.0f s", timer.id, seconds)
        return timer

    def cancel_all(self) -> list[Timer]:
        with self._cond:
            cancelled = list(self._timers.values())
            self._timers.clear()
            self._cond.notify_all()
        return cancelled

    def pending(self) -> list[tuple[Timer, float]]:
        """Running timers, soonest first, with the seconds left."""
        now = self.clock()
        with self._cond:
            timers = sorted(self._timers.values(), key=lambda t: t.due)
        return [(t, max(0.0, t.due - now)) for t in timers]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(2.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    due = [t for t in self._timers.values() if t.due <= self.clock()]
                    if due:
                        for timer in due:
                            del self._timers[timer.id]
                        break
                    nearest = min((t.due for t in self._timers.values()), default=None)
                    self._cond.wait(None if nearest is None else max(0.0, nearest - self.clock()))
                if self._closed:
                    return
            for timer in sorted(due, key=lambda t: t.due):
                try:
                    self.on_ring(timer)
                except Exception:
                    log.exception("ringing timer %d failed", timer.id)

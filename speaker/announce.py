"""Things the speaker says on its own, outside a turn: a timer that rang.

An announcement waits until no turn is in progress (so it never talks over a reply), plays a
chime and says its text, up to `repeats` times, and stops at once when someone wakes the
speaker or says "stop".
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import numpy as np

from speaker.audio.chunk import AudioChunk
from speaker.events import Event, EventBus

log = logging.getLogger(__name__)

BUSY_LIMIT_S = 60.0  # a turn that never reported its end does not hold announcements forever
_BUSY = {"wake"}
_IDLE = {"turn_done", "no_speech", "error"}


def chime(rate: int = 16000) -> AudioChunk:
    """Two soft rising tones, 0.6 s."""
    parts = []
    for freq in (880.0, 1320.0):
        t = np.arange(int(0.25 * rate)) / rate
        envelope = np.minimum(1.0, 12 * t) * np.exp(-5 * t)
        parts.append(0.35 * envelope * np.sin(2 * np.pi * freq * t))
        parts.append(np.zeros(int(0.05 * rate)))
    return AudioChunk.from_array(np.concatenate(parts).astype(np.float32), rate)


class Announcer:
    def __init__(self, tts: Any, sink: Any, bus: EventBus, *, repeats: int = 3, pause_s: float = 1.5) -> None:
        self.tts = tts
        self.sink = sink
        self.bus = bus
        self.repeats = repeats
        self.pause_s = pause_s
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._busy_since: float | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._cancel = threading.Event()
        self._playing = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.bus.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()

    def announce(self, text: str) -> None:
        self._queue.put(text)

    def drain(self, timeout: float) -> bool:
        """Wait until every announcement queued so far has been played (or cancelled)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def close(self) -> None:
        self._cancel.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(2.0)

    def _on_event(self, event: Event) -> None:
        if event.name in _BUSY:
            self._busy_since = time.monotonic()
            self._idle.clear()
            self._silence()  # waking the speaker silences a ringing timer
        elif event.name in _IDLE or (event.name == "transcript" and not getattr(event, "text", "x")):
            self._busy_since = None
            self._idle.set()
        if event.name == "intent" and getattr(event, "intent", "") == "stop":
            self._silence()

    def _silence(self) -> None:
        self._cancel.set()
        if self._playing:
            self.sink.stop()  # what is already queued for the speaker is dropped too

    def _run(self) -> None:
        while (text := self._queue.get()) is not None:
            self._idle.wait(BUSY_LIMIT_S)
            self._cancel.clear()
            try:
                self._play(text)
            except Exception:  # a failed announcement must not stop the next one
                log.exception("announcement %r failed", text)
            finally:
                self._queue.task_done()

    def _play(self, text: str) -> None:
        voice = list(self.tts.synthesize(text))
        self._playing = True
        try:
            self._rounds(voice)
        finally:
            self._playing = False

    def _rounds(self, voice: list[AudioChunk]) -> None:
        for i in range(self.repeats):
            if i and self._cancel.wait(self.pause_s):
                break
            for chunk in [chime(voice[0].rate if voice else 16000), *voice]:
                if self._cancel.is_set():
                    break
                self.sink.play(chunk)
            self.sink.end_reply()
            if self._cancel.is_set():
                break

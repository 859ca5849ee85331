"""What the speaker tells systemd: READY=1 once models are loaded and it listens, then STATUS lines.

A bus listener like any other. `systemctl status speaker` shows the latest line, e.g.
"listening for 'hey computer' on microphone 'USB Audio' (48000 Hz, 2 ch)" or
"waiting for microphone 'USB Audio': no audio for 3.0 s". Other parts add their own lines by
putting a formatter for their event into STATUS_LINES (event name -> text, or None to say nothing),
e.g. STATUS_LINES["update_progress"] = lambda e: f"updating {e.component} {e.percent:.0f}%".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from speaker.events import Event
from speaker.service.notify import SystemdNotifier

StatusLine = Callable[[Any], "str | None"]

STATUS_LINES: dict[str, StatusLine] = {
    "wake": lambda e: "listening to a request",
    "transcript": lambda e: "answering" if e.text.strip() else None,
    "device_lost": lambda e: f"waiting for {e.device}: {e.reason}",
    "error": lambda e: f"error ({e.stage or e.code}): {e.message}",
}


class ServiceStatus:
    def __init__(self, notifier: SystemdNotifier, *, wake_phrase: str) -> None:
        self.notifier = notifier
        self.wake_phrase = wake_phrase
        self.ready = False
        self.turns = 0
        self._input = ""
        self._lost: str | None = None  # what the speaker waits for, while a device is away
        self._last = ""

    def __call__(self, event: Event) -> None:
        name = event.name
        if name == "device_lost":
            self._lost = STATUS_LINES["device_lost"](event)
        elif name == "device_back":
            self._lost = None
            self._input = getattr(event, "device", self._input)
        elif name == "ready":
            self._input = getattr(event, "input", "")
        self.turns += name == "turn_done"
        if name in ("ready", "device_lost", "device_back", "turn_done", "no_speech"):
            text: str | None = self._idle()
        else:
            line = STATUS_LINES.get(name)
            text = line(event) if line is not None else None
        if name == "ready" and not self.ready:
            self.ready = self.notifier.ready(text)
            self._last = text or ""
            return
        if text and text != self._last:
            self.notifier.status(text)
            self._last = text

    def _idle(self) -> str:
        """What the speaker does between turns: listening for its wake word, or waiting for a device."""
        if self._lost is not None:
            return self._lost
        where = f" on {self._input}" if self._input else ""
        done = f" ({self.turns} turn{'s' if self.turns != 1 else ''} so far)" if self.turns else ""
        return f"listening for {self.wake_phrase!r}{where}{done}"

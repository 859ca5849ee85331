"""Output volume and microphone mute: one state, set by voice or by Home Assistant, seen by both.

The volume scales the reply audio (`speaker.audio.volume.VolumeSink`). Mute is the privacy switch
of the microphone: while muted the wake word is not listened for (`MutedWakeWord`), so nothing
said in the room starts a turn. The volume is remembered across restarts in a small state file;
mute is not (a restart always comes back listening, unless `controls.muted` says otherwise).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from speaker.audio.chunk import AudioChunk
from speaker.events import ControlsChanged, EventBus
from speaker.settings import ControlsSettings
from speaker.wake.base import Detection, WakeWordDetector

log = logging.getLogger(__name__)


def default_state_file(settings: ControlsSettings) -> Path:
    if settings.state_file is not None:
        return settings.state_file
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "speaker" / "controls.json"


class Controls:
    def __init__(
        self, settings: ControlsSettings, *, bus: EventBus | None = None, state_file: Path | None = None
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.state_file = state_file
        self._volume = settings.volume
        self._muted = settings.muted
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def load(self) -> None:
        """The volume last set, from the state file (a missing or damaged file keeps the default)."""
        if self.state_file is None or not self.state_file.exists():
            return
        try:
            volume = json.loads(self.state_file.read_text(encoding="utf-8"))["volume"]
            if isinstance(volume, int) and 0 <= volume <= 100:
                self._volume = volume
            else:
                raise ValueError(f"volume {volume!r} is not 0..100")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the saved volume in %s: %s", self.state_file, exc)

    @property
    def volume(self) -> int:
        return self._volume

    @property
    def muted(self) -> bool:
        return self._muted

    def gain(self) -> float:
        """Linear gain for the volume: squared, so that the steps sound even."""
        return (self._volume / 100.0) ** 2

    def set_volume(self, level: float, source: str) -> int:
        with self._lock:
            new = int(round(min(100.0, max(0.0, level))))
            changed, self._volume = new != self._volume, new
        if changed:
            self._save()
        self._changed(source)
        return new

    def change_volume(self, steps: int, source: str) -> int:
        return self.set_volume(self._volume + steps * self.settings.volume_step, source)

    def set_muted(self, muted: bool, source: str) -> None:
        with self._lock:
            self._muted = muted
        log.info("microphone %s (%s)", "muted: the wake word is not listened for" if muted else "on", source)
        self._changed(source)

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, source: str) -> None:
        if self.bus is not None:
            self.bus.emit(ControlsChanged(volume=self._volume, muted=self._muted, source=source))
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("a controls listener failed")

    def _save(self) -> None:
        if self.state_file is None:
            return
        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".controls-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"volume": self._volume}, f)
            os.replace(tmp, self.state_file)
        except OSError as exc:
            log.warning("cannot remember the volume in %s: %s", self.state_file, exc.strerror)


class MutedWakeWord:
    """A wake word detector that hears nothing while the microphone is muted."""

    def __init__(self, inner: WakeWordDetector, controls: Controls) -> None:
        self.inner = inner
        self.controls = controls
        self.phrase = inner.phrase
        self._was_muted = False

    def load(self) -> None:
        self.inner.load()

    def process(self, frame: AudioChunk) -> Detection | None:
        if self.controls.muted:
            self._was_muted = True
            return None
        if self._was_muted:  # what was half-heard before muting must not complete a phrase now
            self._was_muted = False
            self.inner.reset()
        return self.inner.process(frame)

    def reset(self) -> None:
        self.inner.reset()

    @property
    def double_talk(self) -> bool:
        return bool(getattr(self.inner, "double_talk", False))

    @double_talk.setter
    def double_talk(self, on: bool) -> None:
        if hasattr(self.inner, "double_talk"):  # engines without a second stage have nothing to relax
            self.inner.double_talk = on

    def replace_inner(self, engine: WakeWordDetector) -> WakeWordDetector:
        """A new detector behind the same mute (an engine swapped between turns); returns the old one."""
        old, self.inner = self.inner, engine
        self.phrase = engine.phrase
        return old

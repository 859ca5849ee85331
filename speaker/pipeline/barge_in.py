"""Own-voice suppression for barge-in: the speaker must not wake on what it plays itself.

While a reply plays, the microphone keeps feeding the wake word detector, so that "hey computer,
stop" interrupts the reply. But the microphone also hears the reply, and a reply (or a timer
announcement) may say the wake phrase itself. So every chunk sent to the speaker is tapped
(`PlaybackTap`) and placed on the input-audio timeline at the moment it will be heard; a second
detector instance (`OwnVoice.reference`, the same engine as the microphone's) listens to that
playback reference. A microphone detection ending within `window_s` of a detection on the
reference is the speaker's own voice, and is dropped.

The reference is what the sink was given, not what the room returned: this assumes the playback
device adds little latency (tens of milliseconds, well inside the window). No echo canceller is
used, so the user's voice competes with the reply's echo at the microphone.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from speaker.audio.chunk import RATE, AudioChunk, AudioConverter, frames
from speaker.audio.sinks import SinkWrapper
from speaker.wake.base import Detection, WakeWordDetector

log = logging.getLogger(__name__)

WINDOW_S = 1.0  # a microphone detection this close to one on the reference is the speaker's own voice
TAIL_S = 1.5  # silence fed to the reference after playback ends: a phrase at the very end completes
KEEP_S = 10.0  # reference detections are forgotten this long after they ended
HISTORY_S = 1.5  # reference kept behind the microphone's time, for the echo subtractor


class OwnVoice:
    """The playback reference and its own wake word detector, on the input-audio timeline.

    `played()` and `stopped()` may be called from any thread (the turn, timer announcements);
    `input_at()`, `catch_up()` and `is_own()` from the voice loop's thread only, which alone runs
    the detector. "Now" on the input timeline is the end of the latest input chunk plus the time
    since it arrived (`input_at`), so a loop running behind does not shift the reference; before
    any input, `clock()` (the input audio time the loop has reached, EventBus.clock.audio).
    """

    def __init__(
        self,
        reference: WakeWordDetector,
        clock: Callable[[], float],
        *,
        window_s: float = WINDOW_S,
        frame_ms: int = 30,
    ) -> None:
        self.reference = reference
        self.clock = clock
        self.window_s = window_s
        self.frame_samples = RATE * frame_ms // 1000
        self.heard: collections.deque[float] = collections.deque()  # ends of detections on the reference
        self.suppressed = 0  # microphone detections dropped as own voice
        self._lock = threading.Lock()
        self._buffer = bytearray()  # 16 kHz mono reference not yet fed, starting at _buffer_time
        self._buffer_time = 0.0
        self._playing_until = 0.0  # input audio time at which what was sent so far has been played
        self._restart = False  # a new stretch of playback: the detector forgets the previous one
        self._started = False
        self._anchor: tuple[float, float] | None = (
            None  # (input audio time, time.monotonic()) of the latest chunk
        )
        self._history = bytearray()  # the reference fed so far, from _history_time: what echoes now
        self._history_time = 0.0

    # --- the playback side (any thread) ----------------------------------------------------------

    def input_at(self, audio_time: float, arrived: float) -> None:
        """Input up to `audio_time` reached the loop at `arrived` (time.monotonic())."""
        self._anchor = (audio_time, arrived)

    def now(self) -> float:
        """The input audio time being captured at this moment."""
        anchor = self._anchor
        if anchor is None:
            return self.clock()
        return anchor[0] + max(0.0, time.monotonic() - anchor[1])

    def played(self, chunk: AudioChunk) -> None:
        """`chunk` was just sent to the sink: it is heard after whatever is still queued there."""
        if not chunk.audio:
            return
        converted = AudioConverter().convert(chunk, last=True)
        with self._lock:
            now = self.now()
            start = max(now, self._playing_until)
            end = self._buffer_end()
            if not self._started or (start - end > TAIL_S and len(self._buffer) < 2 * self.frame_samples):
                # the first playback, or one after a long quiet (all fed but a partial frame): afresh
                self._buffer.clear()
                self._buffer_time, self._restart, self._started = start, True, True
            elif start > end:
                self._buffer.extend(bytes(2 * round((start - end) * RATE)))  # the pause between
            self._buffer.extend(converted.audio)
            self._playing_until = start + converted.duration

    def stopped(self) -> None:
        """Playback was cut (barge-in, "stop"): what was queued after now is never heard."""
        with self._lock:
            now = self.now()
            keep = max(0, round((now - self._buffer_time) * RATE)) * 2
            del self._buffer[keep:]
            keep = max(0, round((now - self._history_time) * RATE)) * 2
            del self._history[keep:]  # fed ahead, never played: nothing of it comes back
            self._playing_until = min(self._playing_until, now)
            while self.heard and self.heard[-1] > now:
                self.heard.pop()  # the reference ran ahead: that part was never played

    # --- the loop side -----------------------------------------------------------------------------

    def use_detector(self, reference: WakeWordDetector) -> None:
        """Listen to the playback with another detector (the wake model was updated)."""
        self.reference = reference
        self._restart = True

    def catch_up(self, until: float) -> None:
        """Run the reference detector over everything played so far, and the quiet after it up to
        `until` (the microphone's audio time), so the reference is never behind the microphone."""
        with self._lock:
            end = self._buffer_end()
            quiet_until = min(until, self._playing_until + TAIL_S)
            if self._playing_until > 0 and end < quiet_until:
                self._buffer.extend(bytes(2 * round((quiet_until - end) * RATE)))
            frame_bytes = 2 * self.frame_samples
            whole = len(self._buffer) // frame_bytes * frame_bytes
            data, start, restart = bytes(self._buffer[:whole]), self._buffer_time, self._restart
            del self._buffer[:whole]
            self._buffer_time += whole / 2 / RATE
            self._restart = False
            self._keep_history(data, start, until)
        if restart:
            self.reference.reset()
        for frame in frames(AudioChunk(RATE, 2, 1, data, start), self.frame_samples, bytearray()):
            detection = self.reference.process(frame)
            if detection is not None:
                log.debug("the reply says the wake phrase (ending at %.2f s of input)", detection.end)
                with self._lock:
                    self.heard.append(detection.end)
        with self._lock:
            while self.heard and self.heard[0] < until - KEEP_S:
                self.heard.popleft()

    def is_own(self, detection: Detection) -> bool:
        """True (and counted) when a microphone detection is the reply's own wake phrase."""
        with self._lock:
            own = any(abs(detection.end - end) <= self.window_s for end in self.heard)
        if own:
            self.suppressed += 1
        return own

    def reference_at(self, start: float, samples: int) -> np.ndarray | None:
        """What was playing from `start` (input audio time) for `samples`, as float samples (zero
        where nothing was); None when nothing played then. For the echo subtractor."""
        with self._lock:
            offset = round((start - self._history_time) * RATE)
            have = len(self._history) // 2
            lo, hi = max(0, offset), min(have, offset + samples)
            if hi <= lo:
                return None
            out = np.zeros(samples)
            out[lo - offset : hi - offset] = np.frombuffer(self._history, "<i2", hi - lo, 2 * lo)
        return out

    def _keep_history(self, data: bytes, start: float, until: float) -> None:
        """Under the lock: append what was fed; keep HISTORY_S before the microphone's time."""
        if not data:
            return
        if abs(start - (self._history_time + len(self._history) / 2 / RATE)) > 1e-3:
            self._history.clear()
            self._history_time = start
        self._history.extend(data)
        drop = max(0, round((until - HISTORY_S - self._history_time) * RATE)) * 2
        if drop:
            drop = min(drop, len(self._history))
            del self._history[:drop]
            self._history_time += drop / 2 / RATE

    def _buffer_end(self) -> float:
        return self._buffer_time + len(self._buffer) / 2 / RATE


class PlaybackTap(SinkWrapper):
    """A sink wrapper that shows every chunk on its way to the speaker to an OwnVoice."""

    def __init__(self, inner: Any, own_voice: OwnVoice) -> None:
        super().__init__(inner)
        self.own_voice = own_voice

    def play(self, chunk: AudioChunk) -> None:
        self.own_voice.played(chunk)
        self.inner.play(chunk)

    def stop(self) -> None:
        self.own_voice.stopped()
        self.inner.stop()

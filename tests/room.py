"""A room for tests: the speaker's own voice comes back into its microphone.

    room = Room(echo_gain=0.3, delay_s=0.03, noise_snr_db=30)
    sink = room.speaker(WavFileSink(out, paced=True))   # what the speaker plays is heard in the room
    source = room.microphone(user_speech)               # a live-paced microphone: the user + the echo

The microphone reads the user's speech (16 kHz mono) at the pace of a live microphone and adds
what the sink played, `delay_s` later and scaled by `echo_gain`, plus a little white noise. The
sink places each chunk where it will be heard (after what is still queued, as a device does) and
`stop()` silences the rest, so an interrupted reply stops echoing. This stands in for the
hardware (a speaker next to a microphone) the tests do not have.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from speaker.audio.chunk import RATE, AudioChunk, AudioConverter
from speaker.audio.sources import Captured


class Room:
    def __init__(
        self,
        *,
        echo_gain: float = 0.3,
        delay_s: float = 0.03,
        noise_snr_db: float | None = None,
        seed: int = 0,
    ) -> None:
        self.echo_gain = echo_gain
        self.delay_s = delay_s
        self.noise_snr_db = noise_snr_db
        self.seed = seed
        self.echo = np.zeros(0, np.float64)  # what the speaker sends back to the mic, on the mic's timeline
        self.played_seconds = 0.0  # audio that reached the room (cut short by stop())
        self._lock = threading.Lock()
        self._start: float | None = None  # time.monotonic() at which the microphone started
        self._playing_until = 0.0  # room time at which what was played so far ends

    def now(self) -> float:
        """Room time: seconds since the microphone started (0 before)."""
        return 0.0 if self._start is None else time.monotonic() - self._start

    def speaker(self, inner: Any) -> RoomSpeaker:
        return RoomSpeaker(self, inner)

    def microphone(self, speech: AudioChunk, *, chunk_ms: int = 30) -> RoomMicrophone:
        return RoomMicrophone(self, speech, chunk_ms)

    # --- used by the two ends -------------------------------------------------------------------

    def play(self, chunk: AudioChunk) -> None:
        samples = AudioConverter().convert(chunk, last=True).array()[:, 0].astype(np.float64)
        with self._lock:
            start = max(self.now(), self._playing_until)
            self._playing_until = start + len(samples) / RATE
            self.played_seconds += len(samples) / RATE
            at = round((start + self.delay_s) * RATE)
            if at + len(samples) > len(self.echo):
                self.echo = np.concatenate([self.echo, np.zeros(at + len(samples) - len(self.echo))])
            self.echo[at : at + len(samples)] += self.echo_gain * samples

    def stop(self) -> None:
        with self._lock:
            now = self.now()
            self.played_seconds -= max(0.0, self._playing_until - now)
            self._playing_until = min(self._playing_until, now)
            self.echo[round((now + self.delay_s) * RATE) :] = 0.0

    def heard(self, speech: np.ndarray, start: int) -> np.ndarray:
        """The user's samples from `start`, with the echo and the noise the microphone picks up."""
        with self._lock:
            echo = self.echo[start : start + len(speech)]
        mixed = speech.astype(np.float64)
        mixed[: len(echo)] += echo
        return mixed


class RoomSpeaker:
    """A sink that plays into the room as well as into the sink it wraps (a WAV file)."""

    def __init__(self, room: Room, inner: Any) -> None:
        self.room = room
        self.inner = inner
        self.description = f"room ({inner.description})"

    def open(self) -> None:
        self.inner.open()

    def play(self, chunk: AudioChunk) -> None:
        self.room.play(chunk)
        self.inner.play(chunk)

    def end_reply(self) -> None:
        self.inner.end_reply()

    def stop(self) -> None:
        self.room.stop()
        self.inner.stop()

    def close(self) -> None:
        self.inner.close()


class RoomMicrophone:
    """A real-time AudioSource: the user's speech at live pace, with the room's echo and noise."""

    realtime = True

    def __init__(self, room: Room, speech: AudioChunk, chunk_ms: int) -> None:
        self.room = room
        self.speech = speech.array()[:, 0].astype(np.float64)
        self.chunk = RATE * chunk_ms // 1000
        self.description = "room microphone"
        self._closed = False

    def open(self) -> None:
        self._closed = False

    def read(self) -> Iterator[Captured]:
        noise_sd = self._noise_sd()
        rng = np.random.default_rng(self.room.seed)
        self.room._start = start = time.monotonic()
        for offset in range(0, len(self.speech), self.chunk):
            if self._closed:
                return
            end = offset + self.chunk
            delay = start + end / RATE - time.monotonic()  # a microphone delivers what was said
            if delay > 0:
                time.sleep(delay)
            mixed = self.room.heard(self.speech[offset:end], offset)
            if noise_sd:
                mixed += rng.normal(0.0, noise_sd, mixed.shape)
            audio = np.clip(mixed, -32768, 32767).astype("<i2").tobytes()
            yield Captured(AudioChunk(RATE, 2, 1, audio, offset / RATE), time.monotonic())

    def close(self) -> None:
        self._closed = True

    def _noise_sd(self) -> float:
        """White noise `noise_snr_db` below the user's speech (its samples louder than near-silence)."""
        if self.room.noise_snr_db is None:
            return 0.0
        voiced = self.speech[np.abs(self.speech) > 300]
        power = float(np.mean(voiced**2)) if voiced.size else 1e4
        return float(np.sqrt(power / 10 ** (self.room.noise_snr_db / 10)))

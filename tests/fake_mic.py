"""A microphone for machines without one: a capture backend that can be unplugged and plugged back.

It stands in for PortAudio under the real MicrophoneSource. Like a USB microphone array it
delivers blocks in real time at its own rate and channel count (e.g. 48 kHz, 4 channels): a
tone per channel, plus any speech it is given (on one channel or all). `unplug("stall")` makes
its open stream go silent, as a USB device whose driver stops calling back; `unplug("error")`
makes the stream fail; while unplugged, opening it fails the way PortAudio does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import soxr

from speaker.audio.capture import CaptureRequest, capture_format
from speaker.audio.chunk import AudioChunk
from speaker.audio.devices import DeviceInfo
from speaker.errors import AudioError


class FakeMicrophone:
    def __init__(
        self,
        name: str = "USB PnP Audio Device",
        *,
        rate: int = 48000,
        channels: int = 2,
        tones: Sequence[float] = (),
        level: float = 0.05,
        speech_channel: int | None = None,
    ) -> None:
        self.info = DeviceInfo(
            index=3, name=name, inputs=channels, outputs=0, default_rate=float(rate), host_api="ALSA"
        )
        self.tones = list(tones) or [300.0 + 200.0 * c for c in range(channels)]
        self.level = level
        self.speech_channel = speech_channel  # None: speech on every channel
        self.opens = 0
        self.failed_opens = 0
        self._plugged = True
        self._generation = 0
        self._failure = "stall"
        self._speech = np.zeros(0, np.float64)
        self._lock = threading.Lock()

    # -- what a person does to the hardware -------------------------------------------------------

    def unplug(self, how: str = "stall") -> None:
        with self._lock:
            self._plugged = False
            self._failure = how

    def plug(self) -> None:
        with self._lock:
            self._plugged = True
            self._generation += 1

    def say(self, speech: AudioChunk) -> None:
        """Speech (16 kHz mono) heard next, after whatever it is still saying."""
        samples = speech.array()[:, 0].astype(np.float64) / 32768.0
        resampled = soxr.resample(samples, 16000, int(self.info.default_rate))
        with self._lock:
            self._speech = np.concatenate([self._speech, resampled])

    @property
    def speaking(self) -> bool:
        with self._lock:
            return self._speech.size > 0

    # -- the CaptureBackend side ---------------------------------------------------------------

    def open(self, request: CaptureRequest) -> FakeStream:
        with self._lock:
            plugged = self._plugged
        if not plugged:
            self.failed_opens += 1
            raise AudioError(f"no input device matches {request.device!r}", code="device_not_found")
        if request.device is not None and str(request.device).lower() not in self.info.name.lower():
            raise AudioError(f"no input device matches {request.device!r}", code="device_not_found")
        rate, channels = capture_format(request, self.info)
        self.opens += 1
        return FakeStream(self, rate, channels, request.block_ms)

    def _alive(self, generation: int) -> tuple[bool, str]:
        with self._lock:
            return self._plugged and generation == self._generation, self._failure

    def _take_speech(self, n: int) -> np.ndarray:
        with self._lock:
            taken, self._speech = self._speech[:n], self._speech[n:]
        return np.pad(taken, (0, n - taken.size))


class FakeStream:
    def __init__(self, mic: FakeMicrophone, rate: int, channels: int, block_ms: int) -> None:
        self.mic = mic
        self.rate = rate
        self.channels = channels
        self.description = f"microphone {mic.info.name!r} ({rate} Hz, {channels} ch)"
        self._block = rate * block_ms // 1000
        self._generation = mic._generation
        self._start = time.monotonic()
        self._sent = 0
        self._closed = False

    def read(self, timeout: float) -> tuple[bytes, float] | None:
        alive, failure = self.mic._alive(self._generation)
        if not alive or self._closed:
            if failure == "error":
                raise AudioError(
                    f"{self.description}: device disconnected (-9999 unanticipated host error)",
                    code="device_failed",
                )
            time.sleep(timeout)  # a stalled driver: the callback just stops coming
            return None
        due = self._start + (self._sent + self._block) / self.rate
        wait = due - time.monotonic()
        if wait > timeout:
            time.sleep(timeout)
            return None
        if wait > 0:
            time.sleep(wait)
        t = (self._sent + np.arange(self._block)) / self.rate
        speech = self.mic._take_speech(self._block)
        block = np.empty((self._block, self.channels), np.float64)
        for c in range(self.channels):
            tone = self.mic.level * np.sin(2 * np.pi * self.mic.tones[c % len(self.mic.tones)] * t)
            on = self.mic.speech_channel is None or self.mic.speech_channel == c
            block[:, c] = tone + (speech if on else 0.0)
        self._sent += self._block
        pcm = (np.clip(block, -1.0, 1.0) * 32767).astype("<i2")
        return pcm.tobytes(), time.monotonic()

    def close(self) -> None:
        self._closed = True

"""Where replies go: the speaker, or a WAV file. Both take AudioChunks at any rate."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from speaker.audio.chunk import AudioChunk, AudioConverter, resample_whole, silence
from speaker.audio.devices import PORTAUDIO_LOCK, find_device, sounddevice_module
from speaker.audio.wavfile import WavWriter
from speaker.errors import AudioError

log = logging.getLogger(__name__)


class AudioSink(Protocol):
    description: str

    def open(self) -> None: ...

    def play(self, chunk: AudioChunk) -> None:
        """Queue audio; returns about when a real speaker would have room for more."""

    def end_reply(self) -> None:
        """A reply is complete: wait until it has been heard."""

    def stop(self) -> None:
        """Barge-in: drop whatever is still queued, at once. Safe from any thread."""

    def close(self) -> None: ...


class SinkWrapper:
    """A sink in front of another: every call goes through to `inner` unless a subclass changes it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.description = inner.description

    def open(self) -> None:
        self.inner.open()

    def play(self, chunk: AudioChunk) -> None:
        self.inner.play(chunk)

    def end_reply(self) -> None:
        self.inner.end_reply()

    def stop(self) -> None:
        self.inner.stop()

    def close(self) -> None:
        self.inner.close()


class NullSink:
    """Audio is produced (and timed) but goes nowhere: for machines without a speaker."""

    description = "nowhere"

    def open(self) -> None:
        pass

    def play(self, chunk: AudioChunk) -> None:
        pass

    def end_reply(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class PlaybackClock:
    """Takes as long as playing would: `play` returns once at most QUEUED_S of audio is queued
    ahead, like a device's buffer. `stop` ends the wait at once and forgets what was queued."""

    QUEUED_S = 0.2

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.until: float | None = None  # time.monotonic() at which what was queued has played

    def play(self, seconds: float) -> None:
        now = time.monotonic()
        self.until = max(now, self.until or now) + seconds
        if self.until - now > self.QUEUED_S:
            self.stopped.wait(self.until - now - self.QUEUED_S)

    def drain(self) -> None:
        """Wait until what was queued has played (not after `stop`); then ready for more."""
        if self.until is not None and self.until > time.monotonic():
            self.stopped.wait(self.until - time.monotonic())
        self.until = None
        self.stopped.clear()

    def stop(self) -> None:
        self.stopped.set()
        self.until = None


class WavFileSink:
    """Every reply appended to one WAV file, with a short gap between replies.

    `paced`: take as long as playing would (for real-time runs on a file, so that timings and
    the mute-while-speaking window behave as on a device).
    """

    def __init__(self, path: Path, *, gap_ms: int = 300, paced: bool = False) -> None:
        self.path = Path(path)
        self.gap_ms = gap_ms
        self.paced = paced
        self.description = f"file {self.path}"
        self._writer: WavWriter | None = None
        self._replies = 0
        self._in_reply = False
        self._clock = PlaybackClock()

    def open(self) -> None:
        self._writer = WavWriter(self.path)

    def play(self, chunk: AudioChunk) -> None:
        if self._writer is None:
            raise AudioError("output file is not open")
        if self._clock.stopped.is_set():
            return
        if self._replies > 0 and self._writer.seconds > 0 and not self._in_reply:
            self._writer.write(silence(self.gap_ms / 1000, rate=self._writer.rate or chunk.rate))
        self._in_reply = True
        self._writer.write(chunk)
        if self.paced:
            self._clock.play(chunk.duration)

    def end_reply(self) -> None:
        if self._in_reply:
            self._replies += 1
        self._in_reply = False
        self._clock.drain()  # (unpaced, nothing was queued: only ready for the next reply)

    def stop(self) -> None:
        self._clock.stop()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class SpeakerSink:
    """A playback device; chunks are converted to the device's rate and written as they come.

    A write that fails (the device vanished, or PortAudio was re-initialized to find a
    microphone plugged in again) reopens the device once and goes on; if it cannot be reopened
    the reply fails with an AudioError and the next reply tries again.
    """

    def __init__(
        self, device: str | int | None = None, *, rate: int | None = None, wait_for_device: bool = False
    ) -> None:
        self.device = device
        self.rate = rate
        self.wait_for_device = wait_for_device  # True: a device missing at open() is tried at each reply
        self.description = "speaker"
        self._stream: Any = None
        self._open = False
        self._lock = threading.Lock()
        self._play_until = 0.0
        self._stopped = threading.Event()

    def open(self) -> None:
        try:
            self._stream = self._start()
        except AudioError as exc:
            if not self.wait_for_device:
                raise
            log.warning("%s; replies will try it again", exc.message)
        self._open = True

    def _start(self) -> Any:
        sd = sounddevice_module()
        info = find_device(self.device, "output")
        self.rate = self.rate or int(info.default_rate) or 22050
        self.description = f"speaker {info.name!r} ({self.rate} Hz)"
        try:
            with PORTAUDIO_LOCK:
                stream = sd.RawOutputStream(
                    device=info.index, samplerate=self.rate, channels=1, dtype="int16"
                )
                stream.start()
        except Exception as exc:
            raise AudioError(f"cannot open {self.description}: {exc}") from exc
        return stream

    def play(self, chunk: AudioChunk) -> None:
        if not self._open or self._stopped.is_set():
            return
        if not chunk.is_format(self.rate or chunk.rate, 2, 1):
            chunk = resample_whole(AudioConverter(rate=chunk.rate).convert(chunk), self.rate or chunk.rate)
        with self._lock:
            try:
                self._write(chunk.audio)
            except Exception as exc:
                log.warning("playback on %s failed (%s); opening it again", self.description, exc)
                self._drop_stream()
                try:
                    self._stream = self._start()
                    self._write(chunk.audio)
                except Exception as again:
                    self._drop_stream()
                    raise AudioError(f"playback on {self.description} failed: {again}") from again
            now = time.monotonic()
            self._play_until = max(self._play_until, now) + chunk.duration

    def _write(self, audio: bytes) -> None:
        if self._stream is None:
            raise AudioError("the playback stream is closed")
        with PORTAUDIO_LOCK:
            self._stream.write(audio)

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:
                log.debug("closing the playback stream failed", exc_info=True)

    def end_reply(self) -> None:
        remaining = self._play_until - time.monotonic()
        if remaining > 0:
            self._stopped.wait(remaining)
        self._stopped.clear()

    def stop(self) -> None:
        self._stopped.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.abort()  # drops what is buffered
                stream.start()
            except Exception:
                log.debug("aborting playback failed", exc_info=True)
        self._play_until = time.monotonic()

    def close(self) -> None:
        self._open = False
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:
                log.debug("closing the playback stream failed", exc_info=True)

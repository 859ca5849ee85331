"""Where the loop's audio comes from: a live microphone or a WAV file, both as 16 kHz mono chunks."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from speaker.audio.capture import CaptureBackend, CaptureRequest, CaptureStream, SoundDeviceCapture
from speaker.audio.chunk import AudioChunk, AudioConverter
from speaker.audio.wavfile import read_chunks
from speaker.errors import AudioError
from speaker.events import DeviceBack, DeviceLost, EventBus

log = logging.getLogger(__name__)

HEARTBEAT_S = 0.5  # a live source yields at least this often, audio or not


@dataclass(frozen=True)
class Captured:
    """A chunk of input and the moment (time.monotonic) it became available to the loop.

    An empty chunk is a heartbeat: the source is alive but has no audio yet (a late block, a
    device being waited for).
    """

    chunk: AudioChunk
    arrived: float


class AudioSource(Protocol):
    description: str
    realtime: bool  # True: chunks arrive at the pace of speech; False: as fast as they can be read

    def open(self) -> None: ...

    def read(self) -> Iterator[Captured]: ...

    def close(self) -> None: ...


class WavFileSource:
    """A WAV file of any common rate, width and channel count, converted to the loop's format.

    With `realtime` the chunks are released at the pace of a live microphone, so timings match a
    device; without it, as fast as the loop takes them.
    """

    def __init__(self, path: Path, *, realtime: bool = False, chunk_ms: int = 30, channel: int | str = "mix"):
        self.path = Path(path)
        self.realtime = realtime
        self.chunk_ms = chunk_ms
        self.channel = channel
        self.description = f"file {self.path}"
        self._chunks: list[AudioChunk] = []

    def open(self) -> None:
        if not self.path.exists():
            raise AudioError(f"input file not found: {self.path}")
        info, raw = read_chunks(self.path, chunk_seconds=self.chunk_ms / 1000)
        converter = AudioConverter(channel=self.channel)
        converted = [converter.convert(c) for c in raw]
        converted.append(converter.flush())
        self._chunks = [c for c in converted if c.audio]
        log.info(
            "input %s: %.1f s, %d Hz, %d channel(s)%s",
            self.path.name,
            info.duration,
            info.rate,
            info.channels,
            ", converted to 16 kHz mono" if (info.rate, info.channels) != (16000, 1) else "",
        )

    def read(self) -> Iterator[Captured]:
        start = time.monotonic()
        for chunk in self._chunks:
            if self.realtime:  # a microphone delivers a chunk once it has been spoken
                delay = start + chunk.end - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield Captured(chunk, time.monotonic())

    def close(self) -> None:
        self._chunks = []


class MicrophoneSource:
    """A live capture device, converted to 16 kHz mono; a device that vanishes is waited for.

    When the device fails or stops delivering (USB unplugged, a driver that stalls) the source
    says so on the bus (DeviceLost), closes it, tries to open it again every `reopen_interval_s`
    and carries on when it is back (DeviceBack), with no restart. While it waits, and whenever
    a block is late, it yields an empty chunk every HEARTBEAT_S, so the loop above keeps turning
    (its watchdog sees a live loop waiting for a device, not a hung one).
    """

    realtime = True

    def __init__(
        self,
        device: str | int | None = None,
        *,
        rate: int | None = None,
        channels: int | None = None,
        channel: int | str = "mix",
        block_ms: int = 30,
        backend: CaptureBackend | None = None,
        bus: EventBus | None = None,
        wait_for_device: bool = False,
        reopen_interval_s: float = 2.0,
        stall_timeout_s: float = 3.0,
    ) -> None:
        self.request = CaptureRequest(device, rate, channels, channel, block_ms)
        self.backend: CaptureBackend = backend or SoundDeviceCapture()
        self.bus = bus
        self.wait_for_device = wait_for_device  # False: a device missing at open() is an error
        self.reopen_interval_s = reopen_interval_s
        self.stall_timeout_s = stall_timeout_s
        self.description = "microphone" if device is None else f"microphone {device!r}"
        self._stream: CaptureStream | None = None
        self._closed = True
        self._lost_at: float | None = None
        self._position = 0.0  # seconds of converted audio delivered, across reopenings

    @property
    def lost(self) -> bool:
        return self._lost_at is not None

    def open(self) -> None:
        self._closed = False
        try:
            self._stream = self.backend.open(self.request)
        except AudioError as exc:
            if not self.wait_for_device:
                raise
            self._lose(exc.message, at_start=True)
            return
        self.description = self._stream.description
        log.info("listening on %s", self.description)

    def read(self) -> Iterator[Captured]:
        while not self._closed:
            stream = self._stream
            if stream is None:
                yield from self._wait_for_device()
            else:
                yield from self._read_stream(stream)

    def close(self) -> None:
        self._closed = True
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def _read_stream(self, stream: CaptureStream) -> Iterator[Captured]:
        converter = AudioConverter(channel=self.request.channel)
        start = self._position
        samples = 0
        last_audio = time.monotonic()
        while not self._closed and self._stream is stream:
            try:
                block = stream.read(min(HEARTBEAT_S, self.stall_timeout_s))
            except AudioError as exc:
                self._lose(exc.message)
                return
            now = time.monotonic()
            if block is None:
                if now - last_audio >= self.stall_timeout_s:
                    self._lose(f"no audio for {now - last_audio:.1f} s")
                    return
                yield self._heartbeat(now)
                continue
            data, arrived = block
            last_audio = now
            raw = AudioChunk(stream.rate, 2, stream.channels, data, start + samples / stream.rate)
            samples += raw.samples
            chunk = converter.convert(raw)
            self._position = chunk.end
            yield Captured(chunk, arrived)

    def _wait_for_device(self) -> Iterator[Captured]:
        next_try = time.monotonic() + self.reopen_interval_s
        tries = 0
        while not self._closed:
            now = time.monotonic()
            if now >= next_try:
                tries += 1
                try:
                    stream = self.backend.open(self.request)
                except AudioError as exc:
                    # every try at debug level; about once a minute a line that says it still waits
                    every = max(1, round(60 / self.reopen_interval_s))
                    level = logging.INFO if tries % every == 0 else logging.DEBUG
                    log.log(level, "still waiting for %s: %s", self.description, exc.message)
                    next_try = time.monotonic() + self.reopen_interval_s
                else:
                    self._back(stream)
                    return
            time.sleep(max(0.0, min(HEARTBEAT_S, next_try - time.monotonic())))
            yield self._heartbeat(time.monotonic())

    def _lose(self, reason: str, at_start: bool = False) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        self._lost_at = time.monotonic()
        reason = reason.splitlines()[0].rstrip(".")  # the first line says what; the rest is for a terminal
        log.warning(
            "%s %s (%s); waiting for it (trying every %.0f s)",
            self.description,
            "is not there" if at_start else "lost",
            reason,
            self.reopen_interval_s,
        )
        if self.bus is not None:
            self.bus.emit(DeviceLost(kind="input", device=self.description, reason=reason))

    def _back(self, stream: CaptureStream) -> None:
        self._stream = stream
        self.description = stream.description
        down = time.monotonic() - (self._lost_at or time.monotonic())
        self._lost_at = None
        log.info("%s is back after %.1f s; listening again", self.description, down)
        if self.bus is not None:
            self.bus.emit(DeviceBack(kind="input", device=self.description, down_seconds=round(down, 2)))

    def _heartbeat(self, now: float) -> Captured:
        return Captured(AudioChunk(16000, 2, 1, b"", self._position), now)

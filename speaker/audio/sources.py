"""Where the loop's audio comes from: a live microphone or a WAV file, both as 16 kHz mono chunks."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from speaker.audio.chunk import AudioChunk, AudioConverter
from speaker.audio.devices import find_device, sounddevice_module
from speaker.audio.wavfile import read_chunks
from speaker.errors import AudioError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Captured:
    """A chunk of input and the moment (time.monotonic) it became available to the loop."""

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
    """A live capture device; PortAudio's callback hands blocks to the loop through a queue."""

    realtime = True

    def __init__(
        self,
        device: str | int | None = None,
        *,
        rate: int | None = None,
        channels: int | None = None,
        channel: int | str = "mix",
        block_ms: int = 30,
    ) -> None:
        self.device = device
        self.rate = rate
        self.channels = channels
        self.channel = channel
        self.block_ms = block_ms
        self.description = "microphone"
        self._stream: Any = None
        self._queue: queue.Queue[tuple[bytes, float]] = queue.Queue(maxsize=1000)
        self._format: tuple[int, int] = (16000, 1)
        self._dropped = 0

    def open(self) -> None:
        sd = sounddevice_module()
        info = find_device(self.device, "input")
        rate = self.rate or int(info.default_rate) or 16000
        channels = self.channels or min(info.inputs, 2)
        if isinstance(self.channel, int) and self.channel >= channels:
            channels = min(info.inputs, self.channel + 1)
        self._format = (rate, channels)
        self.description = f"microphone {info.name!r} ({rate} Hz, {channels} ch)"
        try:
            self._stream = sd.RawInputStream(
                device=info.index,
                samplerate=rate,
                channels=channels,
                dtype="int16",
                blocksize=int(rate * self.block_ms / 1000),
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:
            raise AudioError(f"cannot open {self.description}: {exc}") from exc
        log.info("listening on %s", self.description)

    def _callback(self, data: Any, frames: int, time_info: Any, status: Any) -> None:
        if status:
            log.debug("capture status: %s", status)
        try:
            self._queue.put_nowait((bytes(data), time.monotonic()))
        except queue.Full:  # the loop is stuck; dropping is better than growing without bound
            self._dropped += 1

    def read(self) -> Iterator[Captured]:
        rate, channels = self._format
        converter = AudioConverter(channel=self.channel)
        position = 0
        while self._stream is not None:
            try:
                data, arrived = self._queue.get(timeout=1.0)
            except queue.Empty:
                if self._stream is not None and not self._stream.active:
                    raise AudioError(f"{self.description} stopped delivering audio") from None
                continue
            raw = AudioChunk(rate, 2, channels, data, position / rate)
            position += raw.samples
            yield Captured(converter.convert(raw), arrived)

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # closing a vanished device must not stop shutdown
                log.debug("closing the capture stream failed", exc_info=True)

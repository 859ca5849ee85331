"""One audio chunk type that says what its bytes are, and a streaming converter between formats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from speaker.errors import AudioError

RATE = 16000  # the loop's internal format: 16 kHz, mono, 16-bit
WIDTH = 2
CHANNELS = 1


@dataclass(frozen=True)
class AudioChunk:
    """Signed little-endian PCM. `timestamp` is seconds of stream time at the chunk's first sample."""

    rate: int
    width: int
    channels: int
    audio: bytes
    timestamp: float = 0.0

    @property
    def samples(self) -> int:
        return len(self.audio) // (self.width * self.channels)

    @property
    def duration(self) -> float:
        return self.samples / self.rate

    @property
    def end(self) -> float:
        return self.timestamp + self.duration

    def array(self) -> np.ndarray:
        """Samples as int16 of shape (samples, channels)."""
        if self.width != 2:
            raise AudioError(f"expected 16-bit audio, got {8 * self.width}-bit")
        return np.frombuffer(self.audio, dtype="<i2").reshape(-1, self.channels)

    @classmethod
    def from_array(cls, samples: np.ndarray, rate: int, timestamp: float = 0.0) -> AudioChunk:
        """From int16 (samples,) or (samples, channels), or float in [-1, 1]."""
        if samples.dtype.kind == "f":
            samples = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
        samples = samples.astype("<i2", copy=False)
        channels = 1 if samples.ndim == 1 else samples.shape[1]
        return cls(rate, 2, channels, samples.tobytes(), timestamp)

    def is_format(self, rate: int = RATE, width: int = WIDTH, channels: int = CHANNELS) -> bool:
        return (self.rate, self.width, self.channels) == (rate, width, channels)


def check_frame(frame: AudioChunk, stage: str) -> None:
    """The loop's format: 16 kHz, mono, 16-bit. Anything else is a wiring bug, said plainly."""
    if not frame.is_format(RATE, WIDTH, CHANNELS):
        raise AudioError(
            f"{stage} needs 16 kHz mono 16-bit frames, got {frame.rate} Hz, "
            f"{frame.channels} channel(s), {8 * frame.width}-bit; convert with AudioConverter first"
        )


def silence(seconds: float, rate: int = RATE, timestamp: float = 0.0) -> AudioChunk:
    return AudioChunk(rate, 2, 1, bytes(2 * int(round(seconds * rate))), timestamp)


def to_int16(data: bytes, width: int) -> np.ndarray:
    """Integer PCM of any common width (8-bit unsigned, 16/24/32-bit signed) as int16."""
    if width == 2:
        return np.frombuffer(data, dtype="<i2")
    if width == 1:
        return ((np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if width == 3:
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        return (raw[:, 1].astype(np.int16) | (raw[:, 2].astype(np.int8).astype(np.int16) << 8)).astype(
            np.int16
        )
    if width == 4:
        return (np.frombuffer(data, dtype="<i4") >> 16).astype(np.int16)
    raise AudioError(f"unsupported sample width: {width} bytes")


class AudioConverter:
    """Streams chunks of any rate/width/channel count into one target format.

    Mic arrays: `channel` keeps one channel by index, or "mix" averages them. Resampling is
    soxr's streaming resampler, so chunk boundaries leave no clicks and the rate is exact.
    """

    def __init__(self, rate: int = RATE, channels: int = CHANNELS, channel: int | str = "mix") -> None:
        if channels not in (1, 2):
            raise AudioError(f"can only convert to mono or stereo, not {channels} channels")
        self.rate = rate
        self.channels = channels
        self.channel = channel
        self._resampler: soxr.ResampleStream | None = None
        self._source_rate: int | None = None
        self._samples_out = 0
        self._timestamp: float | None = None

    def convert(self, chunk: AudioChunk, last: bool = False) -> AudioChunk:
        if self._timestamp is None:
            self._timestamp = chunk.timestamp
        samples = to_int16(chunk.audio, chunk.width).reshape(-1, chunk.channels)
        samples = self._pick_channels(samples, chunk.channels)
        if chunk.rate != self.rate:
            if self._source_rate not in (None, chunk.rate):
                raise AudioError(f"input rate changed mid-stream from {self._source_rate} to {chunk.rate}")
            if self._resampler is None:
                self._source_rate = chunk.rate
                self._resampler = soxr.ResampleStream(chunk.rate, self.rate, self.channels, dtype="int16")
            samples = self._resampler.resample_chunk(samples, last=last)
        out = AudioChunk.from_array(np.ascontiguousarray(samples), self.rate)
        stamp = self._timestamp + self._samples_out / self.rate
        self._samples_out += out.samples
        return AudioChunk(out.rate, out.width, out.channels, out.audio, stamp)

    def flush(self) -> AudioChunk:
        """Whatever the resampler still holds, at the end of the stream."""
        empty = AudioChunk(self._source_rate or self.rate, 2, self.channels, b"", 0.0)
        if self._resampler is None:
            return AudioChunk(self.rate, 2, self.channels, b"", self._next_stamp())
        return self.convert(empty, last=True)

    def _next_stamp(self) -> float:
        return (self._timestamp or 0.0) + self._samples_out / self.rate

    def _pick_channels(self, samples: np.ndarray, channels: int) -> np.ndarray:
        if channels == self.channels:
            return samples
        if self.channels == 2:  # mono to stereo
            return np.repeat(samples[:, :1], 2, axis=1)
        if self.channel == "mix":
            return samples.astype(np.int32).mean(axis=1, keepdims=True).astype(np.int16)
        index = int(self.channel)
        if index >= channels:
            raise AudioError(f"audio.channel is {index}, but the input has only {channels} channels")
        return samples[:, index : index + 1]


def resample_whole(chunk: AudioChunk, rate: int) -> AudioChunk:
    """A complete piece of mono audio (a spoken sentence) at another rate, nothing held back."""
    if chunk.rate == rate:
        return chunk
    return AudioConverter(rate=rate).convert(chunk, last=True)


def frames(chunk: AudioChunk, frame_samples: int, remainder: bytearray) -> list[AudioChunk]:
    """Cut a 16 kHz mono stream into fixed frames (what webrtcvad needs), carrying the remainder."""
    frame_bytes = frame_samples * 2
    start_time = chunk.timestamp - (len(remainder) // 2) / chunk.rate
    remainder.extend(chunk.audio)
    out = []
    offset = 0
    while len(remainder) - offset >= frame_bytes:
        stamp = start_time + (offset // 2) / chunk.rate
        out.append(AudioChunk(chunk.rate, 2, 1, bytes(remainder[offset : offset + frame_bytes]), stamp))
        offset += frame_bytes
    del remainder[:offset]
    return out

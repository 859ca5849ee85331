"""Reading and writing WAV files, with a clear error for anything that is not one we can play."""

from __future__ import annotations

import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speaker.audio.chunk import AudioChunk, AudioConverter, resample_whole, to_int16
from speaker.errors import AudioError

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE


@dataclass(frozen=True)
class WavInfo:
    rate: int
    channels: int
    width: int  # bytes per sample as stored
    is_float: bool
    data_offset: int
    data_bytes: int

    @property
    def frames(self) -> int:
        return self.data_bytes // (self.width * self.channels)

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def probe(path: Path | str) -> WavInfo:
    """Parse the RIFF header: PCM 8/16/24/32-bit, float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise AudioError(f"{path} is not a WAV file (no RIFF/WAVE header); give a 16-bit PCM .wav")
            fmt: tuple[int, int, int, int] | None = None
            while True:
                header = f.read(8)
                if len(header) < 8:
                    break
                chunk_id, size = struct.unpack("<4sI", header)
                if chunk_id == b"fmt ":
                    body = f.read(size)
                    if len(body) < 16:
                        raise AudioError(f"{path}: truncated WAV format header")
                    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
                    if tag == _EXTENSIBLE and len(body) >= 26:
                        tag = struct.unpack("<H", body[24:26])[0]
                    fmt = (tag, channels, rate, bits)
                elif chunk_id == b"data":
                    if fmt is None:
                        raise AudioError(f"{path}: WAV data comes before its format header")
                    offset = f.tell()
                    available = path.stat().st_size - offset
                    return _info(path, fmt, offset, min(size, available))
                else:
                    f.seek(size + (size & 1), 1)
    except FileNotFoundError as exc:
        raise AudioError(f"file not found: {path}") from exc
    except OSError as exc:
        raise AudioError(f"cannot read {path}: {exc.strerror}") from exc
    raise AudioError(f"{path}: WAV file has no audio data")


def _info(path: Path, fmt: tuple[int, int, int, int], offset: int, size: int) -> WavInfo:
    tag, channels, rate, bits = fmt
    if tag not in (_PCM, _FLOAT):
        raise AudioError(f"{path}: unsupported WAV encoding (format tag {tag:#x}); use PCM or float")
    if tag == _PCM and bits not in (8, 16, 24, 32) or tag == _FLOAT and bits not in (32, 64):
        raise AudioError(f"{path}: unsupported sample size of {bits} bits")
    if channels < 1 or not 4000 <= rate <= 384000:
        raise AudioError(f"{path}: implausible WAV header ({channels} channels at {rate} Hz)")
    if size == 0:
        raise AudioError(f"{path}: the WAV file is empty (no samples)")
    return WavInfo(rate, channels, bits // 8, tag == _FLOAT, offset, size)


def read_chunks(path: Path | str, chunk_seconds: float = 0.1) -> tuple[WavInfo, list[AudioChunk]]:
    """The whole file as 16-bit chunks in its own rate and channel count."""
    path = Path(path)
    info = probe(path)
    step = max(1, int(info.rate * chunk_seconds)) * info.width * info.channels
    chunks = []
    with path.open("rb") as f:
        f.seek(info.data_offset)
        remaining = info.data_bytes - info.data_bytes % (info.width * info.channels)
        position = 0
        while remaining > 0:
            data = f.read(min(step, remaining))
            if not data:
                break
            remaining -= len(data)
            samples = _decode(data, info)
            chunks.append(AudioChunk(info.rate, 2, info.channels, samples.tobytes(), position / info.rate))
            position += len(samples) // info.channels
    return info, chunks


def _decode(data: bytes, info: WavInfo) -> np.ndarray:
    if info.is_float:
        dtype = "<f4" if info.width == 4 else "<f8"
        floats = np.frombuffer(data, dtype=dtype)
        return (np.clip(floats, -1.0, 1.0) * 32767.0).astype("<i2")
    return to_int16(data, info.width)


def read_mono16k(path: Path | str) -> AudioChunk:
    """A whole WAV file converted to the loop's 16 kHz mono format, as one chunk."""
    _, chunks = read_chunks(path)
    converter = AudioConverter()
    parts = [converter.convert(c).audio for c in chunks]
    parts.append(converter.flush().audio)
    return AudioChunk(16000, 2, 1, b"".join(parts), 0.0)


class WavWriter:
    """Writes 16-bit mono/stereo PCM; chunks of another rate are converted to the first one's rate."""

    def __init__(self, path: Path | str, rate: int | None = None) -> None:
        self.path = Path(path)
        self.rate = rate
        self._wav: wave.Wave_write | None = None
        self.seconds = 0.0

    def write(self, chunk: AudioChunk) -> None:
        if self._wav is None:
            self.rate = self.rate or chunk.rate
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._wav = wave.open(str(self.path), "wb")
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(self.rate)
        if not chunk.is_format(self.rate, 2, 1):
            chunk = resample_whole(AudioConverter(rate=chunk.rate).convert(chunk), self.rate or chunk.rate)
        self._wav.writeframes(chunk.audio)
        self.seconds += chunk.duration

    def close(self) -> None:
        if self._wav is None:  # nothing was said: still leave a valid, empty WAV behind
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with wave.open(str(self.path), "wb") as empty:
                empty.setnchannels(1)
                empty.setsampwidth(2)
                empty.setframerate(self.rate or 22050)
            return
        self._wav.close()
        self._wav = None


def write_wav(path: Path | str, chunk: AudioChunk) -> None:
    writer = WavWriter(path, chunk.rate)
    writer.write(chunk)
    writer.close()

"""Audio formats: WAV files of any common kind in, 16 kHz mono out, frequency preserved."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from fake_mic import FakeMicrophone

from speaker.audio.chunk import AudioChunk, AudioConverter, frames
from speaker.audio.sources import MicrophoneSource
from speaker.audio.wavfile import WavWriter, probe, read_mono16k
from speaker.errors import AudioError


def tone(freq: float, rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)
    return np.repeat(mono[:, None], channels, axis=1)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def write_pcm(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1] if samples.ndim == 2 else 1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def write_float(path: Path, samples: np.ndarray, rate: int) -> Path:
    data = samples.astype("<f4").tobytes()
    channels = samples.shape[1] if samples.ndim == 2 else 1
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (48000, 6), (22050, 1), (8000, 1), (16000, 2)])
def test_any_rate_and_channel_count_becomes_16k_mono_with_frequency_kept(
    tmp_path: Path, rate: int, channels: int
) -> None:
    path = write_pcm(tmp_path / "in.wav", tone(1000, rate, 1.0, channels), rate)
    chunk = read_mono16k(path)
    assert chunk.is_format(16000, 2, 1)
    assert abs(chunk.duration - 1.0) < 0.01
    assert abs(dominant_frequency(chunk.array()[:, 0], 16000) - 1000) < 5


def test_float_wav_is_read(tmp_path: Path) -> None:
    path = write_float(tmp_path / "f.wav", tone(440, 48000, 0.5)[:, 0] / 32767.0, 48000)
    chunk = read_mono16k(path)
    assert abs(dominant_frequency(chunk.array()[:, 0], 16000) - 440) < 5


def test_channel_selection_keeps_the_chosen_microphone() -> None:
    left, right = tone(500, 48000, 0.5)[:, 0], tone(2000, 48000, 0.5)[:, 0]
    stereo = AudioChunk.from_array(np.stack([left, right], axis=1), 48000)
    for channel, expected in ((0, 500), (1, 2000)):
        converter = AudioConverter(channel=channel)
        out = converter.convert(stereo, last=True)
        assert abs(dominant_frequency(out.array()[:, 0], 16000) - expected) < 5
    with pytest.raises(AudioError, match="only 2 channels"):
        AudioConverter(channel=3).convert(stereo)


def test_streamed_conversion_equals_length_of_whole(tmp_path: Path) -> None:
    samples = tone(300, 44100, 2.0)
    converter = AudioConverter()
    total = 0
    for start in range(0, len(samples), 1234):
        total += converter.convert(AudioChunk.from_array(samples[start : start + 1234], 44100)).samples
    total += converter.flush().samples
    assert abs(total - 32000) <= 2


def test_frames_are_fixed_size_and_carry_timestamps() -> None:
    remainder = bytearray()
    chunk = AudioChunk(16000, 2, 1, bytes(2 * 1000), 0.0)
    out = frames(chunk, 480, remainder)
    assert [f.samples for f in out] == [480, 480]
    assert len(remainder) == 2 * 40
    out2 = frames(AudioChunk(16000, 2, 1, bytes(2 * 440), 1000 / 16000), 480, remainder)
    assert len(out2) == 1 and out2[0].timestamp == pytest.approx(960 / 16000)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not audio at all", "not a WAV file"),
        (b"", "not a WAV file"),
    ],
)
def test_non_wav_is_rejected_clearly(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        probe(path)


def test_empty_wav_is_rejected_clearly(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "empty.wav", np.zeros((0, 1), np.int16), 16000)
    with pytest.raises(AudioError, match="empty"):
        probe(path)


def test_writer_converts_other_rates_into_the_first(tmp_path: Path) -> None:
    writer = WavWriter(tmp_path / "out.wav")
    writer.write(AudioChunk.from_array(tone(440, 22050, 0.5)[:, 0], 22050))
    writer.write(AudioChunk.from_array(tone(440, 16000, 0.5)[:, 0], 16000))
    writer.close()
    info = probe(tmp_path / "out.wav")
    assert info.rate == 22050 and abs(info.duration - 1.0) < 0.02


def read_seconds(source: MicrophoneSource, seconds: float) -> AudioChunk:
    """What a live source delivered in `seconds` of audio, joined (heartbeats are empty)."""
    parts, total, last_end = [], 0.0, None
    for captured in source.read():
        chunk = captured.chunk
        if not chunk.audio:
            continue
        assert chunk.is_format(16000, 2, 1)
        if last_end is not None:  # stream time is continuous from chunk to chunk
            assert chunk.timestamp == pytest.approx(last_end, abs=1e-6)
        last_end = chunk.end
        parts.append(chunk.audio)
        total += chunk.duration
        if total >= seconds:
            break
    return AudioChunk(16000, 2, 1, b"".join(parts))


@pytest.mark.parametrize(
    ("rate", "channels", "channel"),
    [(44100, 4, 3), (48000, 6, 2), (48000, 2, 0), (44100, 2, 1)],
)
def test_microphone_array_becomes_16k_mono_keeping_the_chosen_channel(
    rate: int, channels: int, channel: int
) -> None:
    tones = [300.0 + 400.0 * c for c in range(channels)]  # 300, 700, 1100, ... Hz, one per microphone
    mic = FakeMicrophone(rate=rate, channels=channels, tones=tones, level=0.3)
    source = MicrophoneSource("usb", channel=channel, backend=mic)
    source.open()
    try:
        assert f"({rate} Hz" in source.description
        out = read_seconds(source, 0.6)
    finally:
        source.close()
    assert abs(dominant_frequency(out.array()[:, 0], 16000) - tones[channel]) < 5


def test_microphone_mix_averages_the_channels() -> None:
    mic = FakeMicrophone(rate=48000, channels=2, tones=[500.0, 2000.0], level=0.4)
    source = MicrophoneSource(channel="mix", backend=mic)
    source.open()
    try:
        samples = read_seconds(source, 0.6).array()[:, 0].astype(np.float64)
    finally:
        source.close()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / 16000)

    def level(f: float) -> float:
        return float(spectrum[np.abs(freqs - f) < 10].max())

    assert level(500) > 0.5 * level(2000) and level(2000) > 0.5 * level(500)  # both, about equally
    assert level(500) > 20 * level(1200)  # and nothing else
    assert np.abs(samples).max() < 0.5 * 32767  # the average of two, not the sum


def test_microphone_channel_the_device_lacks_is_a_clear_error() -> None:
    source = MicrophoneSource(channel=4, backend=FakeMicrophone(channels=2))
    with pytest.raises(AudioError, match=r"audio.channel is 4, but 'USB PnP Audio Device' has only 2 input"):
        source.open()

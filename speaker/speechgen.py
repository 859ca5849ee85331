"""Speech made on this machine: piper voices and espeak-ng, as 16 kHz mono chunks.

Used for the bundled sample conversation, the benchmarks, the tests and wake-word training
data: everything that needs someone to say something when nobody is there.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from speaker.audio.chunk import RATE, AudioChunk, AudioConverter, silence
from speaker.audio.wavfile import read_mono16k
from speaker.errors import SpeakerError


def to_16k(chunk: AudioChunk) -> AudioChunk:
    if chunk.is_format():
        return chunk
    converter = AudioConverter()
    return AudioChunk(RATE, 2, 1, converter.convert(chunk).audio + converter.flush().audio)


def pad(chunk: AudioChunk, lead: float = 0.0, trail: float = 0.0) -> AudioChunk:
    """Silence before and after, timestamps from 0."""
    return AudioChunk(RATE, 2, 1, silence(lead).audio + chunk.audio + silence(trail).audio)


def concat(*chunks: AudioChunk) -> AudioChunk:
    return AudioChunk(RATE, 2, 1, b"".join(c.audio for c in chunks))


def add_noise(chunk: AudioChunk, snr_db: float, seed: int = 0) -> AudioChunk:
    """White noise `snr_db` below the power of the speech (samples louder than near-silence)."""
    samples = chunk.array()[:, 0].astype(np.float64)
    voiced = samples[np.abs(samples) > 300]
    power = float(np.mean(voiced**2)) if voiced.size else 1e4
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), samples.shape)
    mixed = np.clip(samples + noise, -32768, 32767).astype("<i2")
    return AudioChunk(RATE, 2, 1, mixed.tobytes(), chunk.timestamp)


class PiperSpeech:
    """A piper voice that says things: `say(text)` -> 16 kHz mono speech."""

    def __init__(self, model_path: Path) -> None:
        self.model_path = Path(model_path)
        self._voice: Any = None

    def say(
        self,
        text: str,
        length_scale: float | None = None,
        noise_scale: float | None = 0.0,
        noise_w_scale: float | None = 0.0,
    ) -> AudioChunk:
        """Noise scales of 0 (the default) make the same text always give the same audio, so that
        tests and benchmarks are repeatable; None takes the voice's own, varying, defaults."""
        from piper import PiperVoice, SynthesisConfig

        if self._voice is None:
            if not self.model_path.is_file():
                raise SpeakerError(f"piper voice not found: {self.model_path}")
            self._voice = PiperVoice.load(str(self.model_path))
        config = SynthesisConfig(
            length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale
        )
        parts = list(self._voice.synthesize(text, syn_config=config))
        if not parts:
            return AudioChunk(RATE, 2, 1, b"")
        raw = AudioChunk(parts[0].sample_rate, 2, 1, b"".join(p.audio_int16_bytes for p in parts))
        return to_16k(raw)


def espeak(text: str, voice: str = "en-us", speed: int = 150, pitch: int | None = None) -> AudioChunk:
    """`text` spoken by espeak-ng (`voice` e.g. "en-us", "en-us+f3", "ko", "cmn") as 16 kHz mono."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeakerError("espeak-ng is not installed: sudo apt-get install -y espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        command = [exe, "-v", voice, "-s", str(speed), "-w", str(path)]
        if pitch is not None:
            command += ["-p", str(pitch)]
        subprocess.run([*command, text], check=True, capture_output=True)
        return read_mono16k(path)


def speak_to_files(voice_path: Path, lines: list[tuple[str, Path, float, float]]) -> None:
    """Each (text, path, lead, trail) spoken by a piper voice into a 16 kHz WAV file.

    Meant to run in a child process (multiprocessing, spawn), so that a benchmark's own voice
    does not count in the memory it measures.
    """
    from speaker.audio.wavfile import write_wav

    voice = PiperSpeech(voice_path)
    for text, path, lead, trail in lines:
        write_wav(path, pad(voice.say(text), lead=lead, trail=trail))

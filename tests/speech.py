"""Test speech made here and now: piper (the joe voice) and espeak-ng, as 16 kHz mono AudioChunks.

Also where the tests find the real models: conftest.py puts their paths from the model store
into SPEAKER_TEST_* variables, so every test file names the same models.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from pathlib import Path

from speaker.audio.chunk import AudioChunk, frames
from speaker.audio.wavfile import read_mono16k, write_wav
from speaker.speechgen import PiperSpeech, add_noise, concat, espeak, pad

__all__ = ["SpeechCache", "add_noise", "concat", "pad", "require_model", "split"]

RATE = 16000

_FALLBACKS = {"SPEAKER_TEST_PS_MODEL": "<pocketsphinx>/en-us"}  # the copy inside the pocketsphinx wheel


def model_path(env: str) -> Path | None:
    """The model named by `env`, else this machine's known location; None when neither exists."""
    value = os.environ.get(env) or _FALLBACKS.get(env, "")
    if value.startswith("<pocketsphinx>"):
        try:
            import pocketsphinx
        except ImportError:
            return None
        value = value.replace("<pocketsphinx>", pocketsphinx.get_model_path())
    path = Path(value) if value else None
    return path if path is not None and path.exists() else None


def require_model(env: str) -> Path:
    """The model path, or fail the test saying which variable to set."""
    import pytest

    path = model_path(env)
    if path is None:
        pytest.fail(f"model not found: set {env} (conftest.py sets it from the model store)")
    return path


def require_espeak() -> str:
    import pytest

    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)")
    return exe


@functools.lru_cache(maxsize=2)
def _piper(model: str) -> PiperSpeech:
    return PiperSpeech(Path(model))


def piper_wav(
    text: str,
    path: Path,
    lead: float = 1.0,
    trail: float = 1.0,
    length_scale: float | None = None,
    vary: bool = False,
) -> AudioChunk:
    """`text` spoken by piper into `path` (16 kHz mono WAV, reused when it exists), with silence around.

    piper's generator noise is off unless `vary`, so the same text always gives the same audio.
    """
    if not path.exists():
        voice = _piper(str(require_model("SPEAKER_TEST_PIPER_VOICE")))
        noise = None if vary else 0.0
        speech = voice.say(text, length_scale=length_scale, noise_scale=noise, noise_w_scale=noise)
        write_wav(path, pad(speech, lead, trail))
    return read_mono16k(path)


def espeak_wav(
    text: str, path: Path, voice: str = "en-us", lead: float = 1.0, trail: float = 1.0, speed: int = 150
) -> AudioChunk:
    """`text` spoken by espeak-ng (`voice` e.g. "en-us", "en-us+f3", "ko") into `path`, as 16 kHz mono."""
    if not path.exists():
        require_espeak()
        write_wav(path, pad(espeak(text, voice=voice, speed=speed), lead, trail))
    return read_mono16k(path)


def split(chunk: AudioChunk, ms: int = 30) -> list[AudioChunk]:
    """The chunk as the loop's fixed frames (the last partial frame is dropped), timestamps from 0."""
    return frames(chunk, RATE * ms // 1000, bytearray())


class SpeechCache:
    """Generated speech kept in one directory for the session, keyed by what was said and how."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, *key: object) -> Path:
        digest = hashlib.sha1(repr(key).encode("utf-8")).hexdigest()[:16]
        return self.directory / f"{key[0]}-{digest}.wav"

    def piper(
        self,
        text: str,
        lead: float = 1.0,
        trail: float = 1.0,
        length_scale: float | None = None,
        vary: bool = False,
    ) -> AudioChunk:
        path = self._path("piper", text, lead, trail, length_scale, vary)
        if vary and path.exists():
            path.unlink()  # a new variant each time
        return piper_wav(text, path, lead, trail, length_scale, vary)

    def espeak(
        self, text: str, voice: str = "en-us", lead: float = 1.0, trail: float = 1.0, speed: int = 150
    ) -> AudioChunk:
        return espeak_wav(
            text, self._path("espeak", text, voice, lead, trail, speed), voice, lead, trail, speed
        )

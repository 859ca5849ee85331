"""The voices that speak training and evaluation data, and the sounds of the room around them.

Training voices: the piper voice(s) installed, with varied generator noise and speaking rate,
and espeak-ng accents and variants at varied speed and pitch. Evaluation voices: espeak-ng
variants and accents that training never uses (`EVAL_VOICES`), so the figures are for voices
the model has not heard. Every voice is further shifted in pitch and tempo, put in a simulated
room (reverberation), played at varied loudness and mixed with noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from speaker.speechgen import PiperSpeech, espeak

RATE = 16000

TRAIN_ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-029", "en-gb-x-gbcwmd")
TRAIN_VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "f1",
    "f2",
    "f3",
    "klatt",
    "klatt2",
    "Alex",
    "Andy",
    "Annie",
    "Denis",
    "Gene",
    "Hugo",
    "Jacky",
    "Lee",
    "Mike",
    "adam",
    "anika",
    "belinda",
    "benjamin",
    "caleb",
    "david",
    "edward",
    "grandpa",
    "iven",
    "john",
    "linda",
    "max",
    "norbert",
    "paul",
    "robert",
    "steph",
    "travis",
    "victor",
    "zac",
)
# Held apart from training: never used by `speaker wake train`.
EVAL_ACCENTS = ("en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-us-nyc")
EVAL_VARIANTS = (
    "m6",
    "m7",
    "f4",
    "f5",
    "klatt3",
    "Andrea",
    "Michael",
    "aunty",
    "grandma",
    "shelby",
    "quincy",
    "rob",
)


@dataclass(frozen=True)
class Voice:
    """One way of speaking: an engine and its settings."""

    engine: str  # "piper" or "espeak"
    name: str  # piper: the model path; espeak: "accent+variant"
    speed: float = 1.0  # piper: 1 / length_scale; espeak: relative to 160 words per minute
    pitch: int = 50  # espeak only, 0..99
    noise: float = 0.667  # piper generator noise

    def describe(self) -> str:
        if self.engine == "piper":
            return f"piper {Path(self.name).stem} speed {self.speed:.2f} noise {self.noise:.2f}"
        return f"espeak-ng {self.name} speed {self.speed:.2f} pitch {self.pitch}"


class Speaker:
    """Renders text in a Voice as int16 samples at 16 kHz (piper voices loaded once)."""

    def __init__(self) -> None:
        self._piper: dict[str, PiperSpeech] = {}

    def say(self, text: str, voice: Voice) -> np.ndarray:
        if voice.engine == "piper":
            piper = self._piper.setdefault(voice.name, PiperSpeech(Path(voice.name)))
            chunk = piper.say(
                text, length_scale=1.0 / voice.speed, noise_scale=voice.noise, noise_w_scale=voice.noise
            )
        else:
            chunk = espeak(text, voice=voice.name, speed=int(160 * voice.speed), pitch=voice.pitch)
        return chunk.array()[:, 0].copy()


def random_voice(rng: random.Random, *, evaluation: bool, piper_voices: list[Path]) -> Voice:
    """A voice drawn from the training or the evaluation set."""
    if not evaluation and piper_voices and rng.random() < 0.2:
        return Voice(
            "piper", str(rng.choice(piper_voices)), speed=rng.uniform(0.75, 1.3), noise=rng.uniform(0.3, 1.0)
        )
    accents, variants = (EVAL_ACCENTS, EVAL_VARIANTS) if evaluation else (TRAIN_ACCENTS, TRAIN_VARIANTS)
    return Voice(
        "espeak",
        f"{rng.choice(accents)}+{rng.choice(variants)}",
        speed=rng.uniform(0.75, 1.3),
        pitch=rng.randint(20, 80),
    )


# --- the room ---


def perturb(samples: np.ndarray, rng: random.Random) -> np.ndarray:
    """Another vocal tract, roughly: resampling shifts pitch and tempo together by up to ~12%."""
    factor = rng.uniform(0.88, 1.12)
    out = soxr.resample(samples.astype(np.float32), RATE, RATE * factor)
    return out.astype(np.float32)


def reverberate(samples: np.ndarray, rng: random.Random) -> np.ndarray:
    """A small room: the direct sound plus exponentially decaying diffuse reflections."""
    rt60 = rng.uniform(0.15, 0.7)
    length = int(RATE * rt60)
    t = np.arange(length) / RATE
    gen = np.random.default_rng(rng.randrange(1 << 30))
    response = gen.standard_normal(length) * np.exp(-6.9 * t / rt60)
    response[: int(0.003 * RATE)] = 0.0  # the first reflection comes a few ms after the direct sound
    response *= rng.uniform(0.1, 0.5) / np.sqrt(np.sum(response**2))
    response[0] = 1.0
    size = len(samples) + length  # the convolution by FFT: the same result, many times faster
    wet = np.fft.irfft(np.fft.rfft(samples.astype(np.float32), size) * np.fft.rfft(response, size), size)
    return wet[: len(samples)].astype(np.float32)


def noise(length: int, rng: random.Random) -> np.ndarray:
    """Room noise of unit power: white, pink-ish or brown-ish (fans, traffic, hum)."""
    gen = np.random.default_rng(rng.randrange(1 << 30))
    white = gen.standard_normal(length)
    kind = rng.choice(("white", "pink", "brown", "hum"))
    if kind == "pink":
        spectrum = np.fft.rfft(white) / np.sqrt(np.arange(1, length // 2 + 2))
        white = np.fft.irfft(spectrum, n=length)
    elif kind == "brown":
        white = np.cumsum(white)
        white -= np.convolve(white, np.ones(400) / 400, mode="same")
    elif kind == "hum":
        t = np.arange(length) / RATE
        base = rng.choice((50.0, 60.0))
        white = 0.3 * white + sum(np.sin(2 * np.pi * base * k * t) / k for k in (1, 2, 3))
    white = white - white.mean()
    return (white / (np.sqrt(np.mean(white**2)) + 1e-9)).astype(np.float32)


def in_room(
    samples: np.ndarray,
    rng: random.Random,
    *,
    background: np.ndarray | None = None,
    talk_below_db: float | None = None,
) -> np.ndarray:
    """The voice as a microphone hears it: reverberation, loudness, noise (and maybe other talk,
    `talk_below_db` under the voice: by default 8 to 20 dB, drawn)."""
    x = samples.astype(np.float32)
    if rng.random() < 0.6:
        x = reverberate(x, rng)
    voiced = x[np.abs(x) > 300]
    power = float(np.mean(voiced**2)) if voiced.size else 1e6
    level = 10 ** (rng.uniform(-18, 0) / 20)
    x = x * level
    snr = rng.uniform(5, 35)
    x = x + noise(len(x), rng) * np.sqrt(power * level**2 / 10 ** (snr / 10))
    if background is not None and len(background):
        snr_talk = rng.uniform(8, 20) if talk_below_db is None else talk_below_db
        bg = np.resize(background.astype(np.float32), len(x))
        bg_power = float(np.mean(bg**2)) + 1e-9
        x = x + bg * np.sqrt(power * level**2 / 10 ** (snr_talk / 10) / bg_power)
    return np.clip(x, -32768, 32767).astype(np.int16)

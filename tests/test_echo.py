"""The echo subtractor: a delayed, attenuated copy of the reply taken out of the microphone."""

from __future__ import annotations

import numpy as np
import pytest

from speaker.audio.chunk import RATE, AudioChunk
from speaker.pipeline.echo import EchoSubtractor


def signal(seconds: float, seed: int) -> np.ndarray:
    """Speech-like: noise bursts with pauses, loud enough to be a reply."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3000, round(seconds * RATE))
    envelope = (np.sin(np.arange(len(x)) / RATE * 2 * np.pi * 3) > -0.3).astype(float)
    return x * envelope


def run(mic: np.ndarray, reference: np.ndarray | None) -> tuple[np.ndarray, EchoSubtractor]:
    def reference_at(start: float, samples: int) -> np.ndarray | None:
        if reference is None:
            return None
        offset = round(start * RATE)
        out = np.zeros(samples)
        lo, hi = max(0, offset), min(len(reference), offset + samples)
        if hi <= lo:
            return None
        out[lo - offset : hi - offset] = reference[lo:hi]
        return out

    echo = EchoSubtractor(reference_at)
    out = []
    for i in range(0, len(mic) - 479, 480):
        frame = AudioChunk(
            RATE, 2, 1, np.clip(mic[i : i + 480], -32768, 32767).astype("<i2").tobytes(), i / RATE
        )
        out.append(np.frombuffer(echo.clean(frame).audio, "<i2").astype(np.float64))
    return np.concatenate(out), echo


def db(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(a**2) / np.sum(b**2)))


@pytest.mark.parametrize("delay_ms", [0, 30, 120])
def test_a_delayed_attenuated_reply_is_mostly_removed(delay_ms: int) -> None:
    reply = signal(4.0, 1)
    d = round(delay_ms * RATE / 1000)
    echo = np.zeros_like(reply)
    echo[d:] = 0.4 * reply[: len(reply) - d]
    out, sub = run(echo, reply)
    settled = slice(RATE, len(out))  # after the first estimate
    assert db(echo[settled], out[settled]) > 20
    assert abs(sub.delay - d) <= 1 and sub.gain == pytest.approx(0.4, abs=0.02)


def test_the_user_speaking_over_the_echo_is_kept() -> None:
    reply, user = signal(4.0, 1), signal(4.0, 2) * 0.5
    d = round(0.03 * RATE)
    echo = np.zeros_like(reply)
    echo[d:] = 0.5 * reply[: len(reply) - d]
    out, _ = run(echo + user, reply)
    settled = slice(RATE, len(out))
    residual = out[settled] - user[settled]
    assert db(user[settled], residual) > 15  # what is left is mostly the user


def test_without_a_reference_or_a_match_the_microphone_passes_through() -> None:
    mic = signal(2.0, 3)
    out, sub = run(mic, None)
    assert np.array_equal(out, mic[: len(out)].clip(-32768, 32767).astype("<i2").astype(float))
    out, sub = run(mic, signal(2.0, 4))  # something played, but not what the microphone hears
    assert sub.gain == 0.0


def test_a_piece_placed_a_few_ms_off_is_followed_while_the_user_talks_over_it() -> None:
    # Two pieces of a reply; the second starts after a pause and is heard 7 ms later than the
    # reference says (its start was placed by the clock), and the user talks over all of it.
    first, second = signal(2.0, 1), signal(3.0, 5)
    gap = round(0.2 * RATE)
    reference = np.concatenate([first, np.zeros(gap), second])
    d1, d2 = round(0.03 * RATE), round(0.037 * RATE)
    echo = np.zeros(len(reference) + d2)
    echo[d1 : d1 + len(first)] += 0.5 * first
    at = len(first) + gap + d2
    echo[at : at + len(second)] += 0.5 * second
    user = np.zeros_like(echo)
    talk = signal(3.0, 2) * 0.6
    user[len(first) + gap : len(first) + gap + len(talk)] = talk
    out, sub = run(echo + user, reference)
    settled = slice(len(first) + gap + RATE // 2, len(out))  # from 0.5 s into the second piece
    residual = out[settled] - user[settled]
    assert db(user[settled], residual) > 15, db(user[settled], residual)
    assert abs(sub.delay - d2) <= 1

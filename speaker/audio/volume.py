"""The output volume, applied to every reply on its way to the speaker or the WAV file."""

from __future__ import annotations

from typing import Any

import numpy as np

from speaker.audio.chunk import AudioChunk
from speaker.audio.sinks import SinkWrapper


class VolumeSink(SinkWrapper):
    """Wraps a sink; each chunk is scaled by `gain()` (1.0 passes the audio through untouched)."""

    def __init__(self, inner: Any, gain: Any) -> None:
        super().__init__(inner)
        self.gain = gain

    def play(self, chunk: AudioChunk) -> None:
        self.inner.play(scale(chunk, self.gain()))


def scale(chunk: AudioChunk, gain: float) -> AudioChunk:
    if gain >= 0.999 or chunk.width != 2:
        return chunk
    samples = np.frombuffer(chunk.audio, dtype="<i2").astype(np.float32) * gain
    return AudioChunk(chunk.rate, 2, chunk.channels, samples.astype("<i2").tobytes(), chunk.timestamp)

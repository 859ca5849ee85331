"""A simple echo subtractor for barge-in: the reply's direct path taken out of the microphone.

Not an acoustic echo canceller: it finds the one delay (up to MAX_DELAY_S) and gain at which the
playback reference best matches the microphone, re-estimated every UPDATE_S while the reply plays,
and subtracts the reference scaled and shifted so. That removes most of an echo that is a delayed,
attenuated copy of the reply (a speaker near the microphone, tests/room.py) and little of a
reverberant room's tail. It only subtracts when the match is clear (correlation >= MIN_MATCH), so
with no reply playing, or a reference that does not fit, the microphone passes through untouched.

While someone talks over the reply (double talk) the delay is only looked for close to the one
found on the echo alone, since the user's voice can make a far delay look best. It must still
move a little: a piece of the reply that starts after the one before it has finished playing is
placed by the clock, a few ms either way.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable

import numpy as np

from speaker.audio.chunk import RATE, AudioChunk

log = logging.getLogger(__name__)

MAX_DELAY_S = 0.25  # the longest playback-to-microphone delay looked for
WINDOW_S = 0.6  # microphone audio the delay and gain are estimated on
UPDATE_S = 0.15  # how often they are estimated again
MIN_MATCH = 0.3  # normalized correlation below which nothing is subtracted
SURE_MATCH = 0.8  # below this (double talk) only a delay near the one already found is taken
NEAR_S = 0.015  # how far from it (double talk)
MIN_REFERENCE_RMS = 100.0  # a quieter reference (silence between sentences) teaches nothing

Reference = Callable[[float, int], "np.ndarray | None"]  # (start time, samples) -> reference or None


class EchoSubtractor:
    def __init__(self, reference: Reference) -> None:
        self.reference = reference  # OwnVoice.reference_at
        self.delay = 0  # samples
        self.gain = 0.0  # 0: nothing is subtracted
        self._mic: collections.deque[AudioChunk] = collections.deque()
        self._since_update = 0.0
        self.removed_db = 0.0  # echo reduction of the last estimate (energy before / after), for logs

    def clean(self, frame: AudioChunk) -> AudioChunk:
        """The frame with the estimated echo taken out (the frame itself when there is none)."""
        self._remember(frame)
        self._since_update += frame.duration
        if self._since_update >= UPDATE_S:
            self._since_update = 0.0
            self._estimate(frame.end)
        if self.gain <= 0.0:
            return frame
        ref = self.reference(frame.timestamp - self.delay / RATE, frame.samples)
        if ref is None:
            return frame
        mic = np.frombuffer(frame.audio, "<i2").astype(np.float64)
        out = np.clip(mic - self.gain * ref, -32768, 32767).astype("<i2")
        return AudioChunk(frame.rate, 2, 1, out.tobytes(), frame.timestamp)

    def _remember(self, frame: AudioChunk) -> None:
        if self._mic and abs(self._mic[-1].end - frame.timestamp) > 1e-3:
            self._mic.clear()  # a gap in the input (a new source): start again
        self._mic.append(frame)
        while sum(f.duration for f in self._mic) > WINDOW_S:
            self._mic.popleft()

    def _estimate(self, end: float) -> None:
        mic = np.frombuffer(b"".join(f.audio for f in self._mic), "<i2").astype(np.float64)
        start = end - len(mic) / RATE
        lags = round(MAX_DELAY_S * RATE)
        ref = self.reference(start - lags / RATE, len(mic) + lags)
        if ref is None or np.sqrt(np.mean(ref**2)) < MIN_REFERENCE_RMS:
            self.gain = 0.0
            return
        # ref[lags - d : lags - d + n] is the reference d samples before the microphone
        n = len(mic)
        size = 1 << (len(ref) + n).bit_length()
        full = np.fft.irfft(np.fft.rfft(ref, size) * np.conj(np.fft.rfft(mic, size)), size)
        corr = full[: lags + 1][::-1]  # index d: sum(mic * the reference d samples earlier)
        power = np.concatenate([[0.0], np.cumsum(ref**2)])
        energy = (power[n : n + lags + 1] - power[: lags + 1])[::-1]
        fit = corr / np.sqrt(energy + 1e-9)  # the best delay takes out the most energy
        best = int(np.argmax(fit))
        match = corr[best] / (np.sqrt(energy[best] * np.sum(mic**2)) + 1e-9)
        if match < SURE_MATCH and self.gain > 0.0:
            # someone talks over the reply: only a delay close to the one found on the echo alone
            near = round(NEAR_S * RATE)
            lo, hi = max(0, self.delay - near), min(lags, self.delay + near) + 1
            best = lo + int(np.argmax(fit[lo:hi]))
            if fit[best] <= 0.0:
                return
        elif match < MIN_MATCH:
            self.gain = 0.0
            return
        shifted = ref[lags - best : lags - best + n]
        self.delay, self.gain = best, float(np.clip(corr[best] / (energy[best] + 1e-9), 0.0, 2.0))
        residual = mic - self.gain * shifted
        self.removed_db = float(10 * np.log10((np.sum(mic**2) + 1e-9) / (np.sum(residual**2) + 1e-9)))
        log.debug("echo: %.1f ms, gain %.2f, %.1f dB removed", 1000 * best / RATE, self.gain, self.removed_db)

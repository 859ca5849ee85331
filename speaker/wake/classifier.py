"""Wake word by a trained classifier on audio embeddings (the default engine).

Every 80 ms the newest ~1.3 s of audio, as a sequence of speech embeddings (features.py), is
scored by a small network trained for one phrase (model.py, `speaker wake train`). A detection
is reported when the score reaches the model's threshold on `hits` steps in a row and, when the
model has one, its verifier (a second network on the last ~1.9 s) agrees; or, in a model with an
alternate route (a pair trained with other talk in the background), when that pair hears it.

Most of the cost is the embedding (~3 ms of one core per 80 ms step here). It is computed only
while someone may be talking: a cheap voice-activity gate (webrtcvad) must have heard voice in
the audio the decision looks at, otherwise nothing is scored. When voice starts, the skipped
embeddings are computed then, so the classifier always sees what it was trained on.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from speaker.audio.chunk import AudioChunk, check_frame
from speaker.errors import ModelError
from speaker.wake.base import Detection
from speaker.wake.features import RATE, STEP, Embedder, EmbeddingStream, window_end_seconds
from speaker.wake.model import WakeModel, same_phrase
from speaker.wake.pairs import taken_for
from speaker.wake.phones import PhoneCheck, load_bundled_recognizers, phone_check

log = logging.getLogger(__name__)

BUNDLED = "hey_computer.npz"


def bundled_model() -> Path:
    """The wake model that ships with the firmware (for "hey computer"; scripts/train_wake_model.sh)."""
    return Path(__file__).resolve().parent.parent / "data" / "wake" / BUNDLED


_VAD_SAMPLES = 160  # 10 ms frames for the voice gate
# Where the phrase ends, from the first window that scores high: on held-out voices that window
# ended 0.18 s before to 0.1 s after the phrase (median 0.02 s before). Slightly late is better:
# the request is listened to from here, and the end of the phrase must not be taken for its start.
PHRASE_END_OFFSET = 0.05
# Frames are taken as one stream unless their timestamps jump by more than this (input skipped while
# muted, a new source); smaller differences are the jitter of timestamps taken from arrival times.
GAP_SECONDS = 0.25
# A decision needs ~2 s of history (~2.6 s with a verifier). A stream that starts (at start-up,
# after a reply, after a gap) gets that history as quiet room noise, as training put before every
# phrase, so that "hey computer" said at once is heard. A whole number of 80 ms steps.
HISTORY_SECONDS = 2.72
OFF = float("-inf")  # as phone_threshold: no phone check (a model's own threshold is > -inf)
RECORD = -1e30  # as phone_threshold: every hit passes, with its phone score (for a phone sweep)


@functools.lru_cache(maxsize=1)
def _quiet_history() -> np.ndarray:
    noise = np.random.default_rng(0).normal(0.0, 20.0, int(HISTORY_SECONDS * RATE))
    return noise.astype(np.int16)


class ClassifierWakeWord:
    def __init__(
        self,
        model_path: Path | str,
        threshold: float | None = None,
        gate: bool = True,
        phrase: str | None = None,
        verify_threshold: float | None = None,
        phone_threshold: float | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.phone_override = phone_threshold  # None: the model's own; OFF: no phone check
        self.expected_phrase = phrase  # the configured phrase: the model must be for it
        self.threshold_override = threshold
        self.verify_override = verify_threshold
        self.gate = gate
        self.model: WakeModel | None = None
        self.phrase = ""
        self.threshold = threshold or 0.5
        self.verify_threshold = verify_threshold or 0.0  # 0: no verifier, or not loaded yet
        self.last_score = 0.0
        self.last_verify_score = 0.0  # the verifier's, when the first stage last fired
        self.last_phone_score = 0.0  # the phone check's, when it last ran
        self.phone_check: PhoneCheck | None = None
        # a list: each phone check adds its hit's end and the phrase's margins over the rivals
        # (for fitting the rivals' thresholds: speaker wake phones --rival-ceiling)
        self.margins: list[tuple[float, np.ndarray]] | None = None
        self.phone_rejects = 0  # hits the networks made that the phone check turned down
        # the latest of them: (stream time, phone score, why: the rival that fit best, or the call
        # a pair network took it for)
        self.turned_down: collections.deque[tuple[float, float, str]] = collections.deque(maxlen=100)
        # Set by the voice loop while its reply plays (barge-in): the verifier's longer view then
        # holds the reply's echo residue before the phrase, which it never heard in training, and
        # it turns down "hey computer, stop" about one time in five; the first stage decides alone
        # (the speaker's own voice is told apart by the playback reference, pipeline/barge_in.py).
        self.double_talk = False
        self.scored_steps = 0  # steps the classifier ran on (the voice gate keeps it at 0 in silence)
        self.alternate_wakes = 0  # detections the alternate route made (the first route did not hear)
        # Set by `speaker wake eval --sweep`: every step goes to it as (the detection end it would
        # give, the first network's score, the verifier's), 0 and 0 where the voice gate kept it
        # from scoring, and the detector decides nothing itself.
        self.observer: Callable[[float, float, float], None] | None = None
        self._embedder: Embedder | None = None
        self._stream: EmbeddingStream | None = None
        self._vad = None
        self._vad_pending = np.zeros(0, np.int16)
        self._voiced_at = -1e9  # stream time (s) of the last voiced 10 ms
        self._origin: float | None = None  # input time of the stream's first sample
        self._next: float | None = None  # input time the next frame should start at
        self._streak = 0
        self._seen = 0  # samples since the stream started (the quiet history included)

    def load(self) -> None:
        model = WakeModel.load(self.model_path)
        if self.expected_phrase and not same_phrase(self.expected_phrase, model.phrase):
            raise ModelError(
                f"wake.phrase is {self.expected_phrase!r} but the wake model {self.model_path} is for "
                f'{model.phrase!r}: make one with `speaker wake train "{self.expected_phrase}"` and set '
                "wake.classifier to the file it writes"
            )
        self._use(model, Embedder())

    def twin(self) -> ClassifierWakeWord:
        """Another detector on the same loaded model, for another stream (the playback reference):
        the network and the ONNX sessions are shared, the stream state is its own."""
        if self.model is None or self._embedder is None:
            raise RuntimeError("ClassifierWakeWord.load() must be called first")
        other = ClassifierWakeWord(
            self.model_path,
            self.threshold_override,
            self.gate,
            self.expected_phrase,
            self.verify_override,
            self.phone_override,
        )
        other._use(self.model, self._embedder)
        return other

    def _use(self, model: WakeModel, embedder: Embedder) -> None:
        self.model = model
        self.phrase = model.phrase
        self.threshold = self.threshold_override or model.threshold
        self.verify_threshold = self.verify_override or (model.verifier.threshold if model.verifier else 0.0)
        self._embedder = embedder
        self.phone_check = self._phone_check(model)
        keep = self.phone_check.before_s + self.phone_check.after_s + 0.5 if self.phone_check else 0.0
        self._stream = EmbeddingStream(embedder, keep_windows=model.span, keep_seconds=keep)
        self.reset()

    def _phone_check(self, model: WakeModel) -> PhoneCheck | None:
        if model.phones is None or self.phone_override == OFF:
            return None
        return phone_check(load_bundled_recognizers(), model.phones, self.phone_override)

    def reset(self) -> None:
        if self._stream is not None:
            self._stream.reset()
        if self.gate and self._stream is not None:
            import webrtcvad

            self._vad = webrtcvad.Vad(1)  # afresh: it carries state from one frame to the next
        self._vad_pending = np.zeros(0, np.int16)
        self._voiced_at = -1e9
        self._origin = self._next = None
        self._streak = 0
        self._pending: tuple[Detection, float] | None = None  # a hit waiting for the phone check
        self._rest_until = 0.0  # stream time before which hits are not taken (after a rejection)
        self._seen = 0  # samples since the stream started (the quiet history included)
        if self._stream is not None:
            self._stream.push(_quiet_history())
            self._seen = len(_quiet_history())
        self.last_score = 0.0

    def process(self, frame: AudioChunk) -> Detection | None:
        check_frame(frame, "wake")
        stream, model = self._stream, self.model
        if stream is None or model is None:
            raise RuntimeError("ClassifierWakeWord.load() must be called first")
        if self._next is not None and abs(frame.timestamp - self._next) > GAP_SECONDS:
            self.reset()  # a gap (muted input, a new source): start over from this frame
        if self._origin is None:
            self._start_at(frame.timestamp, stream)
        self._next = frame.end
        samples = frame.array()[:, 0]
        self._seen += len(samples)
        if self._vad is not None:
            self._listen_for_voice(samples, stream)
        detection = None
        for _ in range(stream.push(samples)):
            detection = self._decide(stream, model) or detection
        return detection

    def flush(self) -> Detection | None:
        """At the end of the input: decide a hit still waiting for the phone check, with quiet
        after the audio (a recording that ends right after the phrase)."""
        stream, model = self._stream, self.model
        if self._pending is None or stream is None or model is None or self.phone_check is None:
            return None
        quiet = _quiet_history()
        while self._pending is not None and len(quiet) >= STEP:  # a step at a time, as live
            stream.push(quiet[:STEP])
            quiet = quiet[STEP:]
            detection = self._decide(stream, model)
            if detection is not None:
                return detection
        self._pending = None
        return None

    def _start_at(self, timestamp: float, stream: EmbeddingStream) -> None:
        """Place the stream's time 0 (the quiet history's start) on the input's 80 ms grid.

        A little more quiet goes before the first frame so that the steps fall on the same input
        times whenever the stream (re)starts: the same audio is then cut into the same steps, and
        scored the same, however the restart fell (after a reply, at a gap). A clip that starts at
        time 0, as in training and `speaker wake eval`, needs none.
        """
        extra = (round(timestamp * RATE) - self._seen) % STEP
        if extra:
            stream.push(_quiet_history()[-extra:])
            self._seen += extra
        self._origin = timestamp - self._seen / RATE

    def _listen_for_voice(self, samples: np.ndarray, stream: EmbeddingStream) -> None:
        pending = np.concatenate([self._vad_pending, samples])
        whole = len(pending) // _VAD_SAMPLES * _VAD_SAMPLES
        heard = (self._seen - len(pending)) / RATE  # stream time at the first pending sample
        for i in range(0, whole, _VAD_SAMPLES):
            if self._vad.is_speech(pending[i : i + _VAD_SAMPLES].tobytes(), RATE):
                self._voiced_at = heard + (i + _VAD_SAMPLES) / RATE
        self._vad_pending = pending[whole:]

    def _verified(self, verifier: WakeModel | None, embeddings: np.ndarray, threshold: float) -> bool:
        """Whether the second stage agrees (or there is none, or it is set aside over a reply)."""
        if verifier is None or self.double_talk:
            return True
        self.last_verify_score = verifier.score(embeddings[-verifier.windows :])
        return self.last_verify_score >= threshold

    def _by_alternate(self, alternate: WakeModel, embeddings: np.ndarray) -> bool:
        """Whether the alternate route (trained over other talk) hears the phrase, with its own
        network, verifier and thresholds from the model file."""
        score = alternate.score(embeddings[-alternate.windows :])
        if score < alternate.threshold:
            return False
        threshold = alternate.verifier.threshold if alternate.verifier else 0.0
        if not self._verified(alternate.verifier, embeddings, threshold):
            return False
        self.last_score = max(self.last_score, score)
        self.alternate_wakes += 1
        return True

    def _decide(self, stream: EmbeddingStream, model: WakeModel) -> Detection | None:
        if stream.windows < model.span:
            return None
        window_end = window_end_seconds(stream.windows - 1)
        if self._pending is not None:
            return self._check_phones(stream, window_end)
        span = window_end_seconds(model.windows - 1)  # the audio one decision looks at (~2 s)
        end = (self._origin or 0.0) + window_end + PHRASE_END_OFFSET
        if self._vad is not None and window_end - self._voiced_at > span:
            self._streak = 0
            self.last_score = 0.0
            if self.observer is not None:
                self.observer(end, 0.0, 0.0)
            return None  # no voice in anything the decision would look at
        embeddings = stream.latest(model.span)
        if embeddings is None:
            return None
        self.scored_steps += 1
        self.last_score = model.score(embeddings[-model.windows :])
        if self.observer is not None:
            verifier = model.verifier
            verify = verifier.score(embeddings[-verifier.windows :]) if verifier is not None else 1.0
            self.observer(end, self.last_score, verify)
            return None
        self._streak = self._streak + 1 if self.last_score >= self.threshold else 0
        if window_end < self._rest_until:
            return None
        heard = self._streak >= model.hits
        heard = heard and self._verified(model.verifier, embeddings, self.verify_threshold)
        if not heard and model.alternate is not None and not self.double_talk:
            heard = self._by_alternate(model.alternate, embeddings)
        if not heard:
            return None
        self._streak = 0
        detection = Detection(phrase=model.phrase, score=round(self.last_score, 4), end=end)
        if self.phone_check is None or self.double_talk:
            return detection
        self._pending = (detection, window_end + PHRASE_END_OFFSET)
        return None

    def _taken_for_a_call(self, check: PhoneCheck) -> str | None:
        """What a pair network took a hit the phone check passed for, said for `speaker wake test`;
        None if none did."""
        assert self.model is not None
        if not self.model.pairs:
            return None
        taken = taken_for(self.model.pairs, check)
        if taken is None:
            return None
        pair, score = taken
        agreed = " and the phone check" if pair.phone_margin is not None else ""
        return f"taken for {pair.phrase!r} by its pair network ({score:.2f}){agreed}"

    def _check_phones(self, stream: EmbeddingStream, window_end: float) -> Detection | None:
        """A hit waits until the phone check can hear `after_s` past it; then it counts or not."""
        assert self._pending is not None and self.phone_check is not None and self._embedder is not None
        detection, hit = self._pending
        check = self.phone_check
        if window_end < hit + check.after_s:
            return None
        self._pending = None
        mel = stream.mel_between(hit - check.before_s, hit + check.after_s)
        if mel is None:
            log.warning("wake word: a hit at %.2f s is dropped: its audio went before its phone check", hit)
            return None
        self.last_phone_score = check.score(self._embedder, mel)
        if self.margins is not None and check.last_margins is not None:
            self.margins.append((detection.end, check.last_margins))
        why = f"too near a rival: {' '.join(check.best_rival)}" if check.best_rival else ""
        if self.last_phone_score >= check.threshold:
            taken = self._taken_for_a_call(check)
            if taken is None:
                return dataclasses.replace(detection, phone_score=round(self.last_phone_score, 3))
            if check.threshold <= RECORD:  # every hit passes, with its score: this one fails at any
                return dataclasses.replace(detection, phone_score=float("-inf"))
            why = taken
        self.phone_rejects += 1
        self.turned_down.append((round(detection.end, 2), round(self.last_phone_score, 2), why))
        # the networks still hear what was turned down: no new hit until it has left their view
        assert self.model is not None
        self._rest_until = hit + window_end_seconds(self.model.windows - 1)
        log.debug("wake word: phone check turned down a hit (%.2f; %s)", self.last_phone_score, why)
        return None

"""Training a pair network (speaker/wake/pairs.py): the phrase against one call said in its place.

Clips are made like the training positives (training voices, lead-in talk, a request after, a
room): half say the phrase, half the call; half of each run on into the request in one breath,
so that running on is no sign of either. Each goes through the model's own networks to find
where they would hit (the first step both pass, or else where they come nearest), and the
network learns from the embeddings the phone check would compute there. Every fifth clip is held
back to say how well it tells the two apart.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speaker.wake.classifier import PHRASE_END_OFFSET
from speaker.wake.features import RATE, Embedder, mel_frame_at, window_end_seconds
from speaker.wake.model import WakeModel, sequences
from speaker.wake.pairs import PAIR_ROWS, PAIR_THRESHOLD, pair_input
from speaker.wake.phones import features, pronunciations
from speaker.wake.training.dataset import ClipMaker, Recipe, in_workers
from speaker.wake.training.fit import fit_network

FLOW_SHARE = 0.5  # clips with the phrase said in one breath with a request after it
SEARCH = (-0.4, 0.6)  # where a hit is looked for: this near the end of the phrase (a call: on from there)


@dataclass
class PairReport:
    call: str
    clips: int  # clips heard (phrase and call)
    held_back: int  # of them, held back from fitting
    phrases_lost: float  # share of the held-back phrases it would turn down
    calls_caught: float  # share of the held-back calls it turns down

    def line(self) -> str:
        return (
            f"pair network for {self.call!r}: of {self.held_back} clips held back, it turns down"
            f" {100 * self.calls_caught:.0f}% of the calls and {100 * self.phrases_lost:.1f}% of the phrases"
        )


_MAKER: ClipMaker | None = None
_EMBEDDER: Embedder | None = None
_MODEL: WakeModel | None = None


def _init(recipe: Recipe, model_path: str) -> None:
    global _MAKER, _EMBEDDER, _MODEL
    _MAKER, _EMBEDDER, _MODEL = ClipMaker(recipe), Embedder(), WakeModel.load(model_path)


def _hit_index(model: WakeModel, embeddings: np.ndarray, near: np.ndarray) -> int | None:
    """The window the model's networks would hit on, among those `near` allows: the first where
    both pass their thresholds, or else the one they come nearest together."""
    span = model.span
    if len(embeddings) < span:
        return None

    def scored(network: WakeModel) -> np.ndarray:
        out = np.zeros(len(embeddings))
        out[span - 1 :] = network.scores(sequences(embeddings, network.windows)[span - network.windows :])
        return out

    verifier = model.verifier
    first = scored(model)
    second = scored(verifier) if verifier is not None else np.ones(len(embeddings))
    candidates = np.flatnonzero(near & (np.arange(len(embeddings)) >= span - 1))
    if not candidates.size:
        return None
    passed = candidates[
        (first[candidates] >= model.threshold)
        & (second[candidates] >= (verifier.threshold if verifier is not None else 0.0))
    ]
    if passed.size:
        return int(passed[0])
    return int(candidates[np.argmax(first[candidates] * second[candidates])])


def _example(job: tuple[str, int]) -> tuple[int, np.ndarray] | None:
    """(1 for the phrase, 0 for the call; the pair network's input at the hit), or None when
    the clip gives no place to look."""
    assert _MAKER is not None and _EMBEDDER is not None and _MODEL is not None
    assert _MODEL.phones is not None
    clip = _MAKER.make(job)
    before, after = _MODEL.phones["before_s"], _MODEL.phones["after_s"]
    quiet = clip.audio[: int(0.35 * RATE)]  # room tone, so that the check can hear past a late hit
    audio = np.concatenate([clip.audio, *([quiet] * int(np.ceil(after / 0.35)))])
    mel = _EMBEDDER.mel(audio)
    embeddings = _EMBEDDER.embeddings_of_mel(mel)
    ends = np.array([window_end_seconds(j) for j in range(len(embeddings))])
    assert clip.phrase_end is not None
    # a call may be taken for the phrase anywhere in the words after it too
    until = clip.phrase_end + SEARCH[1] if clip.kind == "positive" else len(clip.audio) / RATE
    near = (ends > clip.phrase_end + SEARCH[0]) & (ends < until) & (ends > before)
    index = _hit_index(_MODEL, embeddings, near)
    if index is None:
        return None
    hit = ends[index] + PHRASE_END_OFFSET  # where the live detector puts a hit (classifier.py)
    heard = mel[max(0, mel_frame_at(hit - before)) : mel_frame_at(hit + after)]  # as mel_between()
    x = pair_input(features(_EMBEDDER, heard, 0), PAIR_ROWS)
    return None if x is None else (int(clip.kind == "positive"), x[0])


def pair_examples(
    recipe: Recipe, model_path: Path, jobs: list[tuple[str, int]], workers: int | None = None
) -> Iterator[tuple[int, np.ndarray] | None]:
    """_example() of each job, in order, as they are made (for a progress bar)."""
    return in_workers(_example, jobs, workers, _init, (recipe, str(model_path)))


def train_pair(
    model_path: Path,
    call: str,
    *,
    clips: int = 1200,
    seed: int = 1,
    workers: int | None = None,
    piper_voices: tuple[str, ...] = (),
    epochs: int = 40,
    threshold: float = PAIR_THRESHOLD,
    phone_margin: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[WakeModel, PairReport]:
    """A pair network telling the model's phrase from `call`, from `clips` clips of each; with
    `phone_margin`, one that decides with the phone check (pairs.py). A ValueError when the clips
    give too little to learn from."""
    model = WakeModel.load(model_path)
    if model.phones is None:
        raise ValueError("the model has no phone check: a pair network hears what it computes")
    call_phones = pronunciations(call) if phone_margin is not None else []
    if phone_margin is not None and not call_phones:
        raise ValueError("espeak-ng gives no phones for it")
    recipe = Recipe(
        model.phrase, evaluation=False, piper_voices=piper_voices, call=call, flow_share=FLOW_SHARE
    )
    rng = random.Random(seed)
    jobs = [(kind, rng.randrange(2**40)) for _ in range(clips) for kind in ("positive", "call")]
    made = []
    for example in pair_examples(recipe, model_path, jobs, workers):
        made.append(example)
        if progress:
            progress("speech", len(made), len(jobs))
    kept = [(k, e) for k, e in enumerate(made) if e is not None]
    labels = np.array([e[0] for _, e in kept], np.float32)
    if len(kept) < 4 or labels.min() == labels.max():
        raise ValueError(f"only {len(kept)} of {len(jobs)} clips gave a place to listen")
    x = np.stack([e[1] for _, e in kept]).astype(np.float32)
    back = np.array([(k // 2) % 5 == 4 for k, _ in kept])
    if back.all() or not back.any() or labels[~back].min() == labels[~back].max():
        back[:] = False  # too few clips to hold any back: fitted on all, measured on them
    shown = back if back.any() else ~back

    def epoch_progress(done: int, _loss: float) -> None:
        if progress:
            progress("fit", done, epochs)

    layers, mean, scale = fit_network(
        x[~back],
        labels[~back],
        hidden=(64, 32),
        epochs=epochs,
        weight_decay=1e-3,
        seed=seed,
        progress=epoch_progress,
    )
    pair = WakeModel(call, PAIR_ROWS, layers, mean, scale, threshold=threshold)
    pair.call_phones, pair.phone_margin = call_phones, phone_margin
    scores, said = pair.scores(x[shown]), labels[shown]
    report = PairReport(
        call,
        len(kept),
        int(shown.sum()),
        float(np.mean(scores[said == 1] < threshold)) if (said == 1).any() else 0.0,
        float(np.mean(scores[said == 0] < threshold)) if (said == 0).any() else 0.0,
    )
    return pair, report

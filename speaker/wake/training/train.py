"""`speaker wake train "PHRASE"`: a wake model for any phrase, from speech made on this machine."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from speaker.wake.model import WakeModel
from speaker.wake.phones import check_settings
from speaker.wake.soundalikes import similar_words
from speaker.wake.training.dataset import Examples, Recipe, jobs_for, make_examples
from speaker.wake.training.fit import choose_threshold, fit_network

log = logging.getLogger(__name__)

WINDOWS = 16  # embeddings per decision: 1.28 s of audio, enough for a two- or three-word phrase
VERIFY_WINDOWS = 24  # the verifier's: 1.92 s, which hears more of what comes before the phrase


@dataclass(frozen=True)
class Size:
    positives: int  # clips of the phrase
    ordinary: int  # 12-second clips of ordinary talk
    near: int  # 12-second clips of near-miss talk
    calls: int  # 12-second clips of near-miss talk full of sound-alike calls (the verifier's only)
    epochs: int


SIZES = {
    "full": Size(positives=1400, ordinary=260, near=260, calls=400, epochs=40),  # 0.9 + 0.9 + 1.3 h of talk
    "small": Size(positives=300, ordinary=60, near=40, calls=60, epochs=30),
    "tiny": Size(positives=24, ordinary=6, near=4, calls=4, epochs=15),  # the test suite's: not useful
}
VALIDATION_SHARE = 0.15


def train(
    phrase: str,
    out: Path,
    *,
    size: str = "full",
    seed: int = 1,
    workers: int | None = None,
    piper_voices: tuple[str, ...] = (),
    max_false_per_hour: float = 0.2,
    talk_share: float = 0.0,
    breath_share: float = 0.0,
    threshold: float | None = None,
    verify_threshold: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> WakeModel:
    """Make the data, fit the network and its verifier, choose their thresholds on held-out
    validation clips (or take the ones given), save to `out`."""
    phrase = " ".join(phrase.lower().split())
    if not phrase:
        raise ValueError("the wake phrase is empty")
    for given in (threshold, verify_threshold):  # before the data, which takes most of the time
        if given is not None and not 0.0 < given < 1.0:
            raise ValueError(f"a threshold must be between 0 and 1, got {given}")
    if not 0.0 <= talk_share <= 0.5:
        raise ValueError(f"the share of clips with background talk must be 0 to 0.5, got {talk_share}")
    if not 0.0 <= breath_share <= 1.0:
        raise ValueError(f"the share of phrases said in one breath must be 0 to 1, got {breath_share}")
    preset = SIZES[size]
    started = time.monotonic()
    recipe = Recipe(
        phrase,
        evaluation=False,
        piper_voices=piper_voices,
        similar=tuple(similar_words(phrase)),
        talk_share=talk_share,
        flow_share=breath_share,
    )
    jobs = jobs_for(preset.positives, preset.ordinary, preset.near, seed, preset.calls)
    fitting, validation = Examples(), Examples()
    cut = max(1, round(1 / VALIDATION_SHARE))
    for i, made in enumerate(make_examples(recipe, jobs, workers)):
        (validation if i % cut == 0 else fitting).extend(made)
        if progress:
            progress("speech", i + 1, len(jobs))
    model, sequences = _fit(phrase, fitting, WINDOWS, ("calls",), preset.epochs, seed, "fit", progress)
    model.threshold, figures = choose_threshold(model, validation, max_false_per_hour)
    verifier, _ = _fit(phrase, fitting, VERIFY_WINDOWS, (), preset.epochs, seed, "verifier", progress)
    verifier.threshold, verifier_figures = choose_threshold(verifier, validation, max_false_per_hour)
    for stage, given in ((model, threshold), (verifier, verify_threshold)):
        if given is not None:
            stage.threshold = given
    model.verifier = verifier
    model.phones = check_settings(phrase)  # every hit then has its phones checked (phones.py)
    model.info = {
        "made": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "size": size,
        "seed": seed,
        "talk_share": talk_share,
        "training_hours": {k: round(v / 3600, 3) for k, v in fitting.seconds.items()},
        "sequences": sequences[0],
        "positive_sequences": sequences[1],
        "validation": figures,
        "verifier_validation": verifier_figures,
        "voices": "piper (varied) and espeak-ng training voices; evaluation voices held out",
        "minutes": round((time.monotonic() - started) / 60, 1),
    }
    model.save(out)
    return model


def _fit(
    phrase: str,
    fitting: Examples,
    windows: int,
    skip: tuple[str, ...],
    epochs: int,
    seed: int,
    stage: str,
    progress: Callable[[str, int, int], None] | None,
) -> tuple[WakeModel, tuple[int, int]]:
    """A network on `windows` embeddings, and how many sequences (and positive ones) it saw."""
    x, y, w = fitting.matrix(windows, skip)
    if not (y == 1).any() or not (y == 0).any():
        raise RuntimeError("the training data has no positive or no negative examples; try a larger size")
    log.info("%s: fitting on %d sequences (%d positive)", stage, len(y), int(y.sum()))

    def epoch_done(epoch: int, loss: float) -> None:
        if progress:
            progress(stage, epoch, epochs)

    layers, mean, scale = fit_network(x, y, w, epochs=epochs, seed=seed, progress=epoch_done)
    model = WakeModel(phrase=phrase, windows=windows, layers=layers, mean=mean, scale=scale)
    return model, (len(y), int(y.sum()))


def summary(model: WakeModel) -> str:
    v = model.info.get("validation", {})
    hours = model.info.get("training_hours", {})
    talk = sum(h for k, h in hours.items() if k != "positive")
    return (
        f"wake model for {model.phrase!r}: threshold {model.threshold:.3f}; trained on "
        f"{model.info.get('positive_sequences', '?')} phrase windows and {talk:.2f} h of other talk; "
        f"validation: {100 * float(v.get('false_rejects', float('nan'))):.1f}% missed, "
        f"{v.get('false_accepts', '?')} false wakes in {v.get('negative_hours', '?')} h"
    )

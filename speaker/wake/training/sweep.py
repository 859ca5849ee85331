"""`speaker wake eval --sweep`: the figures of many pairs of the two networks' thresholds.

It runs the clips of evaluate.py once with the detector only observing, its two networks' scores
at every step kept, and then decides as the detector would for each pair of thresholds: the
figures of many pairs for the cost of one run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speaker.audio.chunk import AudioChunk
from speaker.wake.base import detect_all
from speaker.wake.features import RATE
from speaker.wake.training import evaluate
from speaker.wake.training.dataset import Recipe, default_workers
from speaker.wake.training.evaluate import Clips, Report

# Steps skipped after a detection: the live detector starts over then (the loop resets it), and
# the first decisions after that hold mostly the quiet it starts with.
SWEEP_REST_STEPS = 8
SWEEP_FIRST = (0.9, 0.95, 0.98, 0.99, 0.995)
SWEEP_VERIFIER = (0.5, 0.8, 0.9, 0.95, 0.98)

_STEPS: list[tuple[float, float, float]] = []  # what the detector observed (in each worker)


def _init(recipe: Recipe, model_path: str) -> None:
    evaluate._init(recipe, model_path, (None, None, None))
    assert evaluate._DETECTOR is not None
    evaluate._DETECTOR.observer = lambda end, score, verify: _STEPS.append((end, score, verify))


def _observe(job: tuple[str, int]) -> tuple[str, float, float | None, np.ndarray]:
    """(kind, seconds, the phrase's end or None, steps): every step of one clip as (detection
    end, first network's score, verifier's score)."""
    maker, detector = evaluate._MAKER, evaluate._DETECTOR
    assert maker is not None and detector is not None
    clip = maker.make(job)
    _STEPS.clear()
    detect_all(detector, AudioChunk.from_array(clip.audio, RATE))
    steps = np.array(_STEPS, np.float64).reshape(-1, 3)
    return job[0], len(clip.audio) / RATE, clip.phrase_end, steps


def detections(steps: np.ndarray, threshold: float, verify_threshold: float, hits: int = 1) -> list[float]:
    """The detection ends the live detector would give on observed steps (end, score, verifier's
    score) with these thresholds."""
    ends: list[float] = []
    streak, rest_until = 0, -1
    for i, (end, score, verify) in enumerate(steps):
        if i < rest_until:
            continue
        streak = streak + 1 if score >= threshold else 0
        if streak >= hits and verify >= verify_threshold:
            ends.append(float(end))
            streak, rest_until = 0, i + SWEEP_REST_STEPS
    return ends


@dataclass
class Sweep:
    phrase: str
    own: tuple[float, float]  # the model's own thresholds
    reports: dict[tuple[float, float], Report]  # per (threshold, verifier threshold)
    phones: bool = False  # the model has a phone check (which a sweep leaves out)

    def lines(self) -> list[str]:
        first = next(iter(self.reports.values()), None)
        if first is None:
            return []
        lines = [
            f"wake phrase: {self.phrase!r} (held-out voices and sentences); * the model's own thresholds"
        ]
        lines.append(f"{'threshold':>10} {'verifier':>9}" + first.table_head())
        for (threshold, verify), r in self.reports.items():
            mark = "*" if (threshold, verify) == self.own else " "
            lines.append(f"{mark}{threshold:>9.3f} {verify:>9.3f}" + r.table_row())
        sizes = f"{first.positives} phrases"
        if first.talk_positives:
            sizes += f", {first.talk_positives} over other talk"
        if first.breath_positives:
            sizes += f", {first.breath_positives} in one breath with a request"
        talk = {"ordinary": "ordinary", "near": "near-miss"}
        hours = ", ".join(
            f"{first.hours[k]:.2f} h of {name} talk" for k, name in talk.items() if first.hours[k]
        )
        lines.append(f"from {sizes}{', ' + hours if hours else ''}")
        if self.phones:
            lines.append(
                "the two networks alone: the model's phone check is left out (--phone-sweep measures it)"
            )
        return lines


def sweep(
    model_path: Path,
    clips: Clips | None = None,
    *,
    thresholds: tuple[float, ...] = SWEEP_FIRST,
    verify_thresholds: tuple[float, ...] = SWEEP_VERIFIER,
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """The figures of `evaluate` for every pair of thresholds, from one run over the clips."""
    clips = clips or Clips()
    detector, recipe, jobs = evaluate._setup(model_path, clips, (None, None, None))
    model = detector.model
    assert model is not None
    if model.alternate is not None:
        raise ValueError(f"{model_path} has an alternate route: a sweep varies one route's thresholds only")
    own = (detector.threshold, detector.verify_threshold)
    if model.verifier is None:
        verify_thresholds = (0.0,)  # no verifier: every first-network hit counts
    firsts, verifies = sorted({*thresholds, own[0]}), sorted({*verify_thresholds, own[1]})
    pairs = [(t, v) for t in firsts for v in verifies]
    reports = {pair: Report(detector.phrase, talk_below_db=clips.talk_below_db) for pair in pairs}
    with ProcessPoolExecutor(
        default_workers(clips.workers),
        initializer=_init,
        initargs=(recipe, str(model_path)),
    ) as pool:
        for i, (kind, seconds, phrase_end, steps) in enumerate(pool.map(_observe, jobs, chunksize=4)):
            for (threshold, verify), report in reports.items():
                ends = detections(steps, threshold, verify, model.hits)
                report.tally(
                    kind, seconds, len(ends) if phrase_end is None else evaluate._caught(phrase_end, ends)
                )
            if progress:
                progress(i + 1, len(jobs))
    return Sweep(detector.phrase, own, reports, phones=model.phones is not None)

"""`speaker wake eval`: how often a wake model misses, and how often it wakes for nothing.

The audio is made like the training data but from the held-out half: voices (espeak-ng accents
and variants) and sentences that training never uses. It runs through the live detector frame by
frame, voice gate included, exactly as on the device.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from speaker.audio.chunk import AudioChunk
from speaker.wake.base import detect_all
from speaker.wake.classifier import ClassifierWakeWord
from speaker.wake.features import RATE
from speaker.wake.training.dataset import ClipMaker, Recipe, jobs_for
from speaker.wake.training.texts import similar_words

CAUGHT_WITHIN = (-0.6, 0.8)  # a detection this close to the phrase's end counts as catching it


@dataclass
class Report:
    phrase: str
    positives: int = 0
    missed: int = 0
    talk_positives: int = 0  # phrases said with another voice talking in the background (a TV)
    talk_missed: int = 0
    talk_below_db: float | None = None  # that talk's level under the phrase (None: 8 to 20 dB)
    hours: dict[str, float] = field(default_factory=lambda: {"ordinary": 0.0, "near": 0.0})
    false: dict[str, int] = field(default_factory=lambda: {"ordinary": 0, "near": 0})
    missed_by: Counter[str] = field(default_factory=Counter)  # voice (engine and name): phrases missed
    woke: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, sentence): false wakes

    @property
    def false_reject_rate(self) -> float:
        return self.missed / self.positives if self.positives else float("nan")

    def per_hour(self, kind: str) -> float:
        return self.false[kind] / self.hours[kind] if self.hours[kind] else float("nan")

    def lines(self) -> list[str]:
        lines = [f"wake phrase: {self.phrase!r} (held-out voices and sentences)"]
        if self.positives:
            lines.append(
                f"false rejects: {self.missed} of {self.positives} = {100 * self.false_reject_rate:.1f}%"
            )
        if self.talk_positives:
            lines.append(
                f"false rejects, other talk in the background{self._level()}: "
                f"{self.talk_missed} of {self.talk_positives}"
                f" = {100 * self.talk_missed / self.talk_positives:.1f}%"
            )
        for kind, name in (("ordinary", "ordinary speech"), ("near", "near-miss speech")):
            if self.hours[kind]:
                lines.append(
                    f"false accepts, {name}: {self.false[kind]} in {self.hours[kind]:.2f} h"
                    f" = {self.per_hour(kind):.2f} per hour"
                )
        return lines + self.missed_lines() + self.woke_lines()

    def _level(self) -> str:
        return f" ({self.talk_below_db:g} dB below the phrase)" if self.talk_below_db is not None else ""

    def missed_lines(self, most: int = 5) -> list[str]:
        """The voices that missed most often (one voice missing much says more than many once)."""
        if not self.missed_by:
            return []
        shown = ", ".join(f"{voice} ({n})" for voice, n in self.missed_by.most_common(most))
        more = f" and {len(self.missed_by) - most} more" if len(self.missed_by) > most else ""
        return [f"missed most by: {shown}{more}"]

    def woke_lines(self, most: int = 10) -> list[str]:
        """The held-out sentences that woke it, the most frequent first."""
        if not self.woke:
            return []
        shown = self.woke.most_common(most)
        lines = [f"what woke it ({len(self.woke)} sentences; times, kind, sentence):"]
        lines += [f"  {n:3d}  {kind:8s}  {sentence}" for (kind, sentence), n in shown]
        if len(self.woke) > most:
            lines.append(f"  ... and {len(self.woke) - most} more sentences")
        return lines


_MAKER: ClipMaker | None = None
_DETECTOR: ClassifierWakeWord | None = None


def _init(recipe: Recipe, model_path: str, thresholds: tuple[float | None, float | None]) -> None:
    global _MAKER, _DETECTOR
    _MAKER = ClipMaker(recipe)
    _DETECTOR = ClassifierWakeWord(model_path, threshold=thresholds[0], verify_threshold=thresholds[1])
    _DETECTOR.load()


def _run(job: tuple[str, int]) -> tuple[str, float, int, str, list[str]]:
    """(kind, seconds, count, voice, sentences): detections in time for a positive; false ones
    otherwise, with the sentence each came in."""
    kind = job[0]
    assert _MAKER is not None and _DETECTOR is not None
    clip = _MAKER.make(job)
    ends = [d.end for d in detect_all(_DETECTOR, AudioChunk.from_array(clip.audio, RATE))]
    seconds = len(clip.audio) / RATE
    if clip.phrase_end is None:
        heard = [clip.sentence_at(e) or "(between sentences)" for e in ends]
        return kind, seconds, len(ends), clip.voice, heard
    lo, hi = clip.phrase_end + CAUGHT_WITHIN[0], clip.phrase_end + CAUGHT_WITHIN[1]
    return kind, seconds, int(any(lo <= e <= hi for e in ends)), clip.voice, []


def evaluate(
    model_path: Path,
    *,
    positives: int = 200,
    ordinary_hours: float = 2.0,
    near_hours: float = 1.0,
    talk_positives: int = 0,
    talk_below_db: float | None = None,
    seed: int = 11,
    threshold: float | None = None,
    verify_threshold: float | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    detector = ClassifierWakeWord(model_path, threshold=threshold, verify_threshold=verify_threshold)
    detector.load()  # a broken model fails here, before any work
    phrase = detector.phrase
    recipe = Recipe(
        phrase, evaluation=True, similar=tuple(similar_words(phrase)), talk_below_db=talk_below_db
    )
    clip_seconds = 12.0
    ordinary, near = round(ordinary_hours * 3600 / clip_seconds), round(near_hours * 3600 / clip_seconds)
    jobs = jobs_for(positives, ordinary, near, seed, talk_positives=talk_positives)
    report = Report(phrase, talk_below_db=talk_below_db)
    workers = workers or max(1, min(len(os.sched_getaffinity(0)), 4))
    with ProcessPoolExecutor(
        workers, initializer=_init, initargs=(recipe, str(model_path), (threshold, verify_threshold))
    ) as pool:
        for i, (kind, seconds, count, voice, woke) in enumerate(pool.map(_run, jobs, chunksize=4)):
            if kind == "talk":
                report.talk_positives += 1
                report.talk_missed += 1 - count
            elif kind == "positive":
                report.positives += 1
                report.missed += 1 - count
                if not count:
                    report.missed_by[" ".join(voice.split()[:2])] += 1  # without speed and pitch
            else:
                report.hours[kind] += seconds / 3600
                report.false[kind] += count
                report.woke.update((kind, sentence) for sentence in woke)
            if progress:
                progress(i + 1, len(jobs))
    return report

"""`speaker wake eval`: how often a wake model misses, and how often it wakes for nothing.

The audio is made like the training data but from the held-out half: voices (espeak-ng accents
and variants) and sentences that training never uses. It runs through the live detector frame by
frame, voice gate included, exactly as on the device. sweep.py measures many pairs of the
networks' thresholds from one run; evaluate_phones() here several of the phone check's, and
caught_margins() with fit_rival_offsets() each rival's own threshold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from speaker.audio.chunk import AudioChunk
from speaker.wake.base import detect_all
from speaker.wake.classifier import RECORD, ClassifierWakeWord
from speaker.wake.features import RATE
from speaker.wake.phones import PhoneCheck
from speaker.wake.soundalikes import similar_words
from speaker.wake.training.dataset import ClipMaker, Recipe, default_workers, jobs_for

CAUGHT_WITHIN = (-0.6, 0.8)  # a detection this close to the phrase's end counts as catching it


@dataclass
class Report:
    phrase: str
    positives: int = 0
    missed: int = 0
    talk_positives: int = 0  # phrases said with another voice talking in the background (a TV)
    talk_missed: int = 0
    talk_below_db: float | None = None  # that talk's level under the phrase (None: 8 to 20 dB)
    breath_positives: int = 0  # phrases said in one breath with a request after them
    breath_missed: int = 0
    hours: dict[str, float] = field(default_factory=lambda: {"ordinary": 0.0, "near": 0.0})
    false: dict[str, int] = field(default_factory=lambda: {"ordinary": 0, "near": 0})
    missed_by: Counter[str] = field(default_factory=Counter)  # voice (engine and name): phrases missed
    talk_missed_by: Counter[str] = field(default_factory=Counter)  # the same, over other talk
    breath_missed_by: Counter[str] = field(default_factory=Counter)  # the same, said in one breath
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
        if self.breath_positives:
            lines.append(
                f"false rejects, in one breath with a request: {self.breath_missed} of"
                f" {self.breath_positives} = {100 * self.breath_missed / self.breath_positives:.1f}%"
            )
        for kind, name in (("ordinary", "ordinary speech"), ("near", "near-miss speech")):
            if self.hours[kind]:
                lines.append(
                    f"false accepts, {name}: {self.false[kind]} in {self.hours[kind]:.2f} h"
                    f" = {self.per_hour(kind):.2f} per hour"
                )
        return lines + self.missed_lines() + self.woke_lines()

    def table_head(self) -> str:
        """The figures' column names in a sweep's table."""
        talk = f" {'over talk':>10}" if self.talk_positives else ""
        breath = f" {'one breath':>10}" if self.breath_positives else ""
        return f" {'misses':>8}{talk}{breath} {'ordinary/h':>11} {'near-miss/h':>12}"

    def table_row(self) -> str:
        """The figures in a sweep's table: misses (over talk, in one breath), false wakes per hour."""
        row = f" {100 * self.false_reject_rate:>7.1f}%"
        if self.talk_positives:
            row += f" {100 * self.talk_missed / self.talk_positives:>9.1f}%"
        if self.breath_positives:
            row += f" {100 * self.breath_missed / self.breath_positives:>9.1f}%"
        for kind, width in (("ordinary", 11), ("near", 12)):
            row += f" {self.per_hour(kind):>{width}.2f}" if self.hours[kind] else f" {'-':>{width}}"
        return row

    def add(self, outcome: Outcome, phone_threshold: float | None = None) -> None:
        count = outcome.count(phone_threshold)
        self.tally(outcome.kind, outcome.seconds, count)
        missed = {kind: voices for kind, _, voices in self._missed_kinds()}
        if outcome.kind in missed and not count:
            missed[outcome.kind][" ".join(outcome.voice.split()[:2])] += 1  # without speed and pitch
        if outcome.phrase_end is None:
            self.woke.update(
                (outcome.kind, sentence)
                for _, phones, sentence in outcome.found
                if phone_threshold is None or phones is None or phones >= phone_threshold
            )

    def tally(self, kind: str, seconds: float, count: int) -> None:
        """One clip's outcome: for a phrase ("positive", "talk", "breath"), 1 if it was caught in
        time, else 0; for talk ("ordinary", "near"), how many times it woke the detector."""
        if kind == "breath":
            self.breath_positives += 1
            self.breath_missed += 1 - count
        elif kind == "talk":
            self.talk_positives += 1
            self.talk_missed += 1 - count
        elif kind == "positive":
            self.positives += 1
            self.missed += 1 - count
        else:
            self.hours[kind] += seconds / 3600
            self.false[kind] += count

    def _level(self) -> str:
        return f" ({self.talk_below_db:g} dB below the phrase)" if self.talk_below_db is not None else ""

    def missed_lines(self, most: int = 5) -> list[str]:
        """The voices that missed most often (one voice missing much says more than many once),
        of the phrases said alone, over other talk and in one breath."""
        lines = []
        for _, name, missed in self._missed_kinds():
            if missed:
                shown = ", ".join(f"{voice} ({n})" for voice, n in missed.most_common(most))
                more = f" and {len(missed) - most} more" if len(missed) > most else ""
                lines.append(f"missed most{name} by: {shown}{more}")
        return lines

    def _missed_kinds(self) -> list[tuple[str, str, Counter[str]]]:
        """For each kind of phrase clip: its kind, how the report names it, the voices that missed."""
        return [
            ("positive", "", self.missed_by),
            ("talk", " over other talk", self.talk_missed_by),
            ("breath", " in one breath", self.breath_missed_by),
        ]

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


Thresholds = tuple[float | None, float | None, float | None]  # first network, verifier, phone check


def _detector(model_path: Path | str, thresholds: Thresholds) -> ClassifierWakeWord:
    detector = ClassifierWakeWord(
        model_path, threshold=thresholds[0], verify_threshold=thresholds[1], phone_threshold=thresholds[2]
    )
    detector.load()  # a broken model fails here, before any work
    return detector


def _init(recipe: Recipe, model_path: str, thresholds: Thresholds) -> None:
    global _MAKER, _DETECTOR
    _MAKER = ClipMaker(recipe)
    _DETECTOR = _detector(model_path, thresholds)


def _caught(phrase_end: float, ends: list[float]) -> int:
    """1 if a detection came close enough to the phrase's end to count as catching it, else 0."""
    lo, hi = phrase_end + CAUGHT_WITHIN[0], phrase_end + CAUGHT_WITHIN[1]
    return int(any(lo <= e <= hi for e in ends))


@dataclass
class Outcome:
    """One clip's detections: (end, phone score or None, the sentence it came in for talk)."""

    kind: str
    seconds: float
    phrase_end: float | None
    voice: str
    found: list[tuple[float, float | None, str]]

    def count(self, phone_threshold: float | None = None) -> int:
        """For a phrase, 1 if it was caught in time, else 0; for talk, how many times it woke (only
        detections whose phone score reaches `phone_threshold` count, when one is given)."""
        ends = [e for e, p, _ in self.found if phone_threshold is None or p is None or p >= phone_threshold]
        return len(ends) if self.phrase_end is None else _caught(self.phrase_end, ends)


def _run(job: tuple[str, int]) -> Outcome:
    assert _MAKER is not None and _DETECTOR is not None
    clip = _MAKER.make(job)
    found = [
        (
            d.end,
            d.phone_score,
            "" if clip.phrase_end is not None else clip.sentence_at(d.end) or "(between sentences)",
        )
        for d in detect_all(_DETECTOR, AudioChunk.from_array(clip.audio, RATE))
    ]
    return Outcome(job[0], len(clip.audio) / RATE, clip.phrase_end, clip.voice, found)


@dataclass(frozen=True)
class Clips:
    """Which held-out clips to make: how many of each kind, from which seed, in how many processes."""

    positives: int = 200
    ordinary_hours: float = 2.0
    near_hours: float = 1.0
    talk_positives: int = 0  # phrases with another voice talking in the background
    talk_below_db: float | None = None  # that talk's level under the phrase (None: 8 to 20 dB)
    breath_positives: int = 0  # phrases said in one breath with a request after them
    seed: int = 11
    workers: int | None = None  # processes (None: one per core, at most 4)


def evaluation_recipe(phrase: str, talk_below_db: float | None = None) -> Recipe:
    """How `speaker wake eval` makes its clips for `phrase`: held-out voices and sentences, near
    misses with words that sound like the phrase's."""
    return Recipe(phrase, evaluation=True, similar=tuple(similar_words(phrase)), talk_below_db=talk_below_db)


def _setup(
    model_path: Path, clips: Clips, thresholds: Thresholds
) -> tuple[ClassifierWakeWord, Recipe, list[tuple[str, int]]]:
    detector = _detector(model_path, thresholds)
    recipe = evaluation_recipe(detector.phrase, clips.talk_below_db)
    clip_seconds = 12.0
    ordinary = round(clips.ordinary_hours * 3600 / clip_seconds)
    near = round(clips.near_hours * 3600 / clip_seconds)
    return (
        detector,
        recipe,
        jobs_for(
            clips.positives,
            ordinary,
            near,
            clips.seed,
            talk_positives=clips.talk_positives,
            breath_positives=clips.breath_positives,
        ),
    )


def evaluate(
    model_path: Path,
    clips: Clips = Clips(),
    *,
    threshold: float | None = None,
    verify_threshold: float | None = None,
    phone_threshold: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """`phone_threshold`: the phone check's (None: the model's own; classifier.OFF: none)."""
    return evaluate_phones(
        model_path,
        clips,
        None,
        threshold=threshold,
        verify_threshold=verify_threshold,
        phone_threshold=phone_threshold,
        progress=progress,
    )[None]


def evaluate_phones(
    model_path: Path,
    clips: Clips,
    phone_thresholds: tuple[float, ...] | None,
    *,
    threshold: float | None = None,
    verify_threshold: float | None = None,
    phone_threshold: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[float | None, Report]:
    """A report for each of `phone_thresholds`, from one run that lets every hit through with its
    phone score (None: one report, the detector deciding as configured)."""
    if phone_thresholds is not None:
        phone_threshold = RECORD
    thresholds = (threshold, verify_threshold, phone_threshold)
    detector, recipe, jobs = _setup(model_path, clips, thresholds)
    if phone_thresholds is not None and detector.phone_check is None:
        raise ValueError(f"{model_path} has no phone check to sweep")
    keys: tuple[float | None, ...] = phone_thresholds if phone_thresholds is not None else (None,)
    reports = {key: Report(detector.phrase, talk_below_db=clips.talk_below_db) for key in keys}
    with ProcessPoolExecutor(
        default_workers(clips.workers), initializer=_init, initargs=(recipe, str(model_path), thresholds)
    ) as pool:
        for i, outcome in enumerate(pool.map(_run, jobs, chunksize=4)):
            for key, report in reports.items():
                report.add(outcome, key)
            if progress:
                progress(i + 1, len(jobs))
    return reports


def _margins_run(job: tuple[str, int]) -> list[np.ndarray]:
    """The phone check's margins over its rivals at each hit that caught the clip's phrase."""
    assert _MAKER is not None and _DETECTOR is not None
    clip = _MAKER.make(job)
    _DETECTOR.margins = []
    detect_all(_DETECTOR, AudioChunk.from_array(clip.audio, RATE))
    if clip.phrase_end is None:
        return []
    return [m for end, m in _DETECTOR.margins if _caught(clip.phrase_end, [end])]


def caught_margins(
    model_path: Path,
    positives: int,
    seeds: tuple[int, ...],
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """For fitting the rivals' thresholds (phones.fit_rival_offsets): `positives` phrases of each
    seed's held-out clips through the detector, every hit of the networks let through to the
    phone check; the phrase's margins over each rival (the check's order) at each hit that
    caught a phrase, a row each, and how many phrases there were."""
    thresholds: Thresholds = (None, None, RECORD)
    detector, recipe, jobs = _setup(model_path, Clips(positives, 0.0, 0.0, seed=seeds[0]), thresholds)
    if detector.phone_check is None or not detector.phone_check.rivals:
        raise ValueError(f"{model_path} has no phone check with rivals")
    for seed in seeds[1:]:
        jobs += jobs_for(positives, 0, 0, seed)
    rows: list[np.ndarray] = []
    with ProcessPoolExecutor(
        default_workers(workers), initializer=_init, initargs=(recipe, str(model_path), thresholds)
    ) as pool:
        for i, found in enumerate(pool.map(_margins_run, jobs, chunksize=4)):
            rows += found
            if progress:
                progress(i + 1, len(jobs))
    width = len(detector.phone_check.rivals)
    return (np.array(rows) if rows else np.zeros((0, width))), len(jobs)


def stored_offsets(check: PhoneCheck, settings: dict, fitted: np.ndarray) -> list[float]:
    """Offsets fitted for the check's rivals (fit_rival_offsets), as the model stores them: one
    per rival of its settings, in their order."""
    index = {r: k for k, r in enumerate(check.rivals)}
    out = []
    for phones in settings.get("rivals", []):
        k = index.get(check.model.ids(phones))
        out.append(round(float(fitted[k]), 2) if k is not None else 0.0)
    return out


def fit_rival_offsets(margins: np.ndarray, threshold: float, ceiling: float | np.ndarray) -> np.ndarray:
    """Each rival's offset above `threshold`, from the margins (phrase path less rival path) of
    phrases the model caught, a row each: the rival's threshold is the lowest margin any of them
    had against it, but not below `threshold` nor above `ceiling` (one for all, or one per
    rival). A rival the phrase itself comes near is held to `threshold`; one it never comes near,
    to its ceiling."""
    if np.min(ceiling) < threshold:
        raise ValueError(f"the rivals' ceiling {np.min(ceiling):g} is below the threshold {threshold:g}")
    margins = np.asarray(margins, np.float64)
    margins = margins[np.isfinite(margins).all(axis=1)] if margins.ndim == 2 else margins[:0]
    if not len(margins):
        raise ValueError("no caught phrase to set the rivals' thresholds from")
    return np.clip(margins.min(axis=0), threshold, ceiling) - threshold


@dataclass
class PhoneSweep:
    """The figures at several phone check thresholds (`speaker wake eval --phone-sweep`)."""

    reports: dict[float | None, Report]
    own: dict | None  # the model's phone check

    def lines(self) -> list[str]:
        first = next(iter(self.reports.values()))
        own = self.own["threshold"] if self.own else None
        lines = [
            f"wake phrase: {first.phrase!r} (held-out voices and sentences); * the model's own threshold"
        ]
        lines.append(f"{'phone check':>12}" + first.table_head())
        for threshold, r in self.reports.items():
            mark = "*" if threshold == own else " "
            lines.append(f"{mark}{threshold:>11.2f}" + r.table_row())
        lines.append(
            "(each hit of the networks let through with its phone score; live, a hit turned down keeps the"
            " networks from hitting again until it has left their view)"
        )
        return lines

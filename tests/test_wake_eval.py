"""`speaker wake eval` names what woke the model: each false wake is traced to the sentence it came in."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from speaker.wake.classifier import OFF, bundled_model
from speaker.wake.model import WakeModel
from speaker.wake.training import dataset, evaluate, sweep
from speaker.wake.training.dataset import Clip, ClipMaker, Recipe
from speaker.wake.training.evaluate import Report

RATE = 16000


def _clip(said: tuple[tuple[float, float, str], ...]) -> Clip:
    return Clip(np.zeros(RATE * 10, np.int16), None, "near", "test voice", said)


def test_a_decision_is_traced_to_the_sentence_it_heard() -> None:
    clip = _clip(((0.5, 2.0, "the new computer"), (2.6, 4.0, "hey computes and then nothing")))
    assert clip.sentence_at(1.0) == "the new computer"  # while it is said
    assert clip.sentence_at(4.5) == "hey computes and then nothing"  # a decision comes just after
    assert clip.sentence_at(2.2) == "the new computer"  # between two: the nearer
    assert clip.sentence_at(2.45) == "hey computes and then nothing"
    assert clip.sentence_at(6.0) is None  # long after anything was said
    assert _clip(()).sentence_at(1.0) is None


@pytest.mark.parametrize("seed", [3, 8, 21])
def test_the_sentences_of_a_made_clip_are_where_its_speech_is(seed: int) -> None:
    clip = ClipMaker(Recipe("hey computer", evaluation=True)).negative(random.Random(seed), near=True)
    assert len(clip.said) >= 3
    frames = clip.audio[: len(clip.audio) // 320 * 320].astype(np.float64).reshape(-1, 320)
    power = (frames**2).mean(axis=1)  # per 20 ms
    loud = power > 10 * np.percentile(power, 20)  # well above the room's noise: someone talks
    said = np.zeros(len(power), bool)
    for start, end, _ in clip.said:
        said[int((start - 0.05) * 50) : int((end + 0.25) * 50) + 1] = True  # with the room's echo
    assert clip.said[-1][1] <= len(clip.audio) / RATE
    assert loud.sum() > 100
    assert (loud & said).sum() >= 0.97 * loud.sum()  # what is loud is within the sentences' times
    assert (loud & said).sum() >= 0.5 * said.sum()  # and they are mostly loud


def test_the_report_lists_the_sentences_that_woke_it_most_often_first() -> None:
    report = Report("hey computer", positives=10, missed=1)
    report.hours = {"ordinary": 1.0, "near": 0.5}
    report.false = {"ordinary": 1, "near": 4}
    report.woke = Counter(
        {("near", "Hey, can pewter tarnish"): 3, ("near", "he computed"): 1, ("ordinary", "To compute it"): 1}
    )
    lines = report.lines()
    assert lines[4] == "what woke it (3 sentences; times, kind, sentence):"
    assert lines[5].split() == ["3", "near", "Hey,", "can", "pewter", "tarnish"]
    assert {tuple(line.split()[:2]) for line in lines[6:]} == {("1", "near"), ("1", "ordinary")}
    quiet = Report("hey computer", positives=10)
    quiet.hours = {"ordinary": 1.0, "near": 0.5}
    assert len(quiet.lines()) == 4  # nothing woke it: nothing to list
    # what was not measured is not shown as a figure (no "nan%")
    near_only = Report("hey computer")
    near_only.hours["near"], near_only.false["near"] = 0.5, 2
    assert near_only.lines()[1:] == ["false accepts, near-miss speech: 2 in 0.50 h = 4.00 per hour"]


def test_the_report_gives_the_misses_over_background_talk_and_in_one_breath_apart() -> None:
    report = Report("hey computer", positives=20, missed=1, talk_positives=10, talk_missed=3)
    report.tally("breath", 4.0, 0)
    for _ in range(3):
        report.tally("breath", 4.0, 1)
    assert report.lines()[1:4] == [
        "false rejects: 1 of 20 = 5.0%",
        "false rejects, other talk in the background: 3 of 10 = 30.0%",
        "false rejects, in one breath with a request: 1 of 4 = 25.0%",
    ]
    assert report.table_head().split() == [
        "misses",
        "over",
        "talk",
        "one",
        "breath",
        "ordinary/h",
        "near-miss/h",
    ]
    assert report.table_row().split()[:3] == ["5.0%", "30.0%", "25.0%"]
    assert len(Report("hey computer", positives=20).lines()) == 2  # not asked for: not shown


def test_the_report_names_the_voices_that_missed_most() -> None:
    report = Report("hey computer", positives=20, missed=4)
    report.missed_by = Counter({"espeak-ng en-gb-scotland+quincy": 3, "espeak-ng en-us+f4": 1})
    assert report.lines()[1:] == [
        "false rejects: 4 of 20 = 20.0%",
        "missed most by: espeak-ng en-gb-scotland+quincy (3), espeak-ng en-us+f4 (1)",
    ]
    report.missed_by.update({f"espeak-ng en-us+m{i}": 1 for i in range(6)})
    assert report.missed_lines()[0].endswith("and 3 more")
    # those missed in one breath, apart
    report.add(evaluate.Outcome("breath", 4.0, 2.0, "espeak-ng en-us+m1 speed 1.10 pitch 40", []))
    report.add(
        evaluate.Outcome("breath", 4.0, 2.0, "espeak-ng en-us+m2 speed 0.90 pitch 60", [(2.1, 0.0, "")])
    )
    assert report.breath_missed == 1 and report.missed_by["espeak-ng en-us+m1"] == 1
    assert report.missed_lines()[1] == "missed most in one breath by: espeak-ng en-us+m1 (1)"
    # and those missed over other talk, between the two
    report.add(evaluate.Outcome("talk", 4.0, 2.0, "piper en_US-joe-medium speed 1.00 noise 0.50", []))
    assert report.talk_missed == 1 and report.talk_positives == 1
    assert report.missed_lines()[1:] == [
        "missed most over other talk by: piper en_US-joe-medium (1)",
        "missed most in one breath by: espeak-ng en-us+m1 (1)",
    ]


def _quiet_runs(audio: np.ndarray, start: float, end: float) -> list[int]:
    """The lengths (20 ms frames) of the runs of frames well under the loudest, start..end s."""
    frames = audio[int(start * RATE) : int(end * RATE)].astype(np.float64)
    frames = frames[: len(frames) // 320 * 320].reshape(-1, 320)
    power = (frames**2).mean(axis=1)
    quiet = power < 0.01 * power.max()
    runs, run = [], 0
    for q in quiet:
        run = run + 1 if q else 0
        runs.append(run)
    return runs


def test_one_breath_clips_run_the_phrase_into_a_request_and_change_no_other_clip() -> None:
    maker = ClipMaker(Recipe("hey computer", evaluation=True))
    for seed in (2, 4, 11):  # seeds whose phrase, said alone, has a pause after it
        clip, alone = maker.make(("breath", seed)), maker.make(("positive", seed))
        assert clip.kind == "positive" and clip.phrase_end is not None and alone.phrase_end is not None
        assert max(_quiet_runs(alone.audio, alone.phrase_end - 0.1, alone.phrase_end + 0.5)) >= 8
        # in one breath, no pause after the phrase: the request follows at once
        assert max(_quiet_runs(clip.audio, clip.phrase_end - 0.1, clip.phrase_end + 0.5)) < 8, seed
    # asking for them adds their jobs after the others, which stay as they were
    plain = dataset.jobs_for(5, 3, 3, 11, talk_positives=2)
    more = dataset.jobs_for(5, 3, 3, 11, talk_positives=2, breath_positives=4)
    assert more[: len(plain)] == plain and [k for k, _ in more[len(plain) :]] == ["breath"] * 4


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """The same clip: resampling may differ by a unit or two from one run to the next."""
    return a.shape == b.shape and int(np.abs(a.astype(np.int32) - b).max()) <= 8


def _backgrounds(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray | None]:
    """What each clip made from now on was given as background talk (None: none)."""
    given: list[np.ndarray | None] = []
    real = dataset.in_room

    def in_room(samples: np.ndarray, rng: random.Random, *, background=None, **level) -> np.ndarray:
        given.append(background)
        return real(samples, rng, background=background, **level)

    monkeypatch.setattr(dataset, "in_room", in_room)
    return given


def test_evaluation_puts_talk_under_a_phrase_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    given = _backgrounds(monkeypatch)
    maker = ClipMaker(Recipe("hey computer", evaluation=True))
    plain = maker.positive(random.Random(4))
    again = maker.positive(random.Random(4), talk=False)
    maker.negative(random.Random(4), near=False, seconds=3.0)
    assert given == [None, None, None]  # the other figures' clips stay as they were
    assert _same(plain.audio, again.audio)
    with_talk = maker.positive(random.Random(4), talk=True)
    talk = given[-1]
    assert talk is not None and len(talk) > 3 * RATE  # three sentences, under the whole clip
    assert len(with_talk.audio) == len(plain.audio) and with_talk.phrase_end == plain.phrase_end
    assert not _same(with_talk.audio, plain.audio)


def test_training_puts_talk_under_the_share_of_its_clips_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    given = _backgrounds(monkeypatch)
    maker = ClipMaker(Recipe("hey computer", evaluation=False))
    plain = maker.positive(random.Random(2))
    assert given == [None]  # by default none
    maker = ClipMaker(Recipe("hey computer", evaluation=False, talk_share=0.25))
    assert _same(maker.positive(random.Random(2), talk=False).audio, plain.audio)
    given.clear()
    for seed in range(40):
        maker.positive(random.Random(seed))
        maker.negative(random.Random(seed), near=seed % 2 == 0, seconds=2.0)
    with_talk = [g is not None for g in given]
    assert len(given) == 80
    # both kinds: talk in the background must not itself tell the phrase apart
    assert 0.1 <= sum(with_talk[0::2]) / 40 <= 0.45
    assert 0.1 <= sum(with_talk[1::2]) / 40 <= 0.45


def test_talk_goes_the_level_asked_for_under_the_voice() -> None:
    from speaker.wake.training.voices import in_room

    t = np.arange(3 * RATE) / RATE
    voice = (3000 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    talk = np.random.default_rng(1).normal(0, 2000, len(t)).astype(np.float32)
    alone = in_room(voice, random.Random(5)).astype(np.float64)
    added = {
        db: in_room(voice, random.Random(5), background=talk, talk_below_db=db).astype(np.float64) - alone
        for db in (8.0, 20.0)
    }
    power = {db: float(np.mean(d**2)) for db, d in added.items()}
    assert power[20.0] > 0
    assert power[8.0] / power[20.0] == pytest.approx(10 ** (12 / 10), rel=0.05)  # 12 dB apart


def test_a_sweep_decides_as_the_detector_does() -> None:
    steps = np.array(
        [
            (1.0, 0.99, 0.1),  # the first network fires, the verifier does not agree
            (1.1, 0.99, 0.95),  # both: a detection
            (1.2, 0.99, 0.99),  # right after one: the detector has started over
            (1.3, 0.2, 0.99),
            (2.0, 0.95, 0.97),  # later: another
        ]
    )
    rest = sweep.SWEEP_REST_STEPS
    padded = np.concatenate([steps[:4], np.tile([(1.5, 0.0, 0.0)], (rest, 1)), steps[4:]])
    assert sweep.detections(padded, 0.9, 0.9) == [1.1, 2.0]
    assert sweep.detections(padded, 0.98, 0.9) == [1.1]
    assert sweep.detections(padded, 0.9, 0.05) == [1.0, 2.0]
    assert sweep.detections(padded, 0.9, 0.9, hits=2) == [1.1]  # two steps in a row above it
    assert sweep.detections(padded[:0], 0.9, 0.9) == []


def test_a_sweep_gives_at_each_pair_what_eval_gives() -> None:
    clips = evaluate.Clips(positives=4, ordinary_hours=0.0, near_hours=36 / 3600, talk_positives=3, workers=1)
    swept = sweep.sweep(bundled_model(), clips, thresholds=(0.3,), verify_thresholds=(0.3,))
    own = WakeModel.load(bundled_model())
    assert own.verifier is not None
    pairs = [(0.3, 0.3), (own.threshold, own.verifier.threshold)]
    assert set(swept.reports) == {(t, v) for t in (0.3, own.threshold) for v in (0.3, own.verifier.threshold)}
    seen = []
    for threshold, verify in pairs:
        run = evaluate.evaluate(
            bundled_model(), clips, threshold=threshold, verify_threshold=verify, phone_threshold=OFF
        )
        got = swept.reports[(threshold, verify)]
        figures = [
            (r.positives, r.missed, r.talk_positives, r.talk_missed, r.false["near"]) for r in (run, got)
        ]
        assert figures[0] == figures[1], (threshold, verify)
        assert got.hours["near"] == pytest.approx(run.hours["near"])
        seen.append(figures[0])
    assert seen[0] != seen[1]  # the two pairs differ in what they hear: the sweep is not one run copied
    lines = swept.lines()
    assert lines[1].split() == [
        "threshold",
        "verifier",
        "misses",
        "over",
        "talk",
        "ordinary/h",
        "near-miss/h",
    ]
    marked = [line for line in lines if line.startswith("*")]
    rows = lines[2 : 2 + len(swept.reports)]
    assert all(line.split()[-2] == "-" for line in rows)  # no ordinary talk made: no figure
    assert lines[-1].startswith("the two networks alone")  # the shipped model's phone check is not in it
    assert len(marked) == 1 and marked[0].split()[1:3] == [
        f"{own.threshold:.3f}",
        f"{own.verifier.threshold:.3f}",
    ]

"""The wake word's phone check: the shipped phone recognizer, the keyword score, the model's
settings for it, broken recognizer files, and training a recognizer end to end."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from speech import SpeechCache, add_noise

from speaker.cli import main
from speaker.errors import ModelError
from speaker.settings import load_settings
from speaker.wake.base import detect_all
from speaker.wake.classifier import OFF, RECORD, ClassifierWakeWord, bundled_model
from speaker.wake.ctc import align, path_scores
from speaker.wake.features import Embedder
from speaker.wake.model import WakeModel
from speaker.wake.phones import (
    MEL_AT,
    MEL_FRAMES,
    PhoneCheck,
    PhoneEnsemble,
    PhoneModel,
    bundled_phones,
    bundled_recognizers,
    espeak_many,
    espeak_phones,
    features,
    load_recognizers,
    parse_espeak,
    phone_check,
    pronunciations,
)
from speaker.wake.training.evaluate import fit_rival_offsets, stored_offsets

COMPUTER = ["h", "eI", "k", "@", "m", "p", "j", "u:", "t", "3"]


@pytest.fixture(scope="module")
def speech(speech_dir: Path) -> SpeechCache:
    return SpeechCache(speech_dir)


@pytest.fixture(scope="module")
def recognizer() -> PhoneModel:
    return PhoneModel.load(bundled_phones())


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_espeak_phone_names_are_read_without_stress_and_pause_marks() -> None:
    assert parse_espeak("h_'eI k_@_m_p_j_'u:_t#_3\n") == COMPUTER
    assert parse_espeak("D_@2 n_'u: k_@_m_p_j_'u:_t_s__:__: a_n_d") == [
        "D", "@", "n", "u:", "k", "@", "m", "p", "j", "u:", "t", "s", "a", "n", "d",
    ]  # fmt: skip
    assert parse_espeak("p_j_'u:_t_a#") == ["p", "j", "u:", "t", "a#"]  # a# is a vowel, not a variant
    assert espeak_phones("hey computer", "en-us") == COMPUTER
    said = pronunciations("hey computer")
    assert COMPUTER in said and ["h", "eI", "k", "@", "m", "p", "j", "u:", "t", "a#"] in said
    assert len(said) == len({tuple(p) for p in said})  # each once


def keyword_score(log_probs: np.ndarray, sequence: tuple[int, ...]) -> float:
    """The path figure of `align`: the best path with the sequence against the best of all."""
    return align(log_probs, sequence)[0]


def _frames(classes: list[int], size: int = 6, sure: float = 0.9) -> np.ndarray:
    """Log probabilities of a recognizer that hears `classes`, one per step, this surely."""
    probs = np.full((len(classes), size), (1 - sure) / (size - 1))
    probs[np.arange(len(classes)), classes] = sure
    return np.log(probs)


def test_the_keyword_score_is_zero_where_the_phones_are_said_and_falls_with_each_one_not_said() -> None:
    phrase = (1, 2, 3)
    assert keyword_score(_frames([0, 4, 1, 1, 0, 2, 3, 3, 0, 5]), phrase) == pytest.approx(0.0)
    assert keyword_score(_frames([1, 2, 3]), phrase) == pytest.approx(0.0)  # nothing around it
    one_off = keyword_score(_frames([0, 1, 2, 4, 0]), phrase)  # the last phone is another
    two_off = keyword_score(_frames([0, 1, 5, 4, 0]), phrase)
    assert two_off < one_off < -1.0
    assert keyword_score(_frames([0, 3, 2, 1, 0]), phrase) < one_off  # the phones, backwards
    assert keyword_score(_frames([0, 0]), phrase) < keyword_score(_frames([0, 1, 2, 0]), phrase)
    # a repeated phone needs a blank (or another phone) between its two sayings
    assert keyword_score(_frames([1, 1, 2]), (1, 1, 2)) < keyword_score(_frames([1, 0, 1, 2]), (1, 1, 2))
    assert keyword_score(_frames([]), phrase) == float("-inf")
    # each phone's margin over any other at its surest step: the phone said otherwise stands out
    _, margins = align(_frames([0, 1, 2, 4, 0]), phrase)
    assert margins[0] > 3 and margins[1] > 3 and margins[2] < -3
    _, margins = align(_frames([0, 1, 1, 0, 2, 2, 3, 0]), phrase)
    assert min(margins) > 3


def test_many_sequences_are_scored_at_once_as_align_scores_each() -> None:
    rng = np.random.default_rng(5)
    for steps in (1, 2, 7, 40):
        z = rng.normal(size=(steps, 9)) * 3
        log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        sequences = [tuple(int(c) for c in rng.integers(1, 9, size=n)) for n in (1, 2, 3, 5, 8, 12)]
        sequences += [(4, 4, 4), (2, 2)]
        together = path_scores(log_probs, sequences)
        one_by_one = [align(log_probs, seq)[0] for seq in sequences]
        for got, want in zip(together, one_by_one, strict=True):
            assert got == pytest.approx(want, abs=1e-6) if want > -1e20 else got == float("-inf")
    assert path_scores(_frames([0, 1, 0]), [(1,), ()]).tolist() == [pytest.approx(0.0), float("-inf")]
    assert path_scores(_frames([]), [(1,)]).tolist() == [float("-inf")]


def test_the_phrase_is_weighed_against_its_rivals(recognizer: PhoneModel) -> None:
    frames = _frames([0, 1, 2, 4, 0])  # says 1 2 4
    check = PhoneCheck(recognizer, sequences=[(1, 2, 3)], threshold=-1.0, rivals=[(1, 2, 4), (5, 5)])
    assert check.rival_score(frames) < -3  # a rival says it better
    assert check.best_rival == [recognizer.inventory[c - 1] for c in (1, 2, 4)]
    assert PhoneCheck(recognizer, [(1, 2, 4)], -1.0, rivals=[(1, 2, 3)]).rival_score(frames) > 3
    assert espeak_many(["hey computer", "hey, can pewter", "hey computes"]) == [
        COMPUTER,
        ["h", "eI", "k", "a", "n", "p", "j", "u:", "t", "3"],
        COMPUTER[:-1] + ["s"],
    ]


def test_each_rival_may_be_held_to_a_threshold_of_its_own(recognizer: PhoneModel) -> None:
    frames = _frames([0, 1, 2, 3, 0])  # says the phrase, 1 2 3
    near, far = (1, 2), (1, 2, 4)  # the phrase cut short fits as well; one phone swapped does not
    plain = PhoneCheck(recognizer, [(1, 2, 3)], -10.0, rivals=[near, far])
    assert plain.rival_score(frames) == pytest.approx(0.0, abs=1e-6)  # "near" ties
    margins = plain.last_margins
    assert margins is not None and margins[0] == pytest.approx(0.0, abs=1e-6) and margins[1] > 3
    # "far" held 15 above the threshold: the phrase must beat it by 5, and does not here (~3.8)
    held = PhoneCheck(recognizer, [(1, 2, 3)], -10.0, rivals=[near, far], rival_offsets=[0.0, 15.0])
    score = held.rival_score(frames)
    assert score == pytest.approx(margins[1] - 15.0, abs=1e-6) and score < held.threshold
    assert held.best_rival == [recognizer.inventory[c - 1] for c in far]
    # fitted on caught phrases: each rival's lowest margin, kept between threshold and ceiling
    caught = np.array([[-2.0, 30.0, -14.0], [-6.0, 9.0, 1.0], [0.0, float("-inf"), 0.0]])
    assert fit_rival_offsets(caught, -10.0, -3.0).tolist() == [4.0, 7.0, 0.0]
    # each rival with a ceiling of its own
    assert fit_rival_offsets(caught, -10.0, np.array([-3.0, 20.0, -3.0])).tolist() == [4.0, 19.0, 0.0]
    with pytest.raises(ValueError, match="below the threshold"):
        fit_rival_offsets(caught, -10.0, np.array([-3.0, -12.0, -3.0]))
    with pytest.raises(ValueError, match="below the threshold"):
        fit_rival_offsets(caught, -10.0, -11.0)
    with pytest.raises(ValueError, match="no caught phrase"):
        fit_rival_offsets(caught[2:], -10.0, -3.0)
    # a model's settings: a rival twice, or the same as the phrase to the recognizer, counts once
    names = [recognizer.inventory[c - 1] for c in (1, 2, 3, 4)]
    settings = {
        "pronunciations": [names[:3]],
        "threshold": -8.0,
        "before_s": 2.3,
        "after_s": 0.7,
        "rivals": [names[:2], [*names[:2], names[3]], names[:2], names[:3] + ["not-a-phone"]],
        "rival_offsets": [1.0, 5.0, 2.0, 9.0],
    }
    check = phone_check(recognizer, settings)
    assert check.rivals == [(1, 2), (1, 2, 4)] and check.rival_offsets == [2.0, 5.0]
    assert phone_check(recognizer, settings, threshold=-3.0).threshold == -3.0
    assert stored_offsets(check, settings, np.array([0.5, 6.0])) == [0.5, 6.0, 0.5, 0.0]
    del settings["rival_offsets"]
    assert phone_check(recognizer, settings).rival_offsets == []


def test_the_recognizer_hears_each_embedding_with_the_mel_frames_at_its_middle(embedder: Embedder) -> None:
    mel = np.random.default_rng(3).normal(size=(76 + 4 * 9, 32)).astype(np.float32)
    steps = features(embedder, mel, 4)
    assert steps.shape == (10, 96 + 4 * 32)
    assert np.allclose(steps[:, :96], embedder.embed_windows(mel, 0, 10, hop=4))
    assert np.array_equal(steps[2, 96:], mel[8 + MEL_AT : 8 + MEL_AT + 4].reshape(-1))
    assert np.array_equal(steps[9, 96 + 32 : 96 + 64], mel[36 + MEL_AT + 1])
    assert features(embedder, mel, 0).shape == (10, 96)
    assert features(embedder, mel[:75], 4).shape == (0, 224)  # too short for one embedding


@pytest.fixture(scope="module")
def check() -> PhoneCheck:
    detector = ClassifierWakeWord(bundled_model(), phrase="hey computer")
    detector.load()
    assert detector.phone_check is not None
    return detector.phone_check


def test_the_shipped_check_holds_each_rival_to_a_threshold_of_its_own(check: PhoneCheck) -> None:
    # fitted on the phrases caught in the clips of seeds 7-10 (scripts/train_wake_model.sh)
    assert check.threshold == -10.0 and len(check.rival_offsets) == len(check.rivals)
    assert min(check.rival_offsets) == 0.0 and max(check.rival_offsets) == 10.0
    held = dict(zip(check.rivals, check.rival_offsets, strict=True))
    # the phrase's later words after a determiner: none may explain the audio better (-10 + 10)
    assert held[check.model.ids(["I", "z", *COMPUTER[2:]])] == 10.0
    # rivals the phrase itself comes near (a short "hey", a weak last syllable) are held the
    # least; a word swapped for one the phrase never sounds like, the most
    assert held[check.model.ids(["h", "i:", *COMPUTER[2:-1]])] == 0.0
    assert held[check.model.ids(COMPUTER[:-1])] < 1.0
    assert held[check.model.ids(["h", "eI", "k", "a", "n", "p", "j", "u:", "t", "3"])] == 5.0


@pytest.mark.slow
def test_the_shipped_recognizer_hears_the_phrase_and_not_its_sound_alikes(
    speech: SpeechCache, check: PhoneCheck, embedder: Embedder
) -> None:
    def heard(text: str, voice: str) -> float:
        chunk = (
            speech.espeak(text, voice=voice, lead=0.5, trail=0.5) if voice else speech.piper(text, lead=0.5)
        )
        audio = add_noise(chunk, snr_db=25, seed=1).array()[:, 0].astype(np.float32)
        return check.score(embedder, embedder.mel(audio))

    for voice in ("", "en-us+m3", "en-gb-x-gbclan+f4"):  # the piper voice; espeak-ng, trained; held out
        assert heard("Hey computer, what time is it?", voice) >= check.threshold, voice
        assert heard("The new commuter train is late", voice) < check.threshold, voice
    # a sound-alike one phone away, in a voice in which the two networks take it for the phrase
    assert heard("hey computes and then nothing", "en-gb-x-rp+m2") < check.threshold
    mel = embedder.mel(speech.piper("Hey computer.", lead=0.3).array()[:, 0].astype(np.float32))
    decoded = check.model.decode(check.features(embedder, mel))
    assert "".join(decoded).startswith("heIk@mpju:t"), decoded


@pytest.mark.slow
def test_the_phone_check_turns_a_sound_alike_down_that_the_networks_take(
    speech: SpeechCache, tmp_path: Path, capsys
) -> None:
    said = speech.espeak("He computed the total twice.", voice="en-gb-x-rp+m2", lead=1.0, trail=0.5)
    recorded = ClassifierWakeWord(bundled_model(), phrase="hey computer", phone_threshold=RECORD)
    recorded.load()
    hits = detect_all(recorded, said)  # every hit of the networks, let through with its phone score
    assert hits and all(h.phone_score is not None for h in hits)
    checked = ClassifierWakeWord(bundled_model(), phrase="hey computer")
    checked.load()
    assert checked.phone_check is not None
    assert all(h.phone_score < checked.phone_check.threshold for h in hits)
    assert detect_all(checked, said) == [] and checked.phone_rejects >= 1
    when, score, why = checked.turned_down[-1]  # and it says which rival fit better
    assert score < checked.phone_check.threshold and why.startswith("too near a rival: "), why
    assert "k @ m p j u: t" in why
    assert why.removeprefix("too near a rival: ").split() not in pronunciations("hey computer")
    unchecked = ClassifierWakeWord(bundled_model(), phrase="hey computer", phone_threshold=OFF)
    unchecked.load()
    assert unchecked.phone_check is None and len(detect_all(unchecked, said)) == len(hits)
    from speaker.audio.wavfile import write_wav

    write_wav(tmp_path / "said.wav", said)  # `speaker wake test` shows the hits it turned down
    assert main(["wake", "test", str(tmp_path / "said.wav")]) == 1
    printed = capsys.readouterr().out
    assert "0 detection(s)" in printed and "turned down by the phone check" in printed
    assert f"phone check {score:.2f}  ({why})" in printed


@pytest.mark.slow
def test_a_phrase_at_the_very_end_of_a_recording_is_still_checked_and_heard(speech: SpeechCache) -> None:
    detector = ClassifierWakeWord(bundled_model(), phrase="hey computer")
    detector.load()
    said = add_noise(speech.piper("Hey computer.", lead=1.5, trail=0.0), snr_db=25, seed=4)
    found = detect_all(detector, said)  # the check needs 0.7 s after the hit: quiet is added
    assert len(found) == 1 and found[0].phone_score is not None
    assert found[0].end <= said.duration + 0.1


def test_the_phone_check_is_set_kept_and_removed_in_the_model_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "checked.npz"
    assert (
        main(
            ["wake", "phones", str(bundled_model()), "--threshold", "-5", "--after", "0.6", "--out", str(out)]
        )
        == 0
    )
    assert "-5" in capsys.readouterr().out
    model = WakeModel.load(out)
    assert model.phones is not None
    assert model.phones["threshold"] == -5.0 and model.phones["after_s"] == 0.6
    assert COMPUTER in model.phones["pronunciations"]
    rivals = model.phones["rivals"]  # the phrase with a word swapped, never the phrase itself
    assert COMPUTER[:-1] + ["s"] in rivals and ["h", "i:", *COMPUTER[2:-1], "I", "d"] in rivals
    assert not any(r in model.phones["pronunciations"] for r in rivals)
    detector = ClassifierWakeWord(out)
    detector.load()
    assert detector.phone_check is not None and len(detector.phone_check.rivals) > 100
    assert main(["wake", "phones", str(out), "--no-rivals"]) == 0
    assert "weakest phone" in capsys.readouterr().out
    plain = WakeModel.load(out).phones
    assert plain is not None and "rivals" not in plain and plain["threshold"] == -5.0
    assert main(["wake", "phones", str(out), "--remove"]) == 0
    assert WakeModel.load(out).phones is None
    assert ClassifierWakeWord(out).phone_check is None
    with pytest.raises(SystemExit):
        main(["wake", "phones", str(out), "--threshold", "80"])  # out of range
    assert "from -100 to 50" in capsys.readouterr().err


@pytest.mark.slow
def test_the_rivals_thresholds_are_fitted_on_caught_phrases_and_kept(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fitted.npz"
    fit = ["--fit-seeds", "7", "--fit-positives", "3", "--workers", "1", "--out", str(out)]
    args = ["wake", "phones", str(bundled_model()), "--threshold", "-10", "--rival-ceiling", "-5"]
    assert main(args + fit) == 0
    printed = capsys.readouterr().out
    assert re.search(r"from \d+ hits on 3 phrases \(seeds 7\): \d+ of \d+ at their ceiling \(-5\)", printed)
    phones = WakeModel.load(out).phones
    assert phones is not None and phones["threshold"] == -10.0
    offsets = phones["rival_offsets"]
    assert len(offsets) == len(phones["rivals"]) and min(offsets) >= 0.0 and max(offsets) == 5.0
    detector = ClassifierWakeWord(out)
    detector.load()
    assert detector.phone_check is not None and max(detector.phone_check.rival_offsets) == 5.0
    # held to the lowest margins of the phrases it caught, it still catches those phrases
    from speaker.wake.training import evaluate

    clips = evaluate.Clips(positives=3, ordinary_hours=0.0, near_hours=0.0, seed=7, workers=1)
    fitted, plain = evaluate.evaluate(out, clips), evaluate.evaluate(out, clips, phone_threshold=-10.0)
    assert fitted.missed == plain.missed < 3
    # another threshold moves every rival's with it; other rivals drop their own thresholds
    assert main(["wake", "phones", str(out), "--threshold", "-9"]) == 0
    assert WakeModel.load(out).phones["rival_offsets"] == offsets
    assert main(["wake", "phones", str(out), "--no-rivals"]) == 0
    assert "rival_offsets" not in WakeModel.load(out).phones
    for wrong, message in (
        (["--rival-ceiling", "-5", "--no-rivals"], "needs rivals"),
        (["--threshold", "-4", "--rival-ceiling", "-5"], "below the threshold"),
    ):
        assert main(["wake", "phones", str(out), *wrong, "--fit-positives", "1"]) == 2
        assert message in capsys.readouterr().err
    assert WakeModel.load(out).phones["threshold"] == -9.0  # and the file is left as it was
    # a model whose offsets do not fit its rivals is damaged, and says so
    model = WakeModel.load(bundled_model())
    model.phones["rival_offsets"] = [1.0]
    model.save(tmp_path / "broken.npz")
    with pytest.raises(ModelError, match="rival offsets"):
        WakeModel.load(tmp_path / "broken.npz")


def test_the_config_sets_or_turns_off_the_phone_check(tmp_path: Path) -> None:
    from speaker.engines import build_engine
    from speaker.models import ModelStore

    for value, expected in (("-3", -3.0), ("off", None)):
        config = tmp_path / f"speaker_{value}.yaml"
        config.write_text(
            f"wake:\n  phone_threshold: {value!r}\n"
            if value == "off"
            else f"wake:\n  phone_threshold: {value}\n"
        )
        settings = load_settings(config)
        detector = build_engine(settings, ModelStore.from_settings(settings), "wake")
        detector.load()
        got = detector.phone_check.threshold if detector.phone_check else None
        assert got == expected
    bad = tmp_path / "bad.yaml"
    bad.write_text("wake:\n  phone_threshold: 75\n")
    with pytest.raises(Exception, match="phone_threshold"):
        load_settings(bad)


def test_the_check_averages_three_recognizers_trained_on_other_speech(
    tmp_path: Path, recognizer: PhoneModel, check: PhoneCheck
) -> None:
    assert isinstance(check.model, PhoneEnsemble) and len(check.model.members) == 3
    first, *others = check.model.members
    steps = np.random.default_rng(2).normal(size=(20, first.width)).astype(np.float32)
    expected = first.log_probs(steps)
    for other in others:
        columns = [0] + [other.inventory.index(p) + 1 for p in first.inventory]
        mapped = other.log_probs(steps)[:, columns]
        expected = expected + mapped - np.log(np.exp(mapped).sum(axis=1, keepdims=True))  # the first's phones
    expected /= 3
    assert np.allclose(check.model.log_probs(steps), expected, atol=1e-5)
    assert check.model.ids(COMPUTER) == first.ids(COMPUTER)
    # the same recognizer twice is that recognizer
    twice = PhoneEnsemble([recognizer, recognizer])
    assert np.allclose(twice.log_probs(steps), recognizer.log_probs(steps), atol=1e-5)
    with pytest.raises(ModelError, match="different features"):
        PhoneEnsemble([recognizer, dataclasses.replace(recognizer, mel_frames=0)])
    with pytest.raises(ModelError, match="nowhere.npz.*does not exist"):
        load_recognizers((str(bundled_recognizers()[0]), str(tmp_path / "nowhere.npz")))


def test_a_missing_or_damaged_phone_recognizer_is_a_clear_error(
    tmp_path: Path, recognizer: PhoneModel
) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        PhoneModel.load(tmp_path / "nowhere.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"\x00 not a recognizer" * 40)
    with pytest.raises(ModelError, match="garbage.npz.*damaged"):
        PhoneModel.load(garbage)
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(ModelError, match="damaged"):
        PhoneModel.load(tmp_path / "empty.npz")
    listed = tmp_path / "listed.npz"  # a header that is JSON, but not an object
    np.savez(listed, header=np.frombuffer(b"[1, 2]", dtype=np.uint8))
    with pytest.raises(ModelError, match="listed.npz.*damaged"):
        PhoneModel.load(listed)
    short = tmp_path / "short.npz"
    dataclasses.replace(recognizer, inventory=recognizer.inventory[:-1]).save(short)
    with pytest.raises(ModelError, match="phone list"):
        PhoneModel.load(short)
    nan = tmp_path / "nan.npz"
    w, b = recognizer.layers[0]
    dataclasses.replace(recognizer, layers=[(w * np.nan, b), *recognizer.layers[1:]]).save(nan)
    with pytest.raises(ModelError, match="not finite"):
        PhoneModel.load(nan)


@pytest.mark.slow
def test_training_a_phone_recognizer_runs_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("jax", reason="training the recognizer needs the phones extra")
    out = tmp_path / "tiny.npz"
    # in its own process: jax must not be loaded in this one, which forks for other tests
    command = [sys.executable, "-m", "speaker.wake.training.phones", "--out", str(out), "--utterances", "12"]
    command += ["--seed", "3", "4"]  # the speech of two seeds, learned together
    command += ["--epochs", "2", "--hidden", "16", "--min-count", "2", "--workers", "1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "epoch 2/2" in result.stdout and f"wrote {out}" in result.stdout
    learn, check = re.search(r"(\d+) utterances to learn, (\d+) to check", result.stdout).groups()
    assert int(learn) + int(check) > 12  # more than one seed's
    model = PhoneModel.load(out)
    assert "k" in model.inventory and len(model.layers) == 4
    assert model.mel_frames == MEL_FRAMES and model.width == 96 + 32 * MEL_FRAMES
    steps = np.random.default_rng(0).normal(size=(30, model.width)).astype(np.float32)
    log_probs = model.log_probs(steps)
    assert log_probs.shape == (30, len(model.inventory) + 1)
    assert np.allclose(np.exp(log_probs).sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_a_phone_sweep_gives_each_threshold_from_one_run() -> None:
    from speaker.wake.training import evaluate

    clips = evaluate.Clips(positives=3, ordinary_hours=0.0, near_hours=48 / 3600, workers=1)
    own = WakeModel.load(bundled_model()).phones["threshold"]
    reports = evaluate.evaluate_phones(bundled_model(), clips, (-100.0, own, 50.0))
    lenient, strict = reports[-100.0], reports[50.0]
    assert lenient.positives == strict.positives == 3
    assert strict.missed == 3 and strict.false["near"] == 0  # no phone is heard that surely
    assert lenient.missed <= reports[own].missed <= strict.missed
    # the most lenient threshold lets every hit through, as a live run at it does
    live = evaluate.evaluate(bundled_model(), clips, phone_threshold=-100.0)
    assert (live.missed, live.false["near"]) == (lenient.missed, lenient.false["near"])
    lines = evaluate.PhoneSweep(reports, WakeModel.load(bundled_model()).phones).lines()
    assert lines[1].split()[:3] == ["phone", "check", "misses"]
    assert [line for line in lines if line.startswith("*")][0].split()[:2] == ["*", f"{own:.2f}"]

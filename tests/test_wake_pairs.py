"""Pair networks: the phrase told from one call that keeps being taken for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from speech import espeak_wav, piper_wav

from speaker.audio.chunk import AudioChunk
from speaker.cli import main
from speaker.errors import ModelError
from speaker.wake.base import detect_all
from speaker.wake.classifier import RECORD, ClassifierWakeWord, bundled_model
from speaker.wake.features import EMBEDDING_DIM, RATE, Embedder
from speaker.wake.model import WakeModel
from speaker.wake.pairs import PAIR_ROWS, PAIR_THRESHOLD, pair_input, taken_for
from speaker.wake.phones import PhoneCheck, load_bundled_recognizers, phone_check, pronunciations
from speaker.wake.training.dataset import ClipMaker, Recipe
from speaker.wake.training.evaluate import evaluation_recipe


def _pair(call: str, weight: float, threshold: float = PAIR_THRESHOLD, bias: float = 0.0) -> WakeModel:
    """A pair network whose score is sigmoid(weight * the first value of the newest embedding + bias)."""
    width = PAIR_ROWS * EMBEDDING_DIM
    weights = np.zeros((width, 1), np.float32)
    weights[width - EMBEDDING_DIM, 0] = weight
    return WakeModel(
        call,
        PAIR_ROWS,
        [(weights, np.full(1, bias, np.float32))],
        np.zeros(width, np.float32),
        np.ones(width, np.float32),
        threshold=threshold,
    )


@pytest.fixture(scope="module")
def check() -> PhoneCheck:
    """The shipped model's phone check."""
    settings = WakeModel.load(bundled_model()).phones
    assert settings is not None
    return phone_check(load_bundled_recognizers(), settings)


def test_a_pair_network_turns_down_only_what_it_is_sure_is_its_call(check: PhoneCheck) -> None:
    # what the phone check computed: embeddings with 4 mel frames beside each (the pair hears the embeddings)
    heard = np.zeros((57, EMBEDDING_DIM + 128), np.float32)
    heard[-1, 0] = 1.0
    heard[-1, EMBEDDING_DIM:] = 50.0  # mel frames: not its input
    x = pair_input(heard, PAIR_ROWS)
    assert x is not None and x.shape == (1, PAIR_ROWS * EMBEDDING_DIM) and x[0, -EMBEDDING_DIM] == 1.0
    assert x.max() == 1.0
    phrase_like, call_like = _pair("hey can pewter", 5.0), _pair("hey computes", -5.0)
    check.last_features = heard
    assert taken_for([phrase_like], check) is None  # sigmoid(5): the phrase
    taken = taken_for([phrase_like, call_like], check)  # sigmoid(-5) < 0.1: the call
    assert taken is not None and taken[0] is call_like and taken[1] == pytest.approx(1 / (1 + np.exp(5.0)))
    assert taken_for([_pair("hey computes", -5.0, threshold=0.001)], check) is None  # not that sure
    assert pair_input(heard[:10], PAIR_ROWS) is None
    check.last_features = heard[:10]
    assert taken_for([call_like], check) is None
    check.last_features = None
    assert taken_for([call_like], check) is None  # nothing heard yet


@pytest.mark.slow
def test_a_pair_network_that_decides_with_the_phone_check_turns_down_what_both_hear_as_its_call(
    check: PhoneCheck, speech_dir: Path
) -> None:
    sure = _pair("hey computes", 0.0, bias=-10.0)  # takes anything for the call
    agreeing = _pair("hey computes", 0.0, bias=-10.0)
    agreeing.call_phones, agreeing.phone_margin = pronunciations("hey computes"), 0.0
    embedder = Embedder()
    for voice in ("", "en-us-nyc+m7"):  # piper; an espeak-ng voice held out of training
        said = (("Hey computes and then nothing.", True), ("Hey computer, what time is it?", False))
        for text, call in said:
            name = speech_dir / f"agree_{voice or 'piper'}_{call}.wav"
            wav = espeak_wav(text, name, voice, 0.5, 0.5) if voice else piper_wav(text, name, 0.5, 0.5)
            check.score(embedder, embedder.mel(wav.array()[:, 0].astype(np.float32)))
            lead = check.lead_over(agreeing.call_phones)
            assert lead is not None and (lead < 0) == call, (voice, text, lead)
            assert taken_for([sure], check) is not None  # the network alone would turn the phrase down
            assert (taken_for([agreeing], check) is not None) == call, (voice, text)
    assert check.lead_over([["no-such-phone"]]) is None


def _error(path: Path) -> str:
    with pytest.raises(ModelError) as caught:
        WakeModel.load(path)
    return caught.value.message


def test_pair_networks_are_stored_checked_and_go_with_the_phone_check(tmp_path: Path, capsys) -> None:
    model = WakeModel.load(bundled_model())
    model.pairs = [_pair("hey computes", -5.0), _pair("hey can pewter", 5.0, threshold=0.2)]
    computes = [["h", "eI", "k", "@", "m", "p", "j", "u:", "t", "s"]]
    model.pairs[0].call_phones, model.pairs[0].phone_margin = computes, 0.5
    path = model.save(tmp_path / "paired.npz")
    loaded = WakeModel.load(path)
    assert [(p.phrase, p.threshold, p.windows, p.phone_margin) for p in loaded.pairs] == [
        ("hey computes", PAIR_THRESHOLD, PAIR_ROWS, 0.5),
        ("hey can pewter", 0.2, PAIR_ROWS, None),
    ]
    assert loaded.pairs[0].call_phones == model.pairs[0].call_phones and loaded.pairs[1].call_phones == []
    assert np.array_equal(loaded.pairs[0].layers[0][0], model.pairs[0].layers[0][0])
    model.pairs[0].call_phones = []  # a margin with nothing to weigh the phrase against
    model.save(tmp_path / "no_call.npz")
    assert "phone margin of the pair network for 'hey computes'" in _error(tmp_path / "no_call.npz")
    model.pairs[0].call_phones = loaded.pairs[0].call_phones

    weights, bias = model.pairs[1].layers[0]
    model.pairs[1].layers[0] = (weights[:50], bias)  # no longer fits its input
    model.save(tmp_path / "damaged.npz")
    message = _error(tmp_path / "damaged.npz")
    assert "damaged (its pair network for 'hey can pewter')" in message and "speaker wake train" in message
    model.pairs[1].layers[0] = (weights, bias)
    model.phones = None
    model.save(tmp_path / "unheard.npz")
    assert "no phone check" in _error(tmp_path / "unheard.npz")

    # listening longer past a hit than they learned to: they stay, with a word to train them again
    assert main(["wake", "phones", str(path), "--after", "0.6"]) == 0
    assert "learned to hear 0.7 s past a hit: train them again" in capsys.readouterr().out
    assert len(WakeModel.load(path).pairs) == 2
    # taking the phone check out takes the pair networks with it, and says so
    assert main(["wake", "phones", str(path), "--remove"]) == 0
    assert "'hey computes', 'hey can pewter'" in capsys.readouterr().out
    assert WakeModel.load(path).pairs == [] and WakeModel.load(path).phones is None
    assert main(["wake", "pair", str(path), "hey can pewter"]) == 2  # nothing to hear them with
    assert "no phone check" in capsys.readouterr().err


@pytest.mark.slow
def test_a_pair_network_is_trained_replaced_and_removed(tmp_path: Path, capsys) -> None:
    path = tmp_path / "model.npz"
    shutil.copy(bundled_model(), path)
    shipped = [p.phrase for p in WakeModel.load(path).pairs]
    assert main(["wake", "pair", str(path), "hey, commuter", "--clips", "6", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "pair network for 'hey, commuter'" in printed and "of the calls" in printed
    model = WakeModel.load(path)
    assert [p.phrase for p in model.pairs] == [*shipped, "hey, commuter"]
    trained = model.pairs[-1]
    assert trained.windows == PAIR_ROWS and trained.threshold == PAIR_THRESHOLD
    assert trained.phone_margin is None and trained.call_phones == []
    # the same call again (spelled another way) replaces it; its threshold may be set, and it
    # may decide with the phone check
    command = ["Hey commuter", "--clips", "6", "--threshold", "0.3", "--phone-margin", "0.5"]
    assert main(["wake", "pair", str(path), *command]) == 0
    printed = capsys.readouterr().out
    assert "replaces the pair network" in printed and "phone check, too, hears 'Hey commuter'" in printed
    model = WakeModel.load(path)
    assert [p.phrase for p in model.pairs] == [*shipped, "Hey commuter"] and model.pairs[-1].threshold == 0.3
    assert model.pairs[-1].phone_margin == 0.5
    assert model.pairs[-1].call_phones == pronunciations("Hey commuter")
    assert main(["wake", "pair", str(path), "hey commuter", "--remove"]) == 0
    assert [p.phrase for p in WakeModel.load(path).pairs] == shipped
    assert main(["wake", "pair", str(path), "hey commuter", "--remove"]) == 2
    assert "no pair network for 'hey commuter'" in capsys.readouterr().err
    assert main(["wake", "pair", str(path), "Hey, computer!"]) == 2  # its own phrase
    assert "the model's own phrase" in capsys.readouterr().err
    assert main(["wake", "pair", str(path), "hey commuter", "--clips", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err
    assert main(["wake", "pair", str(path), "hey commuter", "--phone-margin", "nan"]) == 2
    assert "--phone-margin must be a number" in capsys.readouterr().err


def _with_and_without(tmp_path: Path, call: str) -> tuple[ClassifierWakeWord, ClassifierWakeWord]:
    """The shipped detector, and one made from the shipped model without its pair network for `call`."""
    shipped = WakeModel.load(bundled_model())
    assert call in [pair.phrase for pair in shipped.pairs]
    shipped.pairs = [pair for pair in shipped.pairs if pair.phrase != call]
    without = ClassifierWakeWord(shipped.save(tmp_path / "without.npz"), phrase="hey computer")
    detector = ClassifierWakeWord(bundled_model(), phrase="hey computer")
    without.load()
    detector.load()
    return detector, without


@pytest.mark.slow
def test_the_shipped_pair_network_turns_down_a_fast_can_pewter_the_phone_check_lets_through(
    tmp_path: Path, speech_dir: Path
) -> None:
    detector, without = _with_and_without(tmp_path, "hey can pewter")
    # a fast US voice says "can pewter" so that the recognizers hear "compewter": the phrase itself
    said = [
        espeak_wav("Hey, can pewter tarnish.", speech_dir / f"pewter{speed}.wav", "en-us+klatt3", speed=speed)
        for speed in (180, 205)
    ]
    assert sum(len(detect_all(without, clip)) for clip in said) >= 1
    assert all(detect_all(detector, clip) == [] for clip in said)
    assert any("taken for 'hey can pewter' by its pair network" in why for _, _, why in detector.turned_down)
    # a phone sweep lets every hit through with its score: one a pair network took fails at any
    recorded = ClassifierWakeWord(bundled_model(), phrase="hey computer", phone_threshold=RECORD)
    recorded.load()
    scores = [hit.phone_score for clip in said for hit in detect_all(recorded, clip)]
    assert scores and float("-inf") in scores
    # while the phrase, said in one breath with the request, is still heard
    heard = piper_wav(
        "Hey computer, turn on the kitchen light.", speech_dir / "flowing.wav", lead=1.5, trail=1.0
    )
    assert len(detect_all(detector, heard)) == 1


@pytest.mark.slow
def test_the_shipped_hey_computes_pair_network_turns_down_what_the_phone_check_also_hears_as_it(
    tmp_path: Path,
) -> None:
    detector, without = _with_and_without(tmp_path, "hey computes")
    assert next(p for p in detector.model.pairs if p.phrase == "hey computes").phone_margin == 0.0
    # "hey computes and then nothing" in rooms, by voices held out of training (the four such
    # clips of `speaker wake eval --seed 10` and `--seed 101` that woke the model without it)
    maker = ClipMaker(evaluation_recipe("hey computer"))
    clips = [maker.make(("near", seed)) for seed in (10800302, 101800367, 101800892, 101801069)]
    assert all("hey computes and then nothing" in [said for *_, said in clip.said] for clip in clips)
    heard = [AudioChunk.from_array(clip.audio, RATE) for clip in clips]
    assert sum(len(detect_all(without, chunk)) for chunk in heard) >= 3
    assert all(detect_all(detector, chunk) == [] for chunk in heard)
    assert any(
        "taken for 'hey computes' by its pair network" in why and why.endswith("and the phone check")
        for _, _, why in detector.turned_down
    )


def test_call_clips_say_the_call_in_the_phrase_s_place_and_leave_the_training_clips_as_they_were() -> None:
    plain = ClipMaker(Recipe("hey computer", evaluation=False))
    paired = ClipMaker(Recipe("hey computer", evaluation=False, call="hey can pewter"))
    for seed in (3, 4):  # the phrase's clips are the same whether or not a call is asked for
        assert np.array_equal(plain.make(("positive", seed)).audio, paired.make(("positive", seed)).audio)
    call = paired.make(("call", 3))
    assert call.kind == "call" and call.phrase_end is not None
    assert 2.0 < call.phrase_end < len(call.audio) / 16000 - 0.6
    assert not np.array_equal(call.audio, paired.make(("positive", 3)).audio)
    # flow_share: the phrase said in one breath with the request, which makes other clips
    flowing = ClipMaker(Recipe("hey computer", evaluation=False, flow_share=1.0)).make(("positive", 3))
    alone = plain.make(("positive", 3))
    assert flowing.phrase_end is not None and 2.0 < flowing.phrase_end < len(flowing.audio) / 16000 - 0.6
    assert not np.array_equal(flowing.audio[: len(alone.audio)], alone.audio[: len(flowing.audio)])

"""Pair networks: the phrase told from one call that keeps being taken for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from speech import espeak_wav, piper_wav

from speaker.cli import main
from speaker.errors import ModelError
from speaker.wake.base import detect_all
from speaker.wake.classifier import RECORD, ClassifierWakeWord, bundled_model
from speaker.wake.features import EMBEDDING_DIM
from speaker.wake.model import WakeModel
from speaker.wake.pairs import PAIR_ROWS, PAIR_THRESHOLD, pair_input, taken_for
from speaker.wake.training.dataset import ClipMaker, Recipe


def _pair(call: str, weight: float, threshold: float = PAIR_THRESHOLD) -> WakeModel:
    """A pair network whose score is sigmoid(weight * the first value of the newest embedding)."""
    width = PAIR_ROWS * EMBEDDING_DIM
    weights = np.zeros((width, 1), np.float32)
    weights[width - EMBEDDING_DIM, 0] = weight
    return WakeModel(
        call,
        PAIR_ROWS,
        [(weights, np.zeros(1, np.float32))],
        np.zeros(width, np.float32),
        np.ones(width, np.float32),
        threshold=threshold,
    )


def test_a_pair_network_turns_down_only_what_it_is_sure_is_its_call() -> None:
    # what the phone check computed: embeddings with 4 mel frames beside each (the pair hears the embeddings)
    heard = np.zeros((57, EMBEDDING_DIM + 128), np.float32)
    heard[-1, 0] = 1.0
    heard[-1, EMBEDDING_DIM:] = 50.0  # mel frames: not its input
    x = pair_input(heard, PAIR_ROWS)
    assert x is not None and x.shape == (1, PAIR_ROWS * EMBEDDING_DIM) and x[0, -EMBEDDING_DIM] == 1.0
    assert x.max() == 1.0
    phrase_like, call_like = _pair("hey can pewter", 5.0), _pair("hey computes", -5.0)
    assert taken_for([phrase_like], heard) is None  # sigmoid(5): the phrase
    taken = taken_for([phrase_like, call_like], heard)  # sigmoid(-5) < 0.1: the call
    assert taken is not None and taken[0] is call_like and taken[1] == pytest.approx(1 / (1 + np.exp(5.0)))
    assert taken_for([_pair("hey computes", -5.0, threshold=0.001)], heard) is None  # not that sure
    assert pair_input(heard[:10], PAIR_ROWS) is None and taken_for([call_like], heard[:10]) is None


def _error(path: Path) -> str:
    with pytest.raises(ModelError) as caught:
        WakeModel.load(path)
    return caught.value.message


def test_pair_networks_are_stored_checked_and_go_with_the_phone_check(tmp_path: Path, capsys) -> None:
    model = WakeModel.load(bundled_model())
    model.pairs = [_pair("hey computes", -5.0), _pair("hey can pewter", 5.0, threshold=0.2)]
    path = model.save(tmp_path / "paired.npz")
    loaded = WakeModel.load(path)
    assert [(p.phrase, p.threshold, p.windows) for p in loaded.pairs] == [
        ("hey computes", PAIR_THRESHOLD, PAIR_ROWS),
        ("hey can pewter", 0.2, PAIR_ROWS),
    ]
    assert np.array_equal(loaded.pairs[0].layers[0][0], model.pairs[0].layers[0][0])

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
    # the same call again (spelled another way) replaces it; its threshold may be set
    assert main(["wake", "pair", str(path), "Hey commuter", "--clips", "6", "--threshold", "0.3"]) == 0
    assert "replaces the pair network" in capsys.readouterr().out
    model = WakeModel.load(path)
    assert [p.phrase for p in model.pairs] == [*shipped, "Hey commuter"] and model.pairs[-1].threshold == 0.3
    assert main(["wake", "pair", str(path), "hey commuter", "--remove"]) == 0
    assert [p.phrase for p in WakeModel.load(path).pairs] == shipped
    assert main(["wake", "pair", str(path), "hey commuter", "--remove"]) == 2
    assert "no pair network for 'hey commuter'" in capsys.readouterr().err
    assert main(["wake", "pair", str(path), "Hey, computer!"]) == 2  # its own phrase
    assert "the model's own phrase" in capsys.readouterr().err
    assert main(["wake", "pair", str(path), "hey commuter", "--clips", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err


@pytest.mark.slow
def test_the_shipped_pair_network_turns_down_a_fast_can_pewter_the_phone_check_lets_through(
    tmp_path: Path, speech_dir: Path
) -> None:
    shipped = WakeModel.load(bundled_model())
    assert [pair.phrase for pair in shipped.pairs] == ["hey can pewter"]
    shipped.pairs = []
    without = ClassifierWakeWord(shipped.save(tmp_path / "without.npz"), phrase="hey computer")
    without.load()
    detector = ClassifierWakeWord(bundled_model(), phrase="hey computer")
    detector.load()
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

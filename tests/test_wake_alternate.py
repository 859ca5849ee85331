"""A wake model with an alternate route: a second pair, trained over background talk, that may
also wake it (`speaker wake join`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech import SpeechCache, add_noise

from speaker.cli import main
from speaker.errors import ModelError
from speaker.wake.base import detect_all
from speaker.wake.classifier import ClassifierWakeWord, bundled_model
from speaker.wake.model import WakeModel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def speech(speech_dir: Path) -> SpeechCache:
    return SpeechCache(speech_dir)


def plain() -> WakeModel:
    """The shipped pair alone (network and verifier), without any alternate route."""
    model = WakeModel.load(bundled_model())
    model.alternate = None
    return model


def deaf(model: WakeModel) -> WakeModel:
    """The model with a first network that never fires."""
    weights, bias = model.layers[-1]
    model.layers[-1] = (weights, bias - 1000.0)
    return model


def detections(path: Path, audio) -> tuple[int, int]:
    detector = ClassifierWakeWord(path, phrase="hey computer")
    detector.load()
    return len(detect_all(detector, audio)), detector.alternate_wakes


def test_either_route_may_wake_it(speech: SpeechCache, tmp_path: Path) -> None:
    said = add_noise(speech.piper("Hey computer.", lead=1.5, trail=1.0), snr_db=25, seed=2)
    plain().save(tmp_path / "plain.npz")
    assert detections(tmp_path / "plain.npz", said) == (1, 0)

    # the first route cannot fire: the alternate one hears it
    joined = deaf(plain())
    joined.alternate = plain()
    joined.alternate.verifier.threshold = 0.5
    joined.save(tmp_path / "joined.npz")
    loaded = WakeModel.load(tmp_path / "joined.npz")
    assert loaded.alternate is not None and loaded.alternate.verifier is not None
    assert (
        loaded.alternate.verifier.threshold == 0.5 and loaded.verifier.threshold == joined.verifier.threshold
    )
    assert detections(tmp_path / "joined.npz", said) == (1, 1)

    # neither can: nothing wakes it
    joined.alternate = deaf(plain())
    joined.save(tmp_path / "both_deaf.npz")
    assert detections(tmp_path / "both_deaf.npz", said) == (0, 0)


def test_a_damaged_alternate_route_is_named(tmp_path: Path) -> None:
    joined = plain()
    joined.alternate = plain()
    weights, bias = joined.alternate.layers[0]
    joined.alternate.layers[0] = (weights[:10], bias)
    joined.save(tmp_path / "damaged.npz")
    with pytest.raises(ModelError, match=r"damaged \(its alternate route\)"):
        WakeModel.load(tmp_path / "damaged.npz")


def test_speaker_wake_join_writes_both_routes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain().save(tmp_path / "main.npz")
    other = plain()
    other.info = {"talk_share": 0.25}
    other.save(tmp_path / "talk.npz")
    out = tmp_path / "both.npz"
    argv = ["wake", "join", str(tmp_path / "main.npz"), str(tmp_path / "talk.npz"), "--out", str(out)]
    assert main([*argv, "--threshold", "0.97", "--verify-threshold", "0.95"]) == 0
    assert "wrote" in capsys.readouterr().out
    joined = WakeModel.load(out)
    assert joined.alternate is not None and joined.alternate.verifier is not None
    assert (joined.alternate.threshold, joined.alternate.verifier.threshold) == (0.97, 0.95)
    assert joined.threshold == plain().threshold and joined.info["alternate"]["talk_share"] == 0.25

    # a model that already has one, or one for another phrase, is refused
    assert main(["wake", "join", str(out), str(tmp_path / "talk.npz"), "--out", str(tmp_path / "x.npz")]) != 0
    assert "already has an alternate route" in capsys.readouterr().err
    jarvis = plain()
    jarvis.phrase = "hey jarvis"
    jarvis.save(tmp_path / "jarvis.npz")
    assert (
        main(["wake", "join", str(tmp_path / "main.npz"), str(tmp_path / "jarvis.npz"), "--out", str(out)])
        != 0
    )
    assert "'hey jarvis'" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_a_sweep_over_a_joined_model_or_with_one_pair_given_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    joined = plain()
    joined.alternate = plain()
    joined.save(tmp_path / "joined.npz")
    assert main(["wake", "eval", "--model", str(tmp_path / "joined.npz"), "--sweep"]) != 0
    assert "has an alternate route: a sweep varies one route's thresholds only" in capsys.readouterr().err
    argv = ["wake", "eval", "--model", str(bundled_model()), "--sweep", "--threshold", "0.9"]
    assert main(argv) != 0
    assert "a sweep takes --sweep-first, --sweep-verifier" in capsys.readouterr().err

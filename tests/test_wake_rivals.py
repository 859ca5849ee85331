"""The phone check's rivals with a determiner in place of the phrase's first word: "his computer",
"the computer". The networks and the phrase's own phones take "... on his computer" for "hey
computer" (its "h", a vowel, "computer"); a rival that says it turns it down."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from speech import SpeechCache, add_noise

from speaker.cli import main
from speaker.wake.classifier import bundled_model
from speaker.wake.features import Embedder
from speaker.wake.model import WakeModel
from speaker.wake.phones import load_bundled_recognizers, phone_check, rival_pronunciations
from speaker.wake.soundalikes import DETERMINERS, determiner_calls, rival_calls


def test_a_phrase_is_weighed_against_its_later_words_after_a_determiner() -> None:
    calls = rival_calls("hey computer")
    assert {"his computer", "the computer", "her computer", "a computer"} <= set(calls)
    assert "hey computer" not in calls
    assert "hey computes" in calls  # the sound-alike swaps stay
    # a phrase that starts with a determiner is not its own rival; one that sounds like it neither
    assert "the oracle" not in rival_calls("the oracle") and "a oracle" in rival_calls("the oracle")
    assert "our light" not in rival_calls("hour light") and "his light" in rival_calls("hour light")
    # a one-word phrase: the phrase after a determiner is the phrase with something before it
    assert not set(rival_calls("jarvis")) & {f"{d} jarvis" for d in DETERMINERS}
    determined = determiner_calls("hey computer")
    assert determiner_calls("jarvis") == [] and set(determined) <= set(calls)
    assert "his computer" in determined and "hey computes" not in determined


@pytest.fixture(scope="module")
def speech(speech_dir: Path) -> SpeechCache:
    return SpeechCache(speech_dir)


@pytest.mark.slow
def test_the_shipped_check_turns_down_the_last_word_after_a_determiner(speech: SpeechCache) -> None:
    settings = WakeModel.load(bundled_model()).phones
    assert settings is not None
    determined = rival_pronunciations(["his computer", "her computer"], settings["pronunciations"])
    assert all(r in settings["rivals"] for r in determined)
    recognizers = load_bundled_recognizers()
    check = phone_check(recognizers, settings)
    # the same check without the determiners' rivals, each other rival as strict as shipped
    calls = rival_pronunciations([f"{d} computer" for d in DETERMINERS], settings["pronunciations"])
    pairs = zip(settings["rivals"], settings["rival_offsets"], strict=True)
    kept = [(r, o) for r, o in pairs if r not in calls]
    before = phone_check(
        recognizers, {**settings, "rivals": [r for r, _ in kept], "rival_offsets": [o for _, o in kept]}
    )
    embedder = Embedder()

    def mel(text: str, voice: str) -> np.ndarray:
        if voice:
            chunk = speech.espeak(text, voice=voice, lead=0.5, trail=0.5)
        else:
            chunk = speech.piper(text, lead=0.5)
        return embedder.mel(add_noise(chunk, snr_db=25, seed=1).array()[:, 0].astype(np.float32))

    for voice in ("", "en-us+m3", "en-us-nyc+m7"):  # piper; espeak-ng, trained on; held out
        said = mel("He wrote it on his computer.", voice)
        assert before.score(embedder, said) >= check.threshold, voice  # the phrase's phones fit it
        assert check.score(embedder, said) < check.threshold, voice
        assert "I z k @ m p j u: t" in " ".join(check.best_rival or []), check.best_rival
        assert check.score(embedder, mel("Hey computer, what time is it?", voice)) >= check.threshold, voice


@pytest.mark.slow
def test_the_determiners_rivals_may_be_held_to_a_ceiling_of_their_own(tmp_path: Path, capsys) -> None:
    plain, stricter = tmp_path / "plain.npz", tmp_path / "determiners.npz"
    fit = ["wake", "phones", str(bundled_model()), "--rival-ceiling", "-5", "--fit-seeds", "7"]
    fit += ["--fit-positives", "3", "--workers", "1"]
    assert main([*fit, "--out", str(plain)]) == 0
    assert main([*fit, "--out", str(stricter), "--determiner-ceiling", "0"]) == 0
    assert "at their ceiling (-5; the determiners' 0)" in capsys.readouterr().out
    before, after = WakeModel.load(plain).phones, WakeModel.load(stricter).phones
    assert before is not None and after is not None and before["rivals"] == after["rivals"]
    determined = rival_pronunciations(determiner_calls("hey computer"), before["pronunciations"])
    assert determined and all(r in before["rivals"] for r in determined)
    rows = list(zip(before["rivals"], before["rival_offsets"], after["rival_offsets"], strict=True))
    assert all(new == old for r, old, new in rows if r not in determined)  # the others' as they were
    held = [new for r, _, new in rows if r in determined]
    assert all(5.0 <= new <= 10.0 for new in held) and max(held) == 10.0  # up to 0 = -10 + 10
    for wrong, message in (
        (["--determiner-ceiling", "0"], "goes with --rival-ceiling"),
        (["--rival-ceiling", "-5", "--determiner-ceiling", "-12"], "-12 is below the threshold -10"),
    ):
        assert main(["wake", "phones", str(plain), *wrong, "--fit-positives", "1"]) == 2
        assert message in capsys.readouterr().err

"""The follow-up window through `speaker run` on a WAV file: answer again without the wake word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speaker.audio.wavfile import write_wav
from speaker.cli import main
from speaker.models import ModelStore
from speaker.speechgen import PiperSpeech, concat, pad

pytestmark = pytest.mark.slow


def test_a_follow_up_needs_no_wake_word_until_the_window_closes(
    store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice = PiperSpeech(store.require("piper-en-us-joe-medium").main)
    audio = concat(
        pad(voice.say("Hey computer. What time is it?"), lead=1.0, trail=4.0),
        # within the window after the first reply (about two seconds long): no wake word
        pad(voice.say("What time is it now?"), lead=0.0, trail=11.0),
        # long after the second reply: the window has closed, this is ignored
        pad(voice.say("What time is it?"), lead=0.0, trail=2.0),
    )
    wav, events = tmp_path / "in.wav", tmp_path / "events.jsonl"
    write_wav(wav, audio)
    config = tmp_path / "c.yaml"
    config.write_text("dialog:\n  follow_up_s: 5\n", encoding="utf-8")
    code = main(
        [
            "--config",
            str(config),
            "run",
            "--input",
            str(wav),
            "--output",
            str(tmp_path / "o.wav"),
            "--events",
            str(events),
        ]
    )
    assert code == 0, capsys.readouterr().err
    evs = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    names = [e["event"] for e in evs]
    assert names.count("wake") == 1
    done = [e for e in evs if e["event"] == "turn_done"]
    assert len(done) == 2, names
    assert "time" in done[1]["transcript"] and done[1]["reply"].startswith("It's")
    follow = [i for i, n in enumerate(names) if n == "follow_up"]
    assert len(follow) == 2 and evs[follow[0]]["seconds"] == 5
    # after the first reply: the window opens and the next speech starts with no wake between
    first_done = names.index("turn_done")
    assert names[first_done + 1] == "follow_up" and names[first_done + 2] == "speech_start"
    # the second window closes unused; the third question is not answered
    assert "no_speech" in names[follow[1] :]
    second_window_start = evs[follow[1]]["audio"]
    no_speech = next(e for e in evs[follow[1] :] if e["event"] == "no_speech")
    assert 4.5 <= no_speech["audio"] - second_window_start <= 8.0


def test_the_wake_word_said_anyway_inside_the_window_is_not_part_of_the_request(
    store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice = PiperSpeech(store.require("piper-en-us-joe-medium").main)
    audio = concat(
        pad(voice.say("Hey computer. What time is it?"), lead=1.0, trail=4.0),
        pad(voice.say("Hey computer. What is the capital of France?"), lead=0.0, trail=2.0),
    )
    wav, events = tmp_path / "in.wav", tmp_path / "events.jsonl"
    write_wav(wav, audio)
    code = main(["run", "--input", str(wav), "--output", str(tmp_path / "o.wav"), "--events", str(events)])
    assert code == 0, capsys.readouterr().err
    evs = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    names = [e["event"] for e in evs]
    assert names.count("wake") == 2 and names.index("follow_up") < len(names) - names[::-1].index("wake")
    done = [e for e in evs if e["event"] == "turn_done"]
    assert len(done) == 2 and "capital" in done[1]["transcript"]
    assert "computer" not in done[1]["transcript"]


def test_no_follow_up_is_listened_to_once_the_microphone_is_muted(
    store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice = PiperSpeech(store.require("piper-en-us-joe-medium").main)
    audio = concat(
        pad(voice.say("Hey computer. Mute the microphone."), lead=1.0, trail=5.0),
        # inside what would be the follow-up window: a muted speaker must not hear it
        pad(voice.say("What time is it?"), lead=0.0, trail=2.0),
    )
    wav, events = tmp_path / "in.wav", tmp_path / "events.jsonl"
    write_wav(wav, audio)
    config = tmp_path / "c.yaml"
    config.write_text(f"controls:\n  state_file: {tmp_path / 'controls.json'}\n", encoding="utf-8")
    code = main(["--config", str(config), "run", "--input", str(wav), "--output", str(tmp_path / "o.wav"),
                 "--events", str(events)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    evs = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    names = [e["event"] for e in evs]
    done = [e for e in evs if e["event"] == "turn_done"]
    assert len(done) == 1 and done[0]["reply"].startswith("Microphone off")
    assert "follow_up" not in names and names.count("speech_start") == 1

"""Spoken turns in dialog modes, with the real model and voice: mode events, memory, length limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from speaker.audio.sinks import WavFileSink
from speaker.cli import main
from speaker.dialog.modes import load_modes
from speaker.dialog.session import Dialog
from speaker.events import EventBus, EventLog
from speaker.llm.llama import LlamaChatModel
from speaker.pipeline.turn import Responder
from speaker.settings import default_config_dir
from speaker.text.length import spoken_seconds
from speaker.text.sentences import split_sentences
from speaker.tts.piper import PiperSynthesizer

pytestmark = pytest.mark.slow
MODES_FILE = default_config_dir() / "modes.yaml"


@pytest.fixture(scope="module")
def quick_modes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped modes with short replies: for tests where the reply's length does not matter."""
    data = yaml.safe_load(MODES_FILE.read_text(encoding="utf-8"))
    for mode in data["modes"].values():
        mode["sampling"]["max_tokens"] = 24
    path = tmp_path_factory.mktemp("modes") / "modes.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def speaker_for(
    llm: LlamaChatModel, tts: PiperSynthesizer, out: Path, modes: Path = MODES_FILE
) -> tuple[Responder, EventLog]:
    bus = EventBus()
    log = EventLog()
    bus.subscribe(log)
    sink = WavFileSink(out)
    sink.open()
    dialog = Dialog(load_modes(modes), count_tokens=llm.count_tokens)
    return Responder(tts=tts, sink=sink, bus=bus, llm=llm, dialog=dialog), log


def test_the_mode_is_announced_before_the_model_starts(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path, quick_modes: Path
) -> None:
    r, log = speaker_for(llm, tts, tmp_path / "a.wav", quick_modes)
    result = r.respond("How do I clean a cast iron pan?")
    names = [e.name for e in log.events]
    assert names.index("mode") < names.index("llm_model") < names.index("llm_first_token")
    mode = log.named("mode")[0].to_dict()
    assert mode["mode"] == result.mode == "life_tips" and mode["source"] == "classifier"
    assert 0.5 < mode["confidence"] <= 1 and "clean*" in mode["reason"] and mode["language"] == "en"
    assert result.reply


def test_the_conversation_is_remembered_and_reuses_the_cache(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    r, log = speaker_for(llm, tts, tmp_path / "a.wav")
    r.respond("My dog is called Biscuit.")
    second = r.respond("What is my dog called?")
    assert "biscuit" in second.reply.lower()
    turn = log.named("turn_done")[-1].to_dict()["llm"]
    assert turn["evaluated_tokens"] == turn["prompt_tokens"] - turn["cached_tokens"] <= 30

    fresh, _ = speaker_for(llm, tts, tmp_path / "b.wav")
    assert "biscuit" not in fresh.respond("What is my dog called?").reply.lower()  # memory made it

    r.respond("new conversation")
    reset = log.named("conversation_reset")[-1].to_dict()
    assert reset["reason"] == "command" and reset["forgotten"] == 2
    assert not r.dialog.memory.exchanges  # type: ignore[union-attr]


def test_a_bare_switch_is_answered_at_once(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    r, log = speaker_for(llm, tts, tmp_path / "a.wav")
    switched = r.respond("switch to inspiration mode")
    assert switched.reply == "Let's get creative. What shall we dream up?" and switched.audio_seconds > 1
    assert "llm_first_token" not in [e.name for e in log.events]
    chinese = r.respond("切换到共情模式")
    assert chinese.reply == "我在呢。想聊点什么？" and chinese.mode == "empathy"
    assert chinese.audio_seconds == 0  # the English voice does not read Chinese as "Chinese letter"


def test_a_long_reply_is_cut_at_a_sentence_at_the_modes_limit(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    data = yaml.safe_load(MODES_FILE.read_text(encoding="utf-8"))
    data["modes"]["inspiration"]["spoken_limit_s"] = 3.0
    data["modes"]["inspiration"]["sampling"].update(max_tokens=120, temperature=0.0)
    modes = tmp_path / "modes.yaml"
    modes.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r, log = speaker_for(llm, tts, tmp_path / "a.wav", modes)
    result = r.respond("Tell me a short story about a dragon who learns to bake bread.")
    assert result.mode == "inspiration" and result.cut
    sentences = [e.to_dict()["text"] for e in log.named("sentence")]
    assert result.reply == " ".join(sentences)
    whole = split_sentences(result.reply)  # parts cut at a comma are finished, then it stops
    assert len(whole) == 1 or spoken_seconds(" ".join(whole[:-1])) <= 3.0
    assert result.reply[-1] in ".!?"  # ends at a sentence boundary
    assert log.named("turn_done")[0].to_dict()["llm"]["cut_at_limit"] == 1
    remembered = r.dialog.memory.exchanges[-1].assistant  # type: ignore[union-attr]
    assert remembered.split()[-1] == sentences[-1].split()[-1]  # only what was said is remembered


def test_ask_forces_a_mode_and_keeps_one_conversation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quick_modes: Path
) -> None:
    events = tmp_path / "ev.jsonl"
    config = tmp_path / "c.yaml"
    config.write_text(f"dialog:\n  modes: {quick_modes}\n", encoding="utf-8")
    code = main(
        ["--config", str(config), "ask", "--mode", "empathy", "I lost my keys again.", "What should I do?",
         "--output", str(tmp_path / "a.wav"), "--events", str(events)]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len([line for line in out.splitlines() if line.strip()]) == 2
    lines = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    modes = [e for e in lines if e["event"] == "mode"]
    assert [(m["mode"], m["source"], m["reason"]) for m in modes] == [
        ("empathy", "forced", "forced by the caller")
    ] * 2
    done = [e for e in lines if e["event"] == "turn_done"]
    assert done[1]["llm"]["prompt_tokens"] > done[0]["llm"]["prompt_tokens"]  # the first turn is in it


def test_ask_with_an_unknown_mode_fails_before_loading(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--mode", "poetry", "hello"]) == 2
    err = capsys.readouterr().err
    assert "unknown dialog mode 'poetry'; the modes are: knowledge, empathy, life_tips, inspiration" in err

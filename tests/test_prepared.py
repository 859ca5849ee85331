"""Answers prepared while the user pauses: recognized, written and voiced before the endpoint,
said only once the utterance has surely ended, dropped when speech goes on. Real models."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from speaker.asr.pocketsphinx import PocketsphinxRecognizer
from speaker.audio.chunk import silence
from speaker.audio.sinks import WavFileSink
from speaker.audio.wavfile import probe, write_wav
from speaker.cli import main
from speaker.dialog.modes import load_modes
from speaker.dialog.session import Dialog
from speaker.events import EventBus, EventLog
from speaker.llm.llama import LlamaChatModel
from speaker.models import ModelStore
from speaker.pipeline.listening import Listener
from speaker.pipeline.turn import Responder
from speaker.settings import VadSettings, default_config_dir
from speaker.speechgen import PiperSpeech, concat, pad
from speaker.tts.piper import PiperSynthesizer
from speaker.vad.webrtc import WebRtcVad
from tests.speech import split

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def asr(store: ModelStore) -> PocketsphinxRecognizer:
    recognizer = PocketsphinxRecognizer(store.require("pocketsphinx-en-us").path)
    recognizer.load()
    return recognizer


def listen(asr: PocketsphinxRecognizer, speech: object) -> tuple[list[str], int, str]:
    """Feed the speech through a listener: (texts it paused on, times speech resumed, final text)."""
    listener = Listener(WebRtcVad(2), asr, VadSettings())
    listener.start(0.0)
    paused, resumed = [], 0
    for frame in split(speech):  # type: ignore[arg-type]
        result = listener.feed(frame, time.monotonic())
        if result.paused is not None:
            paused.append(result.paused)
        resumed += result.resumed
        if result.ended:
            return paused, resumed, listener.finish()
    raise AssertionError("the utterance never ended")


def test_a_pause_settles_the_transcript_and_speech_after_it_is_added(
    asr: PocketsphinxRecognizer, voice: PiperSpeech
) -> None:
    first, second = voice.say("What is the capital"), voice.say("of France?")
    paused, resumed, final = listen(asr, concat(silence(0.3), first, silence(0.45), second, silence(1.0)))
    assert len(paused) == 2 and resumed == 1
    assert "capital" in paused[0] and "france" not in paused[0]
    assert "capital" in final and "france" in final
    assert paused[1] == final  # the endpoint came during the second pause: nothing left to decode


def test_without_a_pause_the_prepared_transcript_is_the_final_one(
    asr: PocketsphinxRecognizer, voice: PiperSpeech
) -> None:
    paused, resumed, final = listen(asr, pad(voice.say("How many legs does a spider have?"), 0.3, 1.0))
    assert paused == [final] and resumed == 0
    assert "spider" in final


def responder(llm: LlamaChatModel, tts: PiperSynthesizer, out: Path) -> tuple[Responder, EventLog, Dialog]:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    sink = WavFileSink(out)
    sink.open()
    dialog = Dialog(load_modes(default_config_dir() / "modes.yaml"), count_tokens=llm.count_tokens)
    return Responder(tts=tts, sink=sink, bus=bus, llm=llm, dialog=dialog), log, dialog


def test_a_prepared_answer_is_held_back_then_said_when_adopted(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    r, log, dialog = responder(llm, tts, tmp_path / "reply.wav")
    job = r.prepare("what is the capital of france")
    assert job is not None
    assert job.first_voiced.wait(120)  # written and voiced ahead ...
    assert job.audio.qsize() > 0
    assert log.events == [] and not dialog.memory.exchanges  # ... but nothing said or announced
    result = r.respond("what is the capital of france", prepared=job)
    t = result.timings
    assert t["prepared"] > 0 and t["llm_first_token"] < 0  # the model began before the turn did
    assert "paris" in result.reply.lower() and result.audio_seconds > 0.5
    names = [e.name for e in log.events]
    assert names.count("llm_first_token") == 1 and names.count("llm_model") == 1
    assert names.index("mode") < names.index("llm_first_token") < names.index("tts_first_audio")
    assert names[-1] == "turn_done"
    assert [e.user for e in dialog.memory.exchanges] == ["What is the capital of france"]


def test_a_prepared_answer_to_other_words_is_dropped(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    r, log, dialog = responder(llm, tts, tmp_path / "reply.wav")
    job = r.prepare("tell me about the moon")
    assert job is not None
    result = r.respond("what is the capital of france", prepared=job)
    assert job.stop.is_set() and "prepared" not in result.timings
    assert "paris" in result.reply.lower()
    names = [e.name for e in log.events]
    assert names.count("llm_first_token") == 1 and names.count("sentence") >= 1
    sentences = " ".join(e.text for e in log.named("sentence")).lower()
    assert "moon" not in sentences  # nothing of the dropped answer was announced or said
    assert [e.user for e in dialog.memory.exchanges] == ["What is the capital of france"]


def test_commands_are_not_prepared_and_preparing_changes_no_conversation(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    r, _, dialog = responder(llm, tts, tmp_path / "reply.wav")
    r.respond("how do i clean a cast iron pan")
    before = (list(dialog.memory.exchanges), dialog.memory.mode)
    assert r.prepare("forget our conversation") is None  # a dialog command: said at once, never ahead
    job = r.prepare("give me an idea for a birthday present")
    assert job is not None
    r.discard(job)
    assert (list(dialog.memory.exchanges), dialog.memory.mode) == before


def test_the_loop_answers_the_whole_question_after_a_mid_sentence_pause(
    voice: PiperSpeech, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = tmp_path / "question.wav"
    said = concat(
        silence(1.0), voice.say("Hey computer. What is the capital"), silence(0.45), voice.say("of France?")
    )
    write_wav(question, pad(said, trail=2.0))
    out, events = tmp_path / "reply.wav", tmp_path / "events.jsonl"
    args = ["run", "--input", str(question), "--realtime", "--output", str(out), "--events", str(events)]
    assert main(args) == 0, capsys.readouterr().err
    evs = [json.loads(line) for line in events.read_text().splitlines()]
    names = [e["event"] for e in evs]
    assert names.count("turn_done") == 1 and "error" not in names
    by_name = {e["event"]: e for e in evs}
    assert {"capital", "france"} <= set(by_name["transcript"]["text"].split())
    assert names.index("speech_end") < names.index("llm_first_token") < names.index("tts_first_audio")
    done = by_name["turn_done"]
    assert done["timings"]["prepared"] > 0  # prepared in the final pause, not the first one
    assert "paris" in done["reply"].lower()
    assert probe(out).frames > 0

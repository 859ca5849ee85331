"""Streaming recognizers on real models and generated speech."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from speech import SpeechCache, concat, require_model, split

from speaker.asr.pocketsphinx import PocketsphinxRecognizer
from speaker.asr.vosk import VoskRecognizer
from speaker.audio.chunk import AudioChunk, silence
from speaker.errors import AudioError, ModelError, StageError

pytestmark = pytest.mark.slow

COMMANDS = [
    f"turn {state} the {device}"
    for state in ("on", "off")
    for device in ("kitchen light", "bedroom lamp", "living room light", "hallway light", "garage door")
] + ["set a timer for five minutes", "volume up", "volume down", "stop", "pause the music", "what time is it"]


@pytest.fixture(scope="module")
def speech(speech_dir: Path) -> SpeechCache:
    return SpeechCache(speech_dir)  # speech_dir: the session's cache, from conftest.py


@pytest.fixture(scope="module")
def ps_model() -> Path:
    return require_model("SPEAKER_TEST_PS_MODEL")


@pytest.fixture(scope="module")
def ps_open(ps_model: Path) -> PocketsphinxRecognizer:
    recognizer = PocketsphinxRecognizer(ps_model)
    recognizer.load()
    return recognizer


@pytest.fixture(scope="module")
def ps_commands(ps_model: Path) -> PocketsphinxRecognizer:
    recognizer = PocketsphinxRecognizer(ps_model, grammar=COMMANDS)
    recognizer.load()
    return recognizer


def transcribe(
    recognizer: PocketsphinxRecognizer | VoskRecognizer, audio: AudioChunk
) -> tuple[str, list[tuple[float, str]], float]:
    """Final text, the (audio time, partial) pairs seen on the way, and the CPU seconds finish() took."""
    stream = recognizer.start()
    partials = []
    for frame in split(audio):
        if (partial := stream.accept(frame)) is not None:
            partials.append((frame.end, partial))
    start = time.process_time()
    text = stream.finish()
    return text, partials, time.process_time() - start


def test_pocketsphinx_transcribes_a_question(speech: SpeechCache, ps_open: PocketsphinxRecognizer) -> None:
    text, _, _ = transcribe(ps_open, speech.piper("What is the capital of France?", lead=0.3, trail=0.6))
    assert "capital" in text.split() and "france" in text.split(), text


def test_pocketsphinx_partials_come_while_speaking_and_the_final_is_ready_at_once(
    speech: SpeechCache, ps_open: PocketsphinxRecognizer
) -> None:
    audio = speech.piper("Give me an idea for a birthday present.", lead=0.3, trail=0.6)
    text, partials, finish_cpu = transcribe(ps_open, audio)
    assert len(partials) >= 3, partials
    assert partials[0][0] < audio.duration - 1.5  # the first one arrives early in the utterance
    assert len({p for _, p in partials}) == len(partials)  # only changes are reported
    assert any("idea" in p for _, p in partials if _ < audio.duration - 0.6)
    assert "birthday" in text, text
    assert finish_cpu < 0.1, f"finish() took {finish_cpu * 1000:.0f} ms"


def test_grammar_corrects_a_command_the_open_model_gets_wrong(
    speech: SpeechCache, ps_open: PocketsphinxRecognizer, ps_commands: PocketsphinxRecognizer
) -> None:
    """The open LM's result depends a little on what it heard before (live CMN), so count."""
    open_wrong = []
    for command in (
        "Turn off the kitchen light.",
        "Turn on the kitchen light.",
        "Turn off the hallway light.",
        "Pause the music.",
    ):
        audio = speech.piper(command, lead=0.3, trail=0.6)
        expected = command.lower().rstrip(".")
        open_text, _, _ = transcribe(ps_open, audio)
        biased, _, finish_cpu = transcribe(ps_commands, audio)
        assert biased == expected, (command, open_text, biased)
        assert finish_cpu < 0.1
        if open_text != expected:
            open_wrong.append(open_text)
    assert len(open_wrong) >= 2, f"the open LM got these right; pick harder examples (wrong: {open_wrong})"


def test_grammar_does_not_force_other_sentences_into_commands(
    speech: SpeechCache, ps_commands: PocketsphinxRecognizer
) -> None:
    for sentence, words in [
        ("What is the capital of France?", {"capital", "france"}),
        ("Turn off the radio.", {"radio"}),
        ("Stop talking to me like that.", {"talking", "like"}),
    ]:
        text, _, _ = transcribe(ps_commands, speech.piper(sentence, lead=0.3, trail=0.6))
        assert words <= set(text.split()), (sentence, text)
        assert text not in COMMANDS


def test_grammar_phrases_with_unknown_words_are_left_out_loudly(
    ps_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recognizer = PocketsphinxRecognizer(ps_model, grammar=["turn on the zigbeeplug", "volume up"])
    with caplog.at_level(logging.WARNING):
        recognizer.load()
    assert "zigbeeplug" in caplog.text
    assert recognizer._phrases == {"volume up"}


def test_pocketsphinx_refuses_wrong_frames_and_finished_streams(ps_open: PocketsphinxRecognizer) -> None:
    stream = ps_open.start()
    with pytest.raises(AudioError, match="16 kHz mono 16-bit"):
        stream.accept(AudioChunk(48000, 2, 1, bytes(2 * 1440)))
    with pytest.raises(AudioError, match="8-bit"):
        stream.accept(AudioChunk(16000, 1, 1, bytes(480)))
    assert stream.finish() == ""
    with pytest.raises(StageError, match="finished"):
        stream.accept(silence(0.03))


def test_a_new_stream_abandons_the_previous_one(speech: SpeechCache, ps_open: PocketsphinxRecognizer) -> None:
    old = ps_open.start()
    for frame in split(speech.piper("Why is the sky blue?", lead=0.3, trail=0.0))[:40]:
        old.accept(frame)
    text, _, _ = transcribe(ps_open, speech.piper("What is the capital of France?", lead=0.3, trail=0.6))
    assert "sky" not in text and "france" in text, text
    with pytest.raises(StageError):
        old.finish()


def test_pocketsphinx_missing_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        PocketsphinxRecognizer(tmp_path / "missing").load()
    with pytest.raises(StageError, match="load"):
        PocketsphinxRecognizer(tmp_path).start()


# --- vosk, Korean model, espeak-ng Korean speech ---

KOREAN_COMMANDS = [
    "거실 불 꺼 줘",
    "안녕하세요",
    "오늘 날씨 어때",
    "지금 몇 시야",
    "음악 꺼 줘",
    "소리 크게",
    "오늘 날씨 어때요",
]


@pytest.fixture(scope="module")
def vosk_open(vosk_ko: Path) -> VoskRecognizer:
    recognizer = VoskRecognizer(vosk_ko, "ko")
    recognizer.load()
    return recognizer


@pytest.fixture(scope="module")
def vosk_commands(vosk_ko: Path) -> VoskRecognizer:
    recognizer = VoskRecognizer(vosk_ko, "ko", grammar=KOREAN_COMMANDS)
    recognizer.load()
    return recognizer


def test_vosk_grammar_recognizes_korean_commands(
    speech: SpeechCache, vosk_open: VoskRecognizer, vosk_commands: VoskRecognizer
) -> None:
    for command in ("오늘 날씨 어때", "지금 몇 시야", "안녕하세요"):
        audio = speech.espeak(command, voice="ko", lead=0.5, trail=0.6)
        text, _, finish_cpu = transcribe(vosk_commands, audio)
        assert text == command, (command, text)
        assert finish_cpu < 0.1
    open_text, _, _ = transcribe(vosk_open, audio)
    assert open_text != command  # espeak-ng Korean is too poor for the open model alone


def test_vosk_words_missing_from_the_vocabulary_drop_their_phrase(vosk_commands: VoskRecognizer) -> None:
    assert "오늘 날씨 어때요" not in vosk_commands._phrases  # 어때요 is not in the Korean model
    assert "오늘 날씨 어때" in vosk_commands._phrases


def test_vosk_grammar_leaves_other_speech_to_the_open_model(
    speech: SpeechCache, vosk_commands: VoskRecognizer
) -> None:
    audio = speech.espeak("어제 친구를 만났어요.", voice="ko", lead=0.5, trail=0.6)
    text, _, _ = transcribe(vosk_commands, audio)
    grammar_words = {w for phrase in KOREAN_COMMANDS for w in phrase.split()}
    assert text and text not in KOREAN_COMMANDS, text
    assert set(text.split()) - grammar_words, f"{text!r} is made of grammar words only"


def test_vosk_partials_and_segments_split_by_a_pause_are_joined(
    speech: SpeechCache, vosk_open: VoskRecognizer
) -> None:
    first = speech.espeak("음악 꺼 줘", voice="ko", lead=0.5, trail=0.0)
    second = speech.espeak("어제 친구를 만났어요.", voice="ko", lead=0.0, trail=0.6)
    audio = concat(first, silence(2.5), second)  # vosk ends a segment on its own after such a pause
    text, partials, _ = transcribe(vosk_open, audio)
    assert text.split()[0] == "음악" and "어제" in text.split(), text
    assert partials and partials[0][0] < first.duration, partials
    assert "[" not in text and "<" not in text


def test_vosk_refuses_wrong_frames_and_missing_models(vosk_open: VoskRecognizer, tmp_path: Path) -> None:
    stream = vosk_open.start()
    with pytest.raises(AudioError, match="16 kHz mono"):
        stream.accept(AudioChunk(8000, 2, 1, bytes(480)))
    stream.finish()
    with pytest.raises(StageError, match="finished"):
        stream.finish()
    with pytest.raises(ModelError, match="vosk model not found"):
        VoskRecognizer(tmp_path, "ko").load()


def test_silence_gives_an_empty_transcript(
    vosk_open: VoskRecognizer, ps_open: PocketsphinxRecognizer
) -> None:
    quiet = concat(silence(1.0))
    assert transcribe(vosk_open, quiet)[0] == ""
    assert transcribe(ps_open, quiet)[0] == ""

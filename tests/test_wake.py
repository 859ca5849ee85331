"""Wake word engines on real models and generated speech."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from speech import SpeechCache, add_noise, concat, require_model, split

from speaker.asr.vosk import shared_model
from speaker.audio.chunk import AudioChunk, silence
from speaker.errors import AudioError, ModelError, StageError
from speaker.wake.base import Detection
from speaker.wake.pocketsphinx import PocketsphinxWakeWord
from speaker.wake.vosk import VoskWakeWord

pytestmark = pytest.mark.slow

ORDINARY = [
    "What is the capital of France?",
    "I went to the store and bought some bread and milk.",
    "The weather is nice today, let's go for a walk.",
    "Turn off the kitchen light.",
]
NEAR_MISSES = ["My computer is slow today.", "Hey, come here please.", "He computed the sum quickly."]


@pytest.fixture(scope="module")
def speech(speech_dir: Path) -> SpeechCache:
    return SpeechCache(speech_dir)  # speech_dir: the session's cache, from conftest.py


@pytest.fixture(scope="module")
def ps_model() -> Path:
    return require_model("SPEAKER_TEST_PS_MODEL")


def ps_wake(model: Path, threshold: float = 1e-20, phrase: str = "hey computer") -> PocketsphinxWakeWord:
    detector = PocketsphinxWakeWord(model, phrase, threshold)
    detector.load()
    return detector


def detections(detector: PocketsphinxWakeWord | VoskWakeWord, audio: AudioChunk) -> list[Detection]:
    return [d for frame in split(audio) if (d := detector.process(frame)) is not None]


def test_hey_computer_is_detected_right_after_it_is_said(speech: SpeechCache, ps_model: Path) -> None:
    wake = speech.piper("Hey computer.", lead=1.0, trail=0.0)
    question = speech.piper("What is the capital of France?", lead=0.3, trail=1.0)
    audio = concat(wake, question)
    audio = AudioChunk(audio.rate, 2, 1, audio.audio, timestamp=100.0)  # frames carry stream time
    phrase_end = 100.0 + wake.duration
    found = detections(ps_wake(ps_model), audio)
    assert len(found) == 1, found
    assert found[0].phrase == "hey computer"
    assert phrase_end - 0.3 <= found[0].end <= phrase_end + 0.5, (found[0].end, phrase_end)
    assert found[0].score > math.log10(1e-20)


def test_phrase_inside_a_sentence_and_mixed_case_phrase(speech: SpeechCache, ps_model: Path) -> None:
    detector = ps_wake(ps_model, phrase="Hey, Computer!")
    assert detector.phrase == "hey computer"
    found = detections(detector, speech.piper("Hey computer, turn on the bedroom lamp."))
    assert len(found) == 1 and 1.3 <= found[0].end <= 2.5


def test_ordinary_sentences_and_noise_do_not_wake_it(speech: SpeechCache, ps_model: Path) -> None:
    detector = ps_wake(ps_model)
    audio = concat(add_noise(silence(5.0), 0.0, seed=1), *(speech.piper(t) for t in ORDINARY))
    assert detections(detector, audio) == []


def test_a_stricter_threshold_at_run_time_drops_near_misses(speech: SpeechCache, ps_model: Path) -> None:
    true_hits = concat(
        *(speech.piper(t) for t in ["Hey computer.", "Hey computer, turn on the bedroom lamp."])
    )
    near = concat(*(speech.piper(t) for t in NEAR_MISSES))
    detector = ps_wake(ps_model, threshold=1e-30)
    detections(detector, true_hits)  # settle the cepstral mean on speech first
    lenient = detections(detector, near)
    detector.set_threshold(1e20)
    strict_near, strict_true = detections(detector, near), detections(detector, true_hits)
    detector.set_threshold(1e-30)
    lenient_again = detections(detector, near)
    assert len(lenient) >= 2, lenient
    assert strict_near == [], strict_near
    assert len(strict_true) == 2, strict_true
    assert all(d.score >= 20 for d in strict_true)
    assert len(lenient_again) == len(lenient)
    assert detector.threshold == 1e-30


def test_reset_forgets_a_half_heard_phrase(speech: SpeechCache, ps_model: Path) -> None:
    detector = ps_wake(ps_model)
    frames = split(speech.piper("Hey computer.", lead=0.5, trail=1.0))
    cut = next(i for i, f in enumerate(frames) if f.timestamp >= 0.5 + 0.45)  # after "hey comp..."
    assert [d for f in frames[:cut] if (d := detector.process(f))] == []
    detector.reset()
    assert [d for f in frames[cut:] if (d := detector.process(f))] == []
    assert len(detections(detector, speech.piper("Hey computer."))) == 1


def test_a_word_missing_from_the_dictionary_is_named(ps_model: Path) -> None:
    with pytest.raises(ModelError, match="zorblaxx"):
        ps_wake(ps_model, phrase="hey zorblaxx")


def test_a_missing_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=str(tmp_path / "nope")):
        PocketsphinxWakeWord(tmp_path / "nope").load()
    with pytest.raises(ModelError, match="not a pocketsphinx model"):
        PocketsphinxWakeWord(tmp_path).load()


def test_wrong_frames_and_unloaded_use_are_refused(ps_model: Path) -> None:
    with pytest.raises(StageError, match="load"):
        PocketsphinxWakeWord(ps_model).process(silence(0.03))
    detector = ps_wake(ps_model)
    with pytest.raises(AudioError, match="16 kHz mono"):
        detector.process(AudioChunk(44100, 2, 1, bytes(2 * 1323)))
    with pytest.raises(AudioError, match="2 channel"):
        detector.process(AudioChunk(16000, 2, 2, bytes(4 * 480)))


def test_idle_listening_is_cheap(speech: SpeechCache, ps_model: Path) -> None:
    """Well under 10% of one core: 30 s of noise and speech must take less than 3 s of CPU."""
    audio = add_noise(concat(silence(10.0), *(speech.piper(t) for t in ORDINARY), silence(4.0)), 30.0)
    frames = split(audio)
    detector = ps_wake(ps_model)
    start = time.process_time()
    for frame in frames:
        detector.process(frame)
    cpu = time.process_time() - start
    assert audio.duration >= 30.0
    assert cpu < 0.1 * audio.duration, f"{cpu:.2f} s CPU for {audio.duration:.0f} s of audio"


# --- vosk grammar spotting, Korean model, espeak-ng Korean speech ---

KOREAN_OTHERS = [
    "안녕하세요. 오늘 날씨가 좋네요.",
    "지금 몇 시 예요?",
    "자비스 불 꺼 줘",
    "어제 친구를 만났어요.",
]


@pytest.fixture(scope="module")
def vosk_wake(vosk_ko: Path) -> VoskWakeWord:
    detector = VoskWakeWord(vosk_ko, "알렉사", language="ko")
    detector.load()
    return detector


def test_vosk_spots_the_phrase_in_a_stream_of_korean_talk(
    speech: SpeechCache, vosk_wake: VoskWakeWord
) -> None:
    """Ordinary sentences first (it is always listening, so its adaptation is warm), then the phrase.

    Cold, on the first sentence it ever hears, this model misses espeak-ng's "알렉사".
    """
    vosk_wake.reset()
    talk = concat(*(speech.espeak(t, voice="ko") for t in KOREAN_OTHERS))
    wake = speech.espeak("알렉사, 불 꺼 줘.", voice="ko", lead=1.0)
    assert detections(vosk_wake, talk) == []
    found = detections(vosk_wake, wake)
    assert len(found) == 1, found
    assert found[0].phrase == "알렉사" and found[0].score > 0
    assert 1.2 <= found[0].end <= 2.6, found[0].end


def test_vosk_phrase_missing_from_the_vocabulary_is_named(vosk_ko: Path) -> None:
    with pytest.raises(ModelError, match="쀍쀍"):
        VoskWakeWord(vosk_ko, "알렉사 쀍쀍", language="ko").load()


def test_vosk_wake_and_recognizer_share_one_model(vosk_ko: Path, vosk_wake: VoskWakeWord) -> None:
    assert shared_model(vosk_ko) is shared_model(Path(str(vosk_ko) + "/"))
    with pytest.raises(ModelError, match="vosk model not found"):
        shared_model(vosk_ko.parent / "no-such-model")

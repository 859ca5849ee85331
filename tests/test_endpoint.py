"""The endpoint state machine, fed booleans and durations only."""

from __future__ import annotations

from pathlib import Path

import pytest

from speaker.settings import VadSettings
from speaker.vad.endpoint import (
    EndpointDetector,
    EndpointResult,
    EndpointState,
    NoSpeech,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)

FRAME = 0.03


def feed(
    detector: EndpointDetector, pattern: str, frame: float = FRAME
) -> list[tuple[float, EndpointResult]]:
    """`pattern` is one character per frame: 'x' voiced, '.' silent. Returns (offset after frame, result)."""
    results = []
    for char in pattern:
        result = detector.process(char == "x", frame)
        if result is not None:
            results.append((detector.elapsed, result))
    return results


def detector(**kwargs: float) -> EndpointDetector:
    settings = dict(speech_start=0.09, trailing_silence=0.6, max_utterance=12.0, no_speech_timeout=5.0)
    settings.update(kwargs)
    return EndpointDetector(**settings)


def test_speech_then_trailing_silence_ends_the_utterance() -> None:
    d = detector()
    results = feed(d, "." * 10 + "x" * 30 + "." * 25)
    assert [type(r) for _, r in results] == [SpeechStarted, SpeechEnded]
    (t_start, started), (t_end, ended) = results
    assert started.start == pytest.approx(0.30)  # the first voiced frame, not when the start was decided
    assert t_start == pytest.approx(0.39)  # decided after 3 voiced frames = 90 ms
    assert isinstance(ended, SpeechEnded) and ended.reason == "silence"
    assert ended.start == pytest.approx(0.30)
    assert ended.last_voiced_end == pytest.approx(1.20)
    assert t_end == pytest.approx(1.80) and ended.end == pytest.approx(1.80)  # exactly 600 ms of silence
    assert d.state is EndpointState.DONE
    assert d.speech_started_at == pytest.approx(0.30) and d.last_voiced_end == pytest.approx(1.20)


def test_a_click_does_not_start_an_utterance() -> None:
    d = detector()
    # single voiced frames far apart: never 90 ms voiced within the 300 ms window
    assert feed(d, ("x" + "." * 12) * 10) == []
    assert d.state is EndpointState.WAITING and d.speech_started_at is None


def test_two_clicks_inside_the_window_are_still_not_speech() -> None:
    d = detector()
    assert feed(d, "x....x" + "." * 20) == []
    assert d.state is EndpointState.WAITING


def test_flickering_vad_at_onset_still_starts_speech() -> None:
    d = detector()
    results = feed(d, ".....x.x.x")
    assert len(results) == 1
    _, started = results[0]
    assert isinstance(started, SpeechStarted) and started.start == pytest.approx(0.15)


def test_voiced_frames_older_than_the_window_do_not_count() -> None:
    d = detector(speech_start=0.09, start_window=0.3)
    # two voiced frames, then 300 ms of silence pushes them out, then one more voiced frame
    assert feed(d, "xx" + "." * 10 + "x") == []
    assert d.state is EndpointState.WAITING


def test_pause_shorter_than_trailing_silence_does_not_end() -> None:
    d = detector()
    results = feed(d, "x" * 20 + "." * 19 + "x" * 20 + "." * 20)
    assert [type(r) for _, r in results] == [SpeechStarted, SpeechEnded]
    ended = results[1][1]
    assert isinstance(ended, SpeechEnded)
    assert ended.last_voiced_end == pytest.approx(59 * FRAME)
    assert ended.end == pytest.approx(79 * FRAME)


def test_pause_as_long_as_trailing_silence_ends() -> None:
    d = detector()
    results = feed(d, "x" * 20 + "." * 20 + "x" * 20)
    assert [type(r) for _, r in results] == [SpeechStarted, SpeechEnded]
    assert results[1][0] == pytest.approx(40 * FRAME)


def test_speech_that_never_ends_stops_at_max_length() -> None:
    d = detector(max_utterance=3.0)
    results = feed(d, "." * 10 + "x" * 400)
    assert [type(r) for _, r in results] == [SpeechStarted, SpeechEnded]
    t_end, ended = results[1]
    assert isinstance(ended, SpeechEnded) and ended.reason == "max_length"
    assert t_end == pytest.approx(0.30 + 3.0)  # measured from the start of speech, not from reset
    assert ended.last_voiced_end == pytest.approx(t_end)


def test_no_speech_times_out() -> None:
    d = detector(no_speech_timeout=2.1)
    results = feed(d, "." * 100)
    assert len(results) == 1
    t, result = results[0]
    assert isinstance(result, NoSpeech)
    assert t == pytest.approx(2.1) and result.waited == pytest.approx(2.1)  # the 70th frame, not the 71st
    assert d.state is EndpointState.DONE


def test_clicks_do_not_prevent_the_timeout() -> None:
    d = detector(no_speech_timeout=1.5)
    results = feed(d, ("x" + "." * 15) * 10)
    assert [type(r) for _, r in results] == [NoSpeech]


def test_speech_started_before_the_timeout_is_not_cut_by_it() -> None:
    d = detector(no_speech_timeout=1.0)
    results = feed(d, "." * 30 + "x" * 50 + "." * 20)
    assert [type(r) for _, r in results] == [SpeechStarted, SpeechEnded]
    assert results[1][1].reason == "silence"  # type: ignore[union-attr]


def test_done_ignores_frames_until_reset_and_reset_starts_over() -> None:
    d = detector()
    feed(d, "x" * 10 + "." * 20)
    assert d.state is EndpointState.DONE
    assert feed(d, "x" * 50) == []
    d.reset()
    assert d.state is EndpointState.WAITING and d.elapsed == 0.0
    assert d.speech_started_at is None and d.last_voiced_end is None
    results = feed(d, ".." + "x" * 5)
    assert isinstance(results[0][1], SpeechStarted) and results[0][1].start == pytest.approx(0.06)


@pytest.mark.parametrize("frame", [0.01, 0.02, 0.03])
def test_frame_size_does_not_change_the_timing(frame: float) -> None:
    d = detector()
    voiced = round(1.2 / frame)
    results = feed(d, "." * round(0.3 / frame) + "x" * voiced + "." * round(1.0 / frame), frame)
    ended = results[-1][1]
    assert isinstance(ended, SpeechEnded)
    assert ended.start == pytest.approx(0.3)
    assert ended.last_voiced_end == pytest.approx(1.5)
    assert ended.end == pytest.approx(2.1)


def test_from_settings_converts_milliseconds() -> None:
    d = EndpointDetector.from_settings(
        VadSettings(
            speech_start_ms=150, trailing_silence_ms=900, max_utterance_s=7.0, no_speech_timeout_s=3.0
        )
    )
    assert (d.speech_start, d.trailing_silence, d.max_utterance, d.no_speech_timeout) == (0.15, 0.9, 7.0, 3.0)
    assert feed(d, "xxxx") == []  # 120 ms is not yet 150 ms
    assert isinstance(feed(d, "x")[0][1], SpeechStarted)


@pytest.mark.parametrize(
    "kwargs",
    [dict(speech_start=0.0), dict(trailing_silence=-1.0), dict(speech_start=0.5, start_window=0.3)],
)
def test_invalid_durations_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        detector(**kwargs)


def test_a_frame_without_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        detector().process(True, 0.0)


# --- with webrtcvad on real speech ---


def test_webrtc_vad_and_endpoint_find_a_spoken_sentence(speech_dir: Path) -> None:
    """In noise from the first frame: a fresh webrtcvad would call the first 90 ms speech."""
    from speech import SpeechCache, add_noise, split

    from speaker.vad.webrtc import WebRtcVad

    audio = SpeechCache(speech_dir).piper("What is the capital of France?", lead=1.0, trail=1.5)
    audio = add_noise(audio, 30.0)
    vad = WebRtcVad(2)
    vad.load()
    d = detector(trailing_silence=0.6)
    results = []
    for frame in split(audio):
        if (result := d.process(vad.is_speech(frame), frame.duration)) is not None:
            results.append(result)
    assert [type(r) for r in results] == [SpeechStarted, SpeechEnded]
    ended = results[1]
    assert isinstance(ended, SpeechEnded) and ended.reason == "silence"
    assert 0.95 <= ended.start <= 1.3, ended
    speech_end = audio.duration - 1.5
    assert speech_end - 0.4 <= ended.last_voiced_end <= speech_end + 0.2, (ended, speech_end)


def test_webrtc_vad_refuses_frames_it_cannot_judge() -> None:
    from speaker.audio.chunk import AudioChunk, silence
    from speaker.errors import AudioError
    from speaker.vad.webrtc import WebRtcVad

    vad = WebRtcVad(3)
    assert vad.is_speech(silence(0.01)) is False
    assert vad.is_speech(silence(0.02)) is False
    with pytest.raises(AudioError, match="10, 20 or 30 ms"):
        vad.is_speech(silence(0.025))
    with pytest.raises(AudioError, match="16 kHz mono"):
        vad.is_speech(AudioChunk(8000, 2, 1, bytes(480)))
    with pytest.raises(ValueError, match="aggressiveness"):
        WebRtcVad(4)


def test_a_pause_is_reported_once_and_speech_after_it_resumes() -> None:
    d = detector(pause=0.25)
    results = feed(d, "x" * 20 + "." * 12 + "x" * 10 + "." * 20)
    kinds = [type(r) for _, r in results]
    assert kinds == [SpeechStarted, SpeechPaused, SpeechResumed, SpeechPaused, SpeechEnded]
    (t_pause, pause), (t_resume, _) = results[1], results[2]
    assert isinstance(pause, SpeechPaused) and pause.last_voiced_end == pytest.approx(20 * FRAME)
    assert t_pause == pytest.approx(29 * FRAME)  # the first frame with 250 ms of silence (9 x 30 ms = 270)
    assert t_resume == pytest.approx(33 * FRAME)
    assert results[4][1].last_voiced_end == pytest.approx(42 * FRAME)  # type: ignore[union-attr]


def test_without_pause_nothing_but_start_and_end_is_reported() -> None:
    results = feed(detector(), "x" * 20 + "." * 12 + "x" * 10 + "." * 20)
    assert [type(r) for _, r in results] == [SpeechStarted, SpeechEnded]


def test_pause_must_be_shorter_than_the_trailing_silence() -> None:
    with pytest.raises(ValueError, match="pause"):
        detector(pause=0.6)
    with pytest.raises(ValueError, match="prepare_after_ms"):
        VadSettings(prepare_after_ms=600)
    assert EndpointDetector.from_settings(VadSettings(prepare_after_ms=0)).pause is None
    assert EndpointDetector.from_settings(VadSettings()).pause == pytest.approx(0.2)

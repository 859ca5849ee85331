"""Barge-in and own-voice suppression without models: the reference timeline, the window, the loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from speaker.audio.chunk import RATE, AudioChunk
from speaker.audio.sources import Captured
from speaker.errors import ConfigError
from speaker.events import EventBus, EventLog
from speaker.pipeline.barge_in import TAIL_S, OwnVoice, PlaybackTap
from speaker.pipeline.listening import ListenResult
from speaker.pipeline.loop import VoiceLoop
from speaker.pipeline.turn import TurnResult
from speaker.settings import WakeSettings, load_settings
from speaker.wake.base import Detection

MARK = 1234  # a reference frame whose first sample is this "says the wake phrase"


def sound(seconds: float, *, mark_at: float | None = None, rate: int = RATE) -> AudioChunk:
    """Quiet audio at `rate`, with one 30 ms marked stretch starting `mark_at` seconds in."""
    samples = np.full(round(seconds * rate), 10, np.int16)
    if mark_at is not None:
        i = round(mark_at * rate)
        samples[i : i + round(0.03 * rate)] = MARK
    return AudioChunk(rate, 2, 1, samples.tobytes())


class MarkDetector:
    """Fires `delay_frames` after a marked frame (a real detector fires some frames late too)."""

    phrase = "hey computer"

    def __init__(self, delay_frames: int = 0) -> None:
        self.delay_frames = delay_frames
        self.frames: list[AudioChunk] = []
        self.resets = 0
        self._pending: tuple[float, int] | None = None
        self._in_mark = False

    def load(self) -> None:
        pass

    def process(self, frame: AudioChunk) -> Detection | None:
        self.frames.append(frame)
        marked = MARK in np.frombuffer(frame.audio, np.int16)
        if marked and not self._in_mark:  # a marked stretch split over two frames is one phrase
            self._pending = (frame.end, self.delay_frames)
        self._in_mark = marked
        if self._pending is None:
            return None
        end, wait = self._pending
        if wait > 0:
            self._pending = (end, wait - 1)
            return None
        self._pending = None
        return Detection(self.phrase, 20.0, end)

    def reset(self) -> None:
        self.resets += 1
        self._pending = None


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def own_voice(delay_frames: int = 0, now: float = 0.0) -> tuple[OwnVoice, MarkDetector, Clock]:
    detector, clock = MarkDetector(delay_frames), Clock(now)
    return OwnVoice(detector, clock), detector, clock


def mic(end: float) -> Detection:
    return Detection("hey computer", 25.0, end)


# --- OwnVoice: where the reference is placed, and the window ------------------------------------


def test_a_wake_within_the_window_of_the_reference_is_own_voice() -> None:
    voice, _, _ = own_voice(now=5.0)
    voice.played(sound(2.0, mark_at=1.0))  # heard from 5.0 s of input: the phrase ends at 6.03
    voice.catch_up(5.03)
    assert len(voice.heard) == 1 and voice.heard[0] == pytest.approx(6.03, abs=0.031)
    assert voice.is_own(mic(6.06))  # its echo, 30 ms later
    assert voice.is_own(mic(6.03 + 0.95)) and voice.is_own(mic(6.03 - 0.95))
    assert not voice.is_own(mic(6.03 + 1.1))  # the user, a moment after the reply said it
    assert not voice.is_own(mic(3.0))
    assert voice.suppressed == 3


def test_nothing_played_means_nothing_is_own_voice() -> None:
    voice, detector, _ = own_voice()
    voice.catch_up(10.0)
    assert not voice.is_own(mic(9.0)) and detector.frames == []


def test_the_window_is_configurable() -> None:
    detector, clock = MarkDetector(), Clock(0.0)
    voice = OwnVoice(detector, clock, window_s=0.2)
    voice.played(sound(1.0, mark_at=0.5))
    voice.catch_up(0.1)
    assert voice.is_own(mic(0.6)) and not voice.is_own(mic(0.9))


def test_audio_sent_while_playing_is_placed_after_what_is_queued() -> None:
    voice, _, clock = own_voice(now=2.0)
    voice.played(sound(1.0))
    clock.now = 2.2  # the sink took the next sentence before the first had been heard
    voice.played(sound(1.0, mark_at=0.5))  # so it is heard from 3.0, its phrase ending at 3.53
    voice.catch_up(2.25)
    assert voice.heard[0] == pytest.approx(3.53, abs=0.031)


def test_any_rate_is_resampled_to_16k_frames_on_the_input_timeline() -> None:
    voice, detector, _ = own_voice(now=1.0)
    voice.played(sound(1.0, mark_at=0.4, rate=22050))
    voice.catch_up(1.0)
    assert all(f.rate == RATE and f.samples == 480 for f in detector.frames)
    assert detector.frames[0].timestamp == pytest.approx(1.0)
    assert voice.heard[0] == pytest.approx(1.43, abs=0.035)


def test_a_phrase_at_the_very_end_completes_on_the_quiet_after_it() -> None:
    voice, _, clock = own_voice(delay_frames=5, now=0.0)
    voice.played(sound(1.0, mark_at=0.97))  # the detector needs 150 ms more before it fires
    voice.catch_up(0.03)
    assert not voice.heard
    clock.now = 1.3
    voice.catch_up(1.3)  # the microphone is at 1.3 s: the reference is fed quiet up to there
    assert voice.heard and voice.heard[0] == pytest.approx(1.0, abs=0.031)


def test_quiet_is_fed_only_for_a_while_after_playback() -> None:
    voice, detector, _ = own_voice()
    voice.played(sound(0.3))
    voice.catch_up(100.0)
    fed = sum(f.duration for f in detector.frames)
    assert fed == pytest.approx(0.3 + TAIL_S, abs=0.031)


def test_audio_cut_by_stop_is_never_heard() -> None:
    voice, detector, clock = own_voice(now=0.0)
    voice.played(sound(3.0, mark_at=2.0))
    clock.now = 0.5
    voice.stopped()  # barge-in at 0.5 s: the phrase at 2.0 s is never played
    voice.catch_up(3.0)
    assert not voice.heard
    assert sum(f.duration for f in detector.frames) <= 0.5 + TAIL_S + 0.031


def test_detections_the_reference_ran_ahead_to_are_dropped_at_stop() -> None:
    voice, _, clock = own_voice(now=0.0)
    voice.played(sound(3.0, mark_at=2.0))
    voice.catch_up(0.03)  # the whole queued reply is processed at once: its phrase is "heard"
    assert voice.heard
    clock.now = 1.0
    voice.stopped()
    assert not voice.heard and not voice.is_own(mic(2.0))


def test_a_new_reply_after_a_long_quiet_restarts_the_reference_detector() -> None:
    voice, detector, clock = own_voice(now=0.0)
    voice.played(sound(0.5))
    voice.catch_up(0.5)
    clock.now = 30.0
    voice.played(sound(0.5, mark_at=0.2))
    resets = detector.resets
    voice.catch_up(30.0)
    assert detector.resets == resets + 1
    assert voice.heard[0] == pytest.approx(30.23, abs=0.031)


class RecordingSink:
    description = "recording"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def open(self) -> None:
        self.calls.append("open")

    def play(self, chunk: AudioChunk) -> None:
        self.calls.append("play")

    def end_reply(self) -> None:
        self.calls.append("end_reply")

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


def test_the_tap_shows_the_reference_every_chunk_and_every_stop() -> None:
    voice, _, clock = own_voice(now=0.0)
    inner = RecordingSink()
    tap = PlaybackTap(inner, voice)
    tap.open()
    tap.play(sound(1.0, mark_at=0.5))
    clock.now = 0.2
    tap.stop()
    tap.end_reply()
    tap.close()
    assert inner.calls == ["open", "play", "stop", "end_reply", "close"]
    voice.catch_up(1.0)
    assert not voice.heard  # the stop reached the reference too


# --- settings ------------------------------------------------------------------------------


def test_barge_in_is_the_default_and_mute_and_listen_still_load(tmp_path: Path) -> None:
    assert load_settings().wake.during_playback == "barge_in"
    assert WakeSettings().during_playback == "barge_in"
    for value in ("mute", "listen", "barge_in"):
        path = tmp_path / f"{value}.yaml"
        path.write_text(f"wake:\n  during_playback: {value}\n", encoding="utf-8")
        assert load_settings(path).wake.during_playback == value


@pytest.mark.parametrize(
    ("text", "key"),
    [("during_playback: interrupt", "during_playback"), ("own_voice_window_s: 0", "own_voice_window_s")],
)
def test_bad_barge_in_settings_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"wake:\n  {text}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=key):
        load_settings(path)


# --- the loop, with fakes: a reply is interrupted by the wake word, not by its own voice ---------


class TimedWake:
    """Fires on the frame that contains each of `times` (input audio seconds)."""

    phrase = "hey computer"

    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def load(self) -> None:
        pass

    def process(self, frame: AudioChunk) -> Detection | None:
        if self.times and frame.timestamp <= self.times[0] < frame.end:
            return Detection(self.phrase, 30.0, self.times.pop(0))
        return None

    def reset(self) -> None:
        pass


class ScriptedListener:
    """Every request is heard after 10 frames; its text comes from `texts`."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.starts: list[float] = []
        self._frames = 0

    def start(self, audio_time: float, **_: object) -> None:
        self.starts.append(audio_time)
        self._frames = 0

    def observe(self, frame: AudioChunk) -> None:
        pass

    def feed(self, frame: AudioChunk, arrived: float) -> ListenResult:
        self._frames += 1
        return ListenResult(started=self._frames == 1, ended=self._frames >= 10, reason="silence")

    def finish(self) -> str:
        return self.texts.pop(0)

    def cancel(self) -> None:
        pass

    def end_of_input(self) -> ListenResult | None:
        return None


class LongReplies:
    """A responder whose "story" reply plays until interrupted (or 1.5 s); anything else is instant."""

    def __init__(self) -> None:
        self.heard: list[str] = []
        self.results: list[TurnResult] = []
        self._stop = threading.Event()

    def respond(
        self, transcript: str, *, endpoint: float | None = None, prepared: object = None
    ) -> TurnResult:
        assert prepared is None  # the scripted listener never pauses
        self._stop.clear()
        self.heard.append(transcript)
        result = TurnResult(transcript=transcript, reply="once upon a time", audio_seconds=10.0)
        if transcript == "story":
            result.interrupted = self._stop.wait(1.5)
        self.results.append(result)
        return result

    def interrupt(self) -> None:
        self._stop.set()


class FastLiveSource:
    """Marked realtime (so turns run beside the loop) but delivered as fast as the loop takes it."""

    realtime = True
    description = "fake live source"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def open(self) -> None:
        pass

    def read(self) -> Iterator[Captured]:
        for i in range(round(self.seconds / 0.03)):
            yield Captured(AudioChunk(RATE, 2, 1, bytes(960), i * 0.03), 0.0)

    def close(self) -> None:
        pass


def run_loop(wake: TimedWake, own: OwnVoice | None, mode: str = "barge_in") -> tuple[LongReplies, EventLog]:
    from speaker.pipeline.loop import run_on

    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    responder = LongReplies()
    loop = VoiceLoop(
        wake=wake,
        listener=ScriptedListener("story", "stop"),  # type: ignore[arg-type]
        responder=responder,  # type: ignore[arg-type]
        bus=bus,
        wake_settings=WakeSettings(during_playback=mode),  # type: ignore[arg-type]
        own_voice=own,
    )
    run_on(loop, FastLiveSource(6.0))
    return responder, log


def test_the_wake_word_over_a_reply_interrupts_it_and_the_request_after_it_is_heard() -> None:
    responder, log = run_loop(TimedWake(1.0, 3.0), None)
    assert responder.heard == ["story", "stop"]
    assert responder.results[0].interrupted
    names = [e.name for e in log.events]
    assert names.count("wake") == 2 and names.count("barge_in") == 1
    assert names.index("barge_in") < len(names) - names[::-1].index("wake") - 1
    barge = log.named("barge_in")[0]
    assert barge.phrase == "hey computer" and barge.reply_seconds > 0


def test_the_wake_word_in_its_own_reply_does_not_interrupt_it() -> None:
    voice, _, _ = own_voice()
    voice.heard.append(3.02)  # the playback reference said the phrase, ending 20 ms before the mic's
    responder, log = run_loop(TimedWake(1.0, 3.0), voice)
    assert responder.heard == ["story"]
    assert not responder.results[0].interrupted  # it played to its end
    names = [e.name for e in log.events]
    assert "barge_in" not in names and names.count("wake") == 1
    ignored = log.named("own_voice")
    assert len(ignored) == 1 and ignored[0].count == 1 and voice.suppressed == 1


def test_with_mute_nothing_is_listened_to_while_the_speaker_talks() -> None:
    responder, log = run_loop(TimedWake(1.0, 3.0), None, mode="mute")
    assert responder.heard == ["story"] and not responder.results[0].interrupted
    assert [e.name for e in log.events].count("wake") == 1

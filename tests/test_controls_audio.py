"""Volume, microphone mute and ringing timers, on real audio: the wake word, piper, a WAV file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from speech import SpeechCache, require_model, split

from speaker.announce import Announcer, chime
from speaker.audio.chunk import AudioChunk
from speaker.audio.sinks import WavFileSink
from speaker.audio.volume import VolumeSink
from speaker.audio.wavfile import read_chunks, read_mono16k
from speaker.controls import Controls, MutedWakeWord
from speaker.events import EventBus, IntentMatched, TurnDone, Wake
from speaker.settings import ControlsSettings
from speaker.timers import TimerService
from speaker.tts.piper import PiperSynthesizer
from speaker.wake.pocketsphinx import PocketsphinxWakeWord

pytestmark = pytest.mark.slow


def test_muted_microphone_hears_no_wake_word(speech_dir: Path, tmp_path: Path) -> None:
    audio = SpeechCache(speech_dir).piper("Hey computer.", lead=1.0, trail=0.5)
    controls = Controls(ControlsSettings(), state_file=None)
    wake = MutedWakeWord(PocketsphinxWakeWord(require_model("SPEAKER_TEST_PS_MODEL")), controls)
    wake.load()
    controls.set_muted(True, "test")
    assert [d for f in split(audio) if (d := wake.process(f))] == []
    controls.set_muted(False, "test")
    wake.reset()
    assert len([d for f in split(audio) if (d := wake.process(f))]) == 1  # the same words, heard now


def test_volume_scales_what_the_speaker_plays(tts: PiperSynthesizer, tmp_path: Path) -> None:
    reply = AudioChunk.from_array(np.concatenate([c.array()[:, 0] for c in tts.synthesize("Hello there.")]),
                                  tts.sample_rate)  # fmt: skip
    controls = Controls(ControlsSettings(volume=100), state_file=None)
    results = {}
    for level in (100, 50, 0):
        controls.set_volume(level, "test")
        sink = VolumeSink(WavFileSink(tmp_path / f"{level}.wav"), controls.gain)
        sink.open()
        sink.play(reply)
        sink.end_reply()
        sink.close()
        _, chunks = read_chunks(tmp_path / f"{level}.wav")  # as written, no resampling
        results[level] = float(np.sqrt(np.mean(np.concatenate([c.array()[:, 0] for c in chunks]) ** 2.0)))
    assert results[100] > 1000
    assert abs(results[50] / results[100] - 0.25) < 0.02  # 50 % is a quarter of the amplitude
    assert results[0] == 0.0


def test_a_timer_rings_out_loud_until_stopped(tts: PiperSynthesizer, tmp_path: Path) -> None:
    out = tmp_path / "ring.wav"
    sink = WavFileSink(out)
    sink.open()
    bus = EventBus()
    announcer = Announcer(tts, sink, bus, repeats=3, pause_s=0.2)
    announcer.start()
    timers = TimerService(lambda timer: announcer.announce(f"Your {timer.label} timer is done."))
    try:
        bus.emit(Wake(phrase="hey computer"))  # a turn is in progress: the ring waits for it
        timers.add(0.2, "one second")
        time.sleep(0.8)
        assert not out.exists() or read_mono16k(out).duration == 0.0
        bus.emit(TurnDone(reply="It's noon."))
        assert announcer.drain(30)
    finally:
        announcer.close()
        timers.close()
        sink.close()
    once = chime().duration + sum(c.duration for c in tts.synthesize("Your one second timer is done."))
    rang = read_mono16k(out).duration
    assert rang > 2.5 * once, (rang, once)  # chime and words, three times


def test_saying_stop_silences_a_ringing_timer(tts: PiperSynthesizer, tmp_path: Path) -> None:
    out = tmp_path / "stopped.wav"
    playing = threading.Event()
    sink = VolumeSink(WavFileSink(out, paced=True), lambda: playing.set() or 1.0)  # paced: takes real time
    sink.open()
    bus = EventBus()
    announcer = Announcer(tts, sink, bus, repeats=5, pause_s=0.3)
    announcer.start()
    try:
        announcer.announce("Your ten minute timer is done.")
        assert playing.wait(20)
        time.sleep(0.5)
        bus.emit(IntentMatched(intent="stop", skill="control"))
        assert announcer.drain(5)
    finally:
        announcer.close()
        sink.close()
    once = chime().duration + sum(c.duration for c in tts.synthesize("Your ten minute timer is done."))
    assert 0.3 < read_mono16k(out).duration < 1.5 * once  # the first round at most, not five

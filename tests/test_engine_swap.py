"""Engines replaced between turns (a model update) keep what the running speaker gave the old ones:
the microphone mute around the wake word, the home's device names in the recognizer's grammar,
the volume of the replies and the voice of timer announcements. Real engines, swapped through
EngineSwap, the way over-the-air updates do it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from speech import SpeechCache, split

from speaker.app import Speaker, build_speaker
from speaker.audio.chunk import AudioChunk
from speaker.audio.sources import WavFileSource
from speaker.audio.wavfile import write_wav
from speaker.controls import MutedWakeWord
from speaker.engines import build_engine
from speaker.events import EventLog, TurnDone, Wake
from speaker.home.devices import Command, Device
from speaker.models import ModelStore
from speaker.pipeline.loop import run_on
from speaker.pipeline.swap import EngineSwap
from speaker.settings import Settings, load_settings

pytestmark = pytest.mark.slow

DEVICES = Path(__file__).resolve().parent / "data" / "devices.yaml"


class RecordingSink:
    """The loudspeaker: keeps every chunk it is given, per reply."""

    description = "test recorder"

    def __init__(self) -> None:
        self.replies: list[list[AudioChunk]] = [[]]

    def open(self) -> None: ...

    def play(self, chunk: AudioChunk) -> None:
        self.replies[-1].append(chunk)

    def end_reply(self) -> None:
        self.replies.append([])

    def stop(self) -> None: ...

    def close(self) -> None: ...

    def last_rms(self) -> float:
        played = [r for r in self.replies if r][-1]
        samples = np.concatenate([np.frombuffer(c.audio, dtype="<i2").astype(np.float64) for c in played])
        return float(np.sqrt(np.mean(samples**2)))


@dataclasses.dataclass
class Swapping:
    speaker: Speaker
    settings: Settings
    sink: RecordingSink
    swap: EngineSwap
    log: EventLog


@pytest.fixture(scope="module")
def live(store: ModelStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swapping]:
    tmp = tmp_path_factory.mktemp("swap")
    base = load_settings()
    settings = dataclasses.replace(
        base,
        home=dataclasses.replace(base.home, devices_file=DEVICES),
        controls=dataclasses.replace(base.controls, state_file=tmp / "controls.json", volume=100),
        mqtt=dataclasses.replace(base.mqtt, url=None, host=None),
    )
    sink = RecordingSink()
    speaker = build_speaker(settings, sink, listen=True)
    log = EventLog()
    speaker.bus.subscribe(log)
    assert speaker.loop is not None
    yield Swapping(speaker, settings, sink, EngineSwap(speaker.loop), log)
    speaker.close()


def swap_in(live: Swapping, stage: str, engine: Any) -> Any:
    """Offer `engine` as a model update does and let the idle loop take it; the engine it replaced."""
    replaced: list[Any] = []
    live.swap.offer(stage, engine, replaced.append)
    live.swap()  # the loop's tick hook, between turns
    assert replaced, f"the idle loop did not take the new {stage} engine"
    return replaced[0]


def fresh(live: Swapping, stage: str) -> Any:
    """A new engine built from the plain settings, as the updater builds it from a new slot."""
    engine = build_engine(live.settings, live.speaker.store, stage)
    engine.load()
    return engine


def wakes(live: Swapping, wav: Path) -> int:
    mark = len(live.log.events)
    run_on(live.speaker.loop, WavFileSource(wav))  # type: ignore[arg-type]
    return len([e for e in live.log.events[mark:] if isinstance(e, Wake)])


def test_a_new_wake_word_engine_still_honours_the_microphone_mute(
    live: Swapping, speech_dir: Path, tmp_path: Path
) -> None:
    loop, controls = live.speaker.loop, live.speaker.services.controls
    assert loop is not None
    original = loop.engine("wake")
    new = fresh(live, "wake")
    assert swap_in(live, "wake", new) is original  # the bare engine: what a rollback offers back
    assert isinstance(loop.wake, MutedWakeWord) and loop.engine("wake") is new
    wav = tmp_path / "wake.wav"
    write_wav(wav, SpeechCache(speech_dir).piper("Hey computer, what time is it?", lead=1.0, trail=2.0))
    controls.set_muted(True, "test")
    try:
        assert wakes(live, wav) == 0, "the swapped wake word heard a muted microphone"
    finally:
        controls.set_muted(False, "test")
    assert wakes(live, wav) == 1  # it does hear when the microphone is on
    done = [e for e in live.log.events if isinstance(e, TurnDone)]
    assert done and done[-1].reply.startswith("It's"), done

    # a rollback offers the old engine back: it goes inside the same mute, not into a second one
    assert swap_in(live, "wake", original) is new
    assert isinstance(loop.wake, MutedWakeWord) and loop.wake.inner is original


def test_a_new_recognizer_keeps_the_device_names_and_follows_new_devices(
    live: Swapping, speech_dir: Path
) -> None:
    loop, services = live.speaker.loop, live.speaker.services
    assert loop is not None
    old = loop.engine("asr")
    assert "turn off the kitchen light" in old.grammar  # from devices.yaml, given at start
    new = fresh(live, "asr")
    assert "turn off the kitchen light" not in new.grammar  # the plain settings know no devices
    swap_in(live, "asr", new)
    assert loop.engine("asr") is new and loop.listener.asr is new
    assert set(new.grammar) == set(old.grammar)  # carried over before it heard anything

    # a device imported while it runs reaches the new recognizer (not the one it replaced)
    on_off = {"on": Command("z/desk/set", "ON"), "off": Command("z/desk/set", "OFF")}
    services.registry.put_imported(
        Device("z2m_desk", "desk lamp", "light", commands=on_off, source="zigbee2mqtt")
    )
    deadline = time.monotonic() + 30
    while "turn off the desk lamp" not in new.grammar and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "turn off the desk lamp" in new.grammar
    assert "turn off the desk lamp" not in old.grammar
    stream = new.start()
    for frame in split(SpeechCache(speech_dir).piper("Turn off the desk lamp.", lead=0.3, trail=0.6)):
        stream.accept(frame)
    assert stream.finish() == "turn off the desk lamp"


def test_a_new_voice_plays_at_the_volume_set_and_rings_the_timers(live: Swapping) -> None:
    responder, services = live.speaker.responder, live.speaker.services
    controls = services.controls
    new = fresh(live, "tts")
    swap_in(live, "tts", new)
    assert responder.tts is new
    assert services.announcer is not None and services.announcer.tts is new
    controls.set_volume(100, "test")
    loud = responder.respond("what time is it")
    assert loud.reply.startswith("It's") and loud.audio_seconds > 0.5
    full = live.sink.last_rms()
    controls.set_volume(30, "test")
    try:
        quiet = responder.respond("what time is it")
        assert quiet.audio_seconds > 0.5
        ratio = live.sink.last_rms() / full
    finally:
        controls.set_volume(100, "test")
    assert 0.05 < ratio < 0.15, ratio  # 30 % volume is a gain of 0.09 (squared, see controls.py)

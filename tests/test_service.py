"""Running under systemd: READY/STATUS/WATCHDOG to a real notify socket, from the real loop.

systemd itself is not here; its notify socket is (tests/notify_socket.py: a unix datagram socket
that records what it got). The microphone is the one fake (tests/fake_mic.py); the loop, its
engines and models are the real ones.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fake_mic import FakeMicrophone
from notify_socket import NotifySocket, longest_gap

from speaker.app import Speaker, build_speaker
from speaker.audio.chunk import AudioChunk
from speaker.audio.sinks import NullSink
from speaker.audio.sources import MicrophoneSource
from speaker.audio.wavfile import write_wav
from speaker.cli import main
from speaker.events import EventBus, EventLog, Ready
from speaker.models import ModelStore
from speaker.pipeline.loop import run_on
from speaker.service import ServiceStatus, SystemdNotifier, attach
from speaker.settings import ServiceSettings, load_settings
from speaker.speechgen import PiperSpeech, pad
from speaker.wake.base import Detection

WATCHDOG_USEC = 1_500_000  # systemd's WatchdogSec for these tests: 1.5 s, so pings every 0.5 s


@pytest.fixture
def sock() -> Iterator[NotifySocket]:
    s = NotifySocket()
    yield s
    s.close()


# -- the protocol --------------------------------------------------------------------------------


def test_ready_status_watchdog_and_stopping_reach_the_socket(sock: NotifySocket) -> None:
    env = {"NOTIFY_SOCKET": sock.address, "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = SystemdNotifier.from_environ(env)
    assert notifier.enabled and notifier.watchdog_interval == 3.0
    assert notifier.ready("listening")
    assert notifier.status("updating llm 42%\nsecond line")
    assert notifier.watchdog()
    assert notifier.stopping("stopping")
    sock.wait_for(lambda m: "STOPPING" in m.fields)
    assert [m.text for m in sock.snapshot()] == [
        "READY=1\nSTATUS=listening",
        "STATUS=updating llm 42% second line",  # STATUS is one line: a newline would start a new key
        "WATCHDOG=1",
        "STOPPING=1\nSTATUS=stopping",
    ]
    notifier.close()


def test_abstract_socket_names_work() -> None:
    sock = NotifySocket(abstract=True)
    try:
        assert sock.address.startswith("@")
        notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": sock.address})
        assert notifier.ready()
        assert sock.wait_for(lambda m: True).text == "READY=1"
        assert notifier.watchdog_interval is None  # no WATCHDOG_USEC: no watchdog
    finally:
        sock.close()


def test_outside_systemd_nothing_is_sent_and_children_do_not_inherit_the_socket() -> None:
    notifier = SystemdNotifier.from_environ({})
    assert not notifier.enabled and not notifier.ready() and not notifier.watchdog()
    other = {"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}
    assert SystemdNotifier.from_environ(other).watchdog_interval is None  # that watchdog is pid 1's
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid()), "A": "b"}
    assert SystemdNotifier.from_environ(env, unset=True).watchdog_interval == 30.0
    assert env == {"A": "b"}
    assert not SystemdNotifier.from_environ({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled


def test_a_vanished_socket_is_warned_about_once_and_the_speaker_goes_on(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    notifier = SystemdNotifier(str(tmp_path / "gone"))
    with caplog.at_level(logging.WARNING, logger="speaker.service.notify"):
        assert not notifier.watchdog()
        assert not notifier.watchdog()
    assert len([r for r in caplog.records if "cannot notify systemd" in r.getMessage()]) == 1


# -- the real loop --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speaker(store: ModelStore) -> Iterator[Speaker]:
    built = build_speaker(load_settings(), NullSink(), listen=True, bus=EventBus())
    yield built
    built.close()


@pytest.fixture(scope="module")
def question(store: ModelStore) -> AudioChunk:
    voice = PiperSpeech(store.require("piper-en-us-joe-medium").main)
    return pad(voice.say("Hey computer. What time is it?"), lead=0.3, trail=1.5)


class Running:
    """The speaker's loop on a microphone, in a thread, wired to a notify socket like `speaker run`."""

    def __init__(self, speaker: Speaker, mic: FakeMicrophone, address: str, max_turn_s: float = 120.0):
        self.speaker = speaker
        self.events = EventLog()
        self._unsubscribe = speaker.bus.subscribe(self.events)
        self.source = MicrophoneSource(
            backend=mic, bus=speaker.bus, reopen_interval_s=0.3, stall_timeout_s=0.6
        )
        self.notifier = SystemdNotifier(address, watchdog_usec=WATCHDOG_USEC)
        self._detach = attach(
            speaker.loop,
            speaker.bus,
            self.notifier,
            ServiceSettings(max_turn_s=max_turn_s),
            wake_phrase="hey computer",
        )
        self.thread = threading.Thread(target=run_on, args=(speaker.loop, self.source), daemon=True)
        self.thread.start()

    def wait_for_event(self, name: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not self.events.named(name):
            assert time.monotonic() < end, f"no {name} event; got {[e.name for e in self.events.events]}"
            time.sleep(0.05)

    def stop(self) -> float:
        self.speaker.loop.stop()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "the loop did not stop"
        stopped = time.monotonic()
        self._detach()
        self._unsubscribe()
        self.notifier.close()
        return stopped


def quiet_mic() -> FakeMicrophone:
    """A two-channel 48 kHz USB microphone in a quiet room (a faint hum)."""
    return FakeMicrophone(rate=48000, channels=2, tones=[120.0, 120.0], level=0.002)


@pytest.mark.slow
def test_ready_status_and_watchdog_while_the_microphone_goes_away_and_comes_back(
    speaker: Speaker, question: AudioChunk, sock: NotifySocket
) -> None:
    mic = quiet_mic()
    run = Running(speaker, mic, sock.address)
    try:
        ready = sock.wait_for(lambda m: m.fields.get("READY") == "1", timeout=20)
        assert ready.fields["STATUS"] == (
            "listening for 'hey computer' on microphone 'USB PnP Audio Device' (48000 Hz, 2 ch)"
        )
        time.sleep(1.0)
        unplugged = time.monotonic()
        mic.unplug("stall")
        sock.wait_for(
            lambda m: m.fields.get("STATUS", "").startswith("waiting for microphone"), since=unplugged
        )
        time.sleep(1.5)  # longer than WatchdogSec: the loop must be seen alive all along
        mic.plug()
        sock.wait_for(lambda m: m.fields.get("STATUS", "").startswith("listening for"), since=unplugged)
        mic.say(question)  # the microphone is back and the speaker answers, with no restart
        run.wait_for_event("turn_done")
        sock.wait_for(lambda m: "(1 turn so far)" in m.fields.get("STATUS", ""))
    finally:
        stopped = run.stop()

    names = [e.name for e in run.events.events]
    assert names.index("device_lost") < names.index("device_back") < names.index("wake")
    assert run.events.named("turn_done")[0].reply.startswith("It's")  # the clock skill answered
    statuses = sock.statuses()
    lost = next(s for s in statuses if s.startswith("waiting for microphone"))
    assert "USB PnP Audio Device" in lost and "no audio for" in lost
    assert statuses.index(lost) < statuses.index("listening to a request") < statuses.index("answering")
    pings = [m.at for m in sock.with_field("WATCHDOG")]
    assert longest_gap(pings, ready.at, stopped) < WATCHDOG_USEC / 1e6  # never overdue, device or not


class HangingWake:
    """The real wake word engine, made to hang on purpose (as a stuck engine or driver call would)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.phrase = inner.phrase
        self.hang = threading.Event()
        self.release = threading.Event()

    def load(self) -> None:
        self.inner.load()

    def process(self, frame: AudioChunk) -> Detection | None:
        if self.hang.is_set():
            self.release.wait()
        return self.inner.process(frame)

    def reset(self) -> None:
        self.inner.reset()


@pytest.mark.slow
def test_a_loop_stalled_on_purpose_stops_pinging(speaker: Speaker, sock: NotifySocket) -> None:
    real = speaker.loop.wake
    speaker.loop.wake = hanging = HangingWake(real)
    run = Running(speaker, quiet_mic(), sock.address)
    try:
        ready = sock.wait_for(lambda m: m.fields.get("READY") == "1", timeout=20)
        time.sleep(1.2)
        hung_at = time.monotonic()
        hanging.hang.set()
        time.sleep(3.0)  # twice WatchdogSec: systemd would have killed and restarted it by now
        released_at = time.monotonic()
        hanging.release.set()
        hanging.hang.clear()
        sock.wait_for(lambda m: "WATCHDOG" in m.fields, since=released_at, timeout=5)
    finally:
        run.stop()
        speaker.loop.wake = real
    pings = [m.at for m in sock.with_field("WATCHDOG")]
    assert len([t for t in pings if ready.at <= t < hung_at]) >= 2
    assert longest_gap(pings, ready.at, hung_at) < WATCHDOG_USEC / 1e6
    # one chunk may have been past the engine when it hung; after that, silence
    assert not [t for t in pings if hung_at + 0.1 < t < released_at]


class StuckSpeaker:
    """A playback device whose write never returns (the ALSA hang): the turn cannot finish."""

    description = "stuck speaker"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.played = 0

    def open(self) -> None:
        pass

    def play(self, chunk: AudioChunk) -> None:
        self.played += 1
        self.release.wait()

    def end_reply(self) -> None:
        pass

    def stop(self) -> None:
        self.release.set()

    def close(self) -> None:
        pass


@pytest.mark.slow
def test_a_turn_that_never_finishes_stops_the_pings(
    speaker: Speaker, question: AudioChunk, sock: NotifySocket
) -> None:
    sink, stuck = speaker.responder.sink, StuckSpeaker()
    speaker.responder.sink = stuck
    mic = quiet_mic()
    run = Running(speaker, mic, sock.address, max_turn_s=1.0)
    try:
        sock.wait_for(lambda m: m.fields.get("READY") == "1", timeout=20)
        mic.say(question)
        hung = sock.wait_for(lambda m: m.fields.get("STATUS", "").startswith("hung: a turn"), timeout=60)
        time.sleep(2.0)
        released_at = time.monotonic()
        stuck.release.set()  # the device comes unstuck: the turn ends and the pings come back
        sock.wait_for(lambda m: "WATCHDOG" in m.fields, since=released_at, timeout=10)
    finally:
        run.stop()
        speaker.responder.sink = sink
    assert stuck.played >= 1
    pings = [m.at for m in sock.with_field("WATCHDOG")]
    assert not [t for t in pings if hung.at < t < released_at]


# -- `speaker run` under systemd --------------------------------------------------------------------


@pytest.mark.slow
def test_speaker_run_tells_systemd_what_it_does(
    tmp_path: Path, sock: NotifySocket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    noise = np.random.default_rng(3).normal(0, 60, 16000 * 3).astype(np.int16)
    wav = tmp_path / "quiet.wav"
    write_wav(wav, AudioChunk.from_array(noise, 16000))
    monkeypatch.setenv("NOTIFY_SOCKET", sock.address)
    monkeypatch.setenv("WATCHDOG_USEC", "600000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    code = main(["run", "--input", str(wav), "--realtime", "--output", str(tmp_path / "out.wav")])
    assert code == 0, capsys.readouterr().err
    assert "NOTIFY_SOCKET" not in os.environ  # model health checks and tools must not speak for us
    sock.wait_for(lambda m: "STOPPING" in m.fields)
    messages = sock.snapshot()
    assert messages[0].text == "STATUS=loading models"
    ready = [i for i, m in enumerate(messages) if m.fields.get("READY") == "1"]
    assert len(ready) == 1
    assert messages[ready[0]].fields["STATUS"] == f"listening for 'hey computer' on file {wav}"
    pings = [m for m in messages[ready[0] :] if m.text == "WATCHDOG=1"]
    assert len(pings) >= 6  # 3 s of audio, a ping every 0.2 s
    assert messages[-1].text == "STOPPING=1\nSTATUS=stopping"


def test_ready_while_the_microphone_is_not_there_yet_says_what_it_waits_for(sock: NotifySocket) -> None:
    bus = EventBus()
    bus.subscribe(ServiceStatus(SystemdNotifier(sock.address), wake_phrase="hey computer"))
    mic = FakeMicrophone()
    mic.unplug()
    source = MicrophoneSource("usb", backend=mic, bus=bus, wait_for_device=True, reopen_interval_s=0.2)
    source.open()  # at boot, before the USB microphone shows up
    bus.emit(Ready(input=source.description))  # what the loop says when it starts on that source
    ready = sock.wait_for(lambda m: "READY" in m.fields)
    assert ready.fields["STATUS"] == "waiting for microphone 'usb': no input device matches 'usb'"
    mic.plug()
    for captured in source.read():
        if captured.chunk.audio:
            break
    source.close()
    back = sock.wait_for(lambda m: m.fields.get("STATUS", "").startswith("listening"))
    assert back.fields["STATUS"] == (
        "listening for 'hey computer' on microphone 'USB PnP Audio Device' (48000 Hz, 2 ch)"
    )

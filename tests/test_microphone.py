"""A microphone that disappears (USB unplugged) is waited for and reopened, with no restart.

The hardware is the one fake here (tests/fake_mic.py, a capture backend that can be unplugged);
the source, its conversion, its events and its heartbeats are the real ones.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fake_mic import FakeMicrophone

from speaker.audio.capture import SoundDeviceCapture
from speaker.audio.chunk import AudioChunk
from speaker.audio.sources import HEARTBEAT_S, Captured, MicrophoneSource
from speaker.errors import AudioError
from speaker.events import EventBus, EventLog


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def later(seconds: float, action) -> threading.Timer:  # type: ignore[no-untyped-def]
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
    return timer


def read_for(source: MicrophoneSource, seconds: float) -> list[tuple[float, Captured]]:
    """Everything the source yields for `seconds`, with when it came."""
    out: list[tuple[float, Captured]] = []
    end = time.monotonic() + seconds
    for captured in source.read():
        out.append((time.monotonic(), captured))
        if time.monotonic() >= end:
            break
    return out


def joined(items: list[tuple[float, Captured]]) -> np.ndarray:
    return np.frombuffer(b"".join(c.chunk.audio for _, c in items), dtype="<i2")


@pytest.mark.parametrize(("how", "reason"), [("stall", "no audio for"), ("error", "device disconnected")])
def test_unplugged_microphone_is_waited_for_and_reopened(how: str, reason: str) -> None:
    mic = FakeMicrophone(rate=48000, channels=2, tones=[1000.0, 1000.0], level=0.3)
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    source = MicrophoneSource(backend=mic, bus=bus, reopen_interval_s=0.2, stall_timeout_s=0.5)
    source.open()
    unplugged_at: list[float] = []
    later(0.6, lambda: (unplugged_at.append(time.monotonic()), mic.unplug(how)))
    later(2.0, mic.plug)
    try:
        items = read_for(source, 3.2)
    finally:
        source.close()

    assert [e.name for e in log.events] == ["device_lost", "device_back"]
    lost, back = log.events
    assert lost.kind == "input" and "USB PnP Audio Device" in lost.device and reason in lost.reason
    assert back.kind == "input" and 0.3 < back.down_seconds < 2.0
    assert mic.opens == 2 and mic.failed_opens >= 1  # it kept trying while the device was away

    # The loop above was never left waiting: something (audio or a heartbeat) came all along.
    times = [t for t, _ in items]
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) < HEARTBEAT_S + 0.3
    gap = [c for t, c in items if unplugged_at[0] + 0.1 < t < unplugged_at[0] + 1.2]
    assert gap and all(not c.chunk.audio for c in gap)  # heartbeats while it was away

    # Stream time goes on across the gap, and the audio after it is the same microphone's.
    audio = [c.chunk for _, c in items if c.chunk.audio]
    stamps = [c.timestamp for c in audio]
    assert stamps == sorted(stamps)
    for a, b in zip(audio, audio[1:], strict=False):
        assert b.timestamp == pytest.approx(a.end, abs=0.01)
    after = [(t, c) for t, c in items if t > unplugged_at[0] + 1.6 and c.chunk.audio]
    assert sum(c.chunk.duration for _, c in after) > 0.5
    assert abs(dominant_frequency(joined(after), 16000) - 1000) < 5


def test_a_microphone_missing_at_start_fails_clearly_unless_waited_for() -> None:
    mic = FakeMicrophone()
    mic.unplug()
    with pytest.raises(AudioError, match="no input device matches 'usb'"):
        MicrophoneSource("usb", backend=mic).open()

    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    source = MicrophoneSource("usb", backend=mic, bus=bus, wait_for_device=True, reopen_interval_s=0.2)
    source.open()  # no error: the service starts and waits for its microphone
    assert source.lost and [e.name for e in log.events] == ["device_lost"]
    later(0.5, mic.plug)
    try:
        items = read_for(source, 1.5)
    finally:
        source.close()
    assert [e.name for e in log.events] == ["device_lost", "device_back"]
    assert not source.lost and sum(c.chunk.duration for _, c in items) > 0.5


def test_stop_is_noticed_while_waiting_for_a_device() -> None:
    mic = FakeMicrophone()
    mic.unplug()
    source = MicrophoneSource(backend=mic, wait_for_device=True, reopen_interval_s=5.0)
    source.open()
    started = time.monotonic()
    for n, captured in enumerate(source.read()):
        assert not captured.chunk.audio
        if n == 1:  # what the loop does when stop() was called: it leaves after this chunk
            break
    source.close()
    assert time.monotonic() - started < 2 * HEARTBEAT_S + 0.5  # heartbeats, not a 5 s wait


def test_portaudio_backend_on_a_machine_without_a_microphone(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """The real PortAudio backend here, where there is no capture device at all."""
    cards = tmp_path / "cards"
    cards.write_text(" 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n")
    backend = SoundDeviceCapture(cards_file=cards)
    source = MicrophoneSource("usb", backend=backend)
    with pytest.raises(AudioError, match="no microphone found"):
        source.open()
    # A card appears (a USB microphone plugged in): PortAudio's list is read again, once.
    cards.write_text(cards.read_text() + " 1 [Device         ]: USB-Audio - USB PnP Sound Device\n")
    with caplog.at_level(logging.INFO, logger="speaker.audio.capture"):
        with pytest.raises(AudioError, match="no microphone found"):
            source.open()
        with pytest.raises(AudioError, match="no microphone found"):
            source.open()
    assert [r.getMessage() for r in caplog.records].count(
        "the sound cards changed; re-reading the device list"
    ) == 1

    # Waiting for it through the real backend: the source stays alive, heartbeat after heartbeat.
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    waiting = MicrophoneSource("usb", backend=backend, bus=bus, wait_for_device=True, reopen_interval_s=0.3)
    waiting.open()
    try:
        items = read_for(waiting, 1.2)
    finally:
        waiting.close()
    assert [e.name for e in log.events] == ["device_lost"]
    assert "no microphone found" in log.events[0].reason
    assert len(items) >= 2 and all(c.chunk == AudioChunk(16000, 2, 1, b"", 0.0) for _, c in items)

"""Capture backends: where a MicrophoneSource gets its raw blocks from.

A backend opens a device and hands back a CaptureStream of interleaved 16-bit blocks; the
source does everything else (conversion to 16 kHz mono, noticing a device that vanished,
waiting for it and opening it again). PortAudio through sounddevice is the real backend; the
tests drive the very same source through a scripted one, since they have no microphone to unplug.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from speaker.audio.devices import PORTAUDIO_LOCK, DeviceInfo, find_device, sounddevice_module
from speaker.errors import AudioError

log = logging.getLogger(__name__)

ALSA_CARDS = Path("/proc/asound/cards")


@dataclass(frozen=True)
class CaptureRequest:
    device: str | int | None = None  # name substring or index; None: the system default
    rate: int | None = None  # None: the device's default rate
    channels: int | None = None  # None: what the device offers, up to 2 (more if `channel` needs it)
    channel: int | str = "mix"  # the channel the source keeps, or "mix"
    block_ms: int = 30


class CaptureStream(Protocol):
    description: str  # e.g. "microphone 'ReSpeaker 4 Mic Array' (16000 Hz, 6 ch)"
    rate: int
    channels: int

    def read(self, timeout: float) -> tuple[bytes, float] | None:
        """The next block (int16, interleaved) and when it arrived (time.monotonic).

        None when nothing came within `timeout`; AudioError when the device failed.
        """

    def close(self) -> None: ...


class CaptureBackend(Protocol):
    def open(self, request: CaptureRequest) -> CaptureStream:
        """A started stream; AudioError when the device is not there or cannot be opened."""


def capture_format(request: CaptureRequest, info: DeviceInfo) -> tuple[int, int]:
    """The rate and channel count to open `info` with for `request`."""
    rate = request.rate or int(info.default_rate) or 16000
    channels = request.channels or min(info.inputs, 2)
    if isinstance(request.channel, int):
        if request.channel >= info.inputs:
            raise AudioError(
                f"audio.channel is {request.channel}, but {info.name!r} has only {info.inputs} input "
                f"channel(s) (numbered from 0); choose one below {info.inputs} or 'mix'",
                code="channel",
            )
        channels = max(channels, request.channel + 1)
    return rate, channels


class SoundDeviceCapture:
    """PortAudio capture. PortAudio lists devices once, when it starts, so a device plugged in
    later is only seen after re-initializing it; that is done only when ALSA's card list changed,
    because it also closes every other open stream (the speaker's stream reopens by itself)."""

    def __init__(self, cards_file: Path = ALSA_CARDS) -> None:
        self.cards_file = cards_file
        self._cards: str | None = None

    def open(self, request: CaptureRequest) -> CaptureStream:
        if self._cards is None:
            self._cards = self._read_cards()
        try:
            return self._open(request)
        except AudioError:
            cards = self._read_cards()
            if cards == self._cards:
                raise
            self._cards = cards
        log.info("the sound cards changed; re-reading the device list")
        refresh_portaudio()
        return self._open(request)

    def _open(self, request: CaptureRequest) -> CaptureStream:
        sd = sounddevice_module()
        info = find_device(request.device, "input")
        rate, channels = capture_format(request, info)
        stream = PortAudioStream(f"microphone {info.name!r} ({rate} Hz, {channels} ch)", rate, channels)
        stream.start(sd, info.index, request.block_ms)
        return stream

    def _read_cards(self) -> str:
        try:
            return self.cards_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def refresh_portaudio() -> None:
    sd = sounddevice_module()
    with PORTAUDIO_LOCK:
        try:
            sd._terminate()
            sd._initialize()
        except Exception as exc:  # PortAudio failing here is the same as the device being absent
            raise AudioError(f"cannot re-read the audio devices: {exc}") from exc


class PortAudioStream:
    """A started sounddevice RawInputStream whose callback hands blocks over through a queue."""

    def __init__(self, description: str, rate: int, channels: int) -> None:
        self.description = description
        self.rate = rate
        self.channels = channels
        self.dropped = 0
        self._stream: Any = None
        self._queue: queue.Queue[tuple[bytes, float]] = queue.Queue(maxsize=1000)
        self._failed = threading.Event()

    def start(self, sd: Any, index: int, block_ms: int) -> None:
        try:
            with PORTAUDIO_LOCK:
                self._stream = sd.RawInputStream(
                    device=index,
                    samplerate=self.rate,
                    channels=self.channels,
                    dtype="int16",
                    blocksize=int(self.rate * block_ms / 1000),
                    callback=self._callback,
                    finished_callback=self._failed.set,
                )
                self._stream.start()
        except Exception as exc:
            self.close()
            raise AudioError(f"cannot open {self.description}: {exc}", code="device_open") from exc

    def _callback(self, data: Any, frames: int, time_info: Any, status: Any) -> None:
        if status:
            log.debug("capture status: %s", status)
        try:
            self._queue.put_nowait((bytes(data), time.monotonic()))
        except queue.Full:  # the loop is stuck; dropping is better than growing without bound
            self.dropped += 1

    def read(self, timeout: float) -> tuple[bytes, float] | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            pass
        stream = self._stream
        if self._failed.is_set() or stream is None or not stream.active:
            raise AudioError(f"{self.description} stopped delivering audio", code="device_failed")
        return None

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                with PORTAUDIO_LOCK:
                    stream.abort()
                    stream.close()
            except Exception:  # closing a vanished device must not stop anything
                log.debug("closing the capture stream failed", exc_info=True)

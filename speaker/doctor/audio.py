"""Doctor: the microphone (opened, with a two-second level meter) and the speaker."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from speaker.audio.capture import CaptureBackend
from speaker.audio.sources import MicrophoneSource
from speaker.doctor import Finding
from speaker.errors import AudioError
from speaker.settings import AudioSettings

ALSA_HELP = "`arecord -l` lists the capture devices ALSA sees"
GROUP_HELP = "a user other than root must be in the 'audio' group (sudo usermod -aG audio $USER)"

# What to do about each kind of capture/playback failure (AudioError codes).
FIXES = {
    "portaudio_missing": "sudo apt-get install -y libportaudio2",
    "no_device": "plug in a USB microphone or a microphone HAT (and its driver overlay); "
    f"{ALSA_HELP}; {GROUP_HELP}",
    "device_not_found": "set audio.input_device to a name or index from `speaker devices`, "
    "or null for the default device",
    "channel": "set audio.channel to an existing channel index, or 'mix'",
}
SILENT_DBFS = -70.0  # quieter than this at its loudest: muted, or its gain is at zero
CLIP_FRACTION = 0.01  # more samples than this at full scale: the gain is too high


@dataclass(frozen=True)
class Level:
    rms_dbfs: float
    peak_dbfs: float
    clipped: float  # fraction of samples at full scale
    seconds: float


def dbfs(value: float) -> float:
    return 20 * math.log10(max(value, 1.0) / 32768.0)


def measure_level(
    source: MicrophoneSource, seconds: float, on_level: Callable[[float], None] | None = None
) -> Level:
    """Read `seconds` of audio from an open source; `on_level(dBFS)` about ten times a second."""
    parts: list[np.ndarray] = []
    window: list[np.ndarray] = []
    got, shown = 0.0, 0.0
    deadline = time.monotonic() + seconds + 3.0  # a device that delivers nothing does not hang us
    for captured in source.read():
        if captured.chunk.audio:
            samples = captured.chunk.array()[:, 0]
            parts.append(samples)
            window.append(samples)
            got += captured.chunk.duration
            if on_level is not None and got - shown >= 0.1:
                on_level(dbfs(float(np.sqrt(np.mean(np.concatenate(window).astype(np.float64) ** 2)))))
                window, shown = [], got
        if got >= seconds or time.monotonic() > deadline:
            break
    if not parts:
        raise AudioError(f"{source.description} delivered no audio in {seconds:.0f} s", code="device_failed")
    audio = np.concatenate(parts).astype(np.float64)
    return Level(
        rms_dbfs=dbfs(float(np.sqrt(np.mean(audio**2)))),
        peak_dbfs=dbfs(float(np.max(np.abs(audio)))),
        clipped=float(np.mean(np.abs(audio) >= 32700)),
        seconds=got,
    )


def check_microphone(
    audio: AudioSettings,
    *,
    backend: CaptureBackend | None = None,
    meter_seconds: float = 2.0,
    on_level: Callable[[float], None] | None = None,
) -> list[Finding]:
    source = MicrophoneSource(
        audio.input_device,
        rate=audio.capture_rate,
        channels=audio.capture_channels,
        channel=audio.channel,
        block_ms=audio.frame_ms,
        backend=backend,
        stall_timeout_s=max(audio.stall_timeout_s, meter_seconds),
    )
    try:
        source.open()
    except AudioError as exc:
        return [_capture_failure(exc)]
    try:
        found = Finding("microphone", "ok", source.description.removeprefix("microphone "))
        if meter_seconds <= 0:
            return [found]
        try:
            level = measure_level(source, meter_seconds, on_level)
        except AudioError as exc:
            fix = f"reconnect it; {ALSA_HELP}; `arecord -D plughw:CARD -d 3 t.wav` shows if ALSA records"
            return [found, Finding("mic level", "fail", exc.message, fix)]
        return [found, _level_finding(level)]
    finally:
        source.close()


def _capture_failure(exc: AudioError) -> Finding:
    message = exc.message.splitlines()[0].rstrip(".")
    if exc.code == "device_open" and any(w in message.lower() for w in ("busy", "unavailable")):
        return Finding(
            "microphone",
            "warn",
            f"{message}: another program holds it",
            "if the speaker service is running, it is the one using it: sudo systemctl stop speaker, "
            "then run speaker doctor again to measure the level",
        )
    fix = FIXES.get(exc.code, f"check the device and its cable; {ALSA_HELP}")
    return Finding("microphone", "fail", message, fix)


def _level_finding(level: Level) -> Finding:
    text = (
        f"{level.seconds:.1f} s: average {level.rms_dbfs:.0f} dBFS, peak {level.peak_dbfs:.0f} dBFS"
        f"{f', {100 * level.clipped:.1f}% clipped' if level.clipped else ''}"
    )
    if level.peak_dbfs < SILENT_DBFS:
        return Finding(
            "mic level",
            "warn",
            f"{text}: (almost) silence",
            "the microphone may be muted or its capture gain at zero: alsamixer (F6 to pick the card, "
            "F4 for capture), or speak close to it while doctor listens",
        )
    if level.clipped > CLIP_FRACTION:
        return Finding(
            "mic level", "warn", f"{text}: the input clips", "lower the capture gain in alsamixer (F4)"
        )
    return Finding("mic level", "ok", text)


def check_speaker(audio: AudioSettings) -> Finding:
    from speaker.audio.devices import find_device

    try:
        info = find_device(audio.output_device, "output")
    except AudioError as exc:
        fix = (
            "connect a speaker (3.5 mm jack, HDMI, USB or a HAT); `aplay -l` lists what ALSA sees; "
            + GROUP_HELP
        )
        if exc.code == "device_not_found":
            fix = "set audio.output_device to a name or index from `speaker devices`"
        elif exc.code == "portaudio_missing":
            fix = FIXES["portaudio_missing"]
        return Finding("speaker", "fail", exc.message.splitlines()[0].rstrip("."), fix)
    return Finding("speaker", "ok", f"{info.name!r} ({info.default_rate:.0f} Hz, {info.outputs} ch)")


def meter_bar(level_dbfs: float, width: int = 30) -> str:
    """A text level meter from -80 to 0 dBFS."""
    filled = int(round(width * min(1.0, max(0.0, (level_dbfs + 80.0) / 80.0))))
    return "[" + "#" * filled + "." * (width - filled) + f"] {level_dbfs:6.1f} dBFS"

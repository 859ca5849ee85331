"""Audio devices through sounddevice (PortAudio): listing and choosing by name or index."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from speaker.errors import AudioError

# PortAudio is one process-wide library: re-initializing it (to see a device plugged in later)
# must not run while another thread lists devices or opens or writes a stream.
PORTAUDIO_LOCK = threading.RLock()

NO_MICROPHONE_HELP = (
    "no microphone found: this machine has no audio capture device.\n"
    "  - list what PortAudio sees: speaker devices\n"
    "  - choose one by name or index: speaker run --input-device NAME\n"
    "  - or run the same loop on a recording: speaker run --input question.wav --output reply.wav"
)


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float
    host_api: str
    is_default_input: bool = False
    is_default_output: bool = False


def sounddevice_module() -> ModuleType:
    """Import sounddevice, turning a missing PortAudio into a message that says what to install."""
    try:
        import sounddevice
    except OSError as exc:  # raised at import time when libportaudio2 is not installed
        raise AudioError(
            "the PortAudio library is missing (sounddevice needs it): sudo apt-get install -y libportaudio2",
            code="portaudio_missing",
        ) from exc
    return sounddevice


def list_devices() -> list[DeviceInfo]:
    sd = sounddevice_module()
    try:
        with PORTAUDIO_LOCK:
            devices = sd.query_devices()
            apis = sd.query_hostapis()
            default_in, default_out = sd.default.device
    except Exception as exc:  # PortAudio errors come as sounddevice.PortAudioError
        raise AudioError(f"cannot list audio devices: {exc}") from exc
    out = []
    for index, dev in enumerate(devices):
        out.append(
            DeviceInfo(
                index=index,
                name=str(dev["name"]),
                inputs=int(dev["max_input_channels"]),
                outputs=int(dev["max_output_channels"]),
                default_rate=float(dev["default_samplerate"]),
                host_api=str(apis[dev["hostapi"]]["name"]) if apis else "",
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return out


def find_device(spec: str | int | None, kind: Literal["input", "output"]) -> DeviceInfo:
    """The device for `spec` (index, or a case-insensitive name substring; None: the default)."""
    devices = list_devices()
    usable = [d for d in devices if (d.inputs if kind == "input" else d.outputs) > 0]
    if not usable:
        if kind == "input":
            raise AudioError(NO_MICROPHONE_HELP, code="no_device")
        raise AudioError(
            "no speaker found: this machine has no audio playback device.\n"
            "  - list what PortAudio sees: speaker devices\n"
            "  - or write the replies to a file: speaker run --output reply.wav",
            code="no_device",
        )
    if spec is None:
        default = [d for d in usable if (d.is_default_input if kind == "input" else d.is_default_output)]
        return default[0] if default else usable[0]
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        index = int(spec)
        for device in usable:
            if device.index == index:
                return device
        raise AudioError(
            f"no {kind} device with index {index}; see `speaker devices`", code="device_not_found"
        )
    matches = [d for d in usable if spec.lower() in d.name.lower()]
    if not matches:
        names = ", ".join(repr(d.name) for d in usable)
        raise AudioError(
            f"no {kind} device matches {spec!r}; {kind} devices here: {names}", code="device_not_found"
        )
    return matches[0]

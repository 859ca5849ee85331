"""`speaker devices`: the microphones and speakers PortAudio can see."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from speaker.audio.devices import list_devices


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "devices",
        help="list audio capture and playback devices",
        description="List the audio devices PortAudio sees, with the index and name to give to "
        "--input-device / --output-device or audio.input_device in the config.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    devices = list_devices()
    if args.json:
        print(json.dumps([asdict(d) for d in devices], indent=2))
        return 0
    if not devices:
        print("No audio devices found.")
        print("  - is the microphone/speaker plugged in? `arecord -l` and `aplay -l` show what ALSA sees")
        print("  - is this user in the 'audio' group? (sudo usermod -aG audio $USER, then log in again)")
        print("  - no hardware at all: run on files with speaker run --input in.wav --output out.wav")
        return 0
    print(f"{'idx':>3}  {'in':>3} {'out':>3}  {'rate':>6}  name")
    for d in devices:
        marks = (" (default input)" if d.is_default_input else "") + (
            " (default output)" if d.is_default_output else ""
        )
        rate = f"{d.default_rate:>6.0f}"
        print(f"{d.index:>3}  {d.inputs:>3} {d.outputs:>3}  {rate}  {d.name} [{d.host_api}]{marks}")
    if not any(d.inputs for d in devices):
        print("\nNo capture device: `speaker run` needs a microphone, or --input FILE.wav.")
    return 0

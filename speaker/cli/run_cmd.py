"""`speaker run`: the voice loop on the microphone, or on a WAV file."""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from speaker.settings import Settings, load_settings, with_mqtt_url

if TYPE_CHECKING:  # the engines are imported when a command runs, so `--help` stays instant
    from speaker.audio.sinks import AudioSink
    from speaker.audio.sources import AudioSource

log = logging.getLogger(__name__)

HELP = """\
Listen for the wake word, then answer out loud, turn after turn.

With no options it listens on the default microphone and answers on the default speaker.
With --input it runs the very same loop on a WAV file (any common rate or channel count),
and --output writes every reply into one WAV file instead of playing it.

examples:
  speaker run
  speaker run --input-device respeaker --output-device 0
  speaker run --input question.wav --output reply.wav --events events.jsonl
  speaker run --input question.wav --output reply.wav --realtime
  speaker run --mqtt mqtt://speaker:secret@192.168.1.10:1883   # home devices, Home Assistant
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the voice loop (microphone or WAV file)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--input", type=Path, metavar="IN.wav", help="read audio from this WAV file, not the microphone"
    )
    p.add_argument(
        "--output", type=Path, metavar="OUT.wav", help="write replies to this WAV file, not the speaker"
    )
    p.add_argument("--realtime", action="store_true", help="feed --input at the pace of a live microphone")
    p.add_argument("--events", type=Path, metavar="FILE.jsonl", help="write every event as one JSON line")
    p.add_argument("--input-device", metavar="NAME|INDEX", help="capture device (see `speaker devices`)")
    p.add_argument("--output-device", metavar="NAME|INDEX", help="playback device (see `speaker devices`)")
    add_mqtt_argument(p)
    p.set_defaults(func=run)


def add_mqtt_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mqtt",
        metavar="URL",
        help="MQTT broker for home devices and Home Assistant: mqtt://user:pass@host:port or "
        "mqtts://... (also: $SPEAKER_MQTT_URL, mqtt.url in the config)",
    )


def resolve_broker(settings: Settings) -> None:
    from speaker.mqtt.connection import resolve

    resolve(settings.mqtt)


def make_source(args: argparse.Namespace, settings: Settings) -> AudioSource:
    from speaker.audio.devices import find_device
    from speaker.audio.sources import MicrophoneSource, WavFileSource
    from speaker.audio.wavfile import probe

    if args.input is not None:
        probe(args.input)  # a bad file is reported before minutes are spent loading models
        return WavFileSource(args.input, realtime=args.realtime, channel=settings.audio.channel)
    device = args.input_device if args.input_device is not None else settings.audio.input_device
    source = MicrophoneSource(
        device,
        rate=settings.audio.capture_rate,
        channels=settings.audio.capture_channels,
        channel=settings.audio.channel,
        block_ms=settings.audio.frame_ms,
    )
    find_device(device, "input")  # no microphone: say so now, with what to do instead
    return source


def make_sink(args: argparse.Namespace, settings: Settings, paced: bool) -> AudioSink:
    from speaker.audio.devices import find_device
    from speaker.audio.sinks import SpeakerSink, WavFileSink

    if args.output is not None:
        return WavFileSink(args.output, gap_ms=settings.audio.output_gap_ms, paced=paced)
    device = args.output_device if args.output_device is not None else settings.audio.output_device
    find_device(device, "output")
    return SpeakerSink(device)


def run(args: argparse.Namespace) -> int:
    from speaker.app import build_speaker
    from speaker.pipeline.loop import run_on

    settings = with_mqtt_url(load_settings(args.config), args.mqtt)
    resolve_broker(settings)  # a bad broker URL is reported before anything is opened or loaded
    source = make_source(args, settings)
    realtime = source.realtime
    sink = make_sink(args, settings, paced=realtime)
    sink.open()
    speaker = build_speaker(settings, sink, listen=True, events_path=args.events)
    assert speaker.loop is not None
    if not realtime:  # a recording is answered against the home as it is, not before the broker is there
        speaker.services.wait_ready()
    previous = signal.signal(signal.SIGTERM, lambda *_: speaker.loop.stop())  # type: ignore[union-attr]
    try:
        log.info("say %r to wake me (%s)", settings.wake.phrase, source.description)
        turns = run_on(speaker.loop, source)
    finally:
        signal.signal(signal.SIGTERM, previous)
        sink.close()
        speaker.close()
    if args.output is not None:
        log.info("%d turn(s); replies written to %s", turns, args.output)
    return 0

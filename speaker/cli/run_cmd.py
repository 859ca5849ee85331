"""`speaker run`: the voice loop on the microphone, or on a WAV file."""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from speaker.settings import Settings, load_settings, with_mqtt_url

if TYPE_CHECKING:  # the engines are imported when a command runs, so `--help` stays instant
    from speaker.app import Speaker
    from speaker.audio.sinks import AudioSink
    from speaker.audio.sources import AudioSource
    from speaker.events import EventBus
    from speaker.ota.runtime import OtaRuntime

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
  speaker run --mqtt mqtt://speaker:secret@192.168.1.10:1883   # home devices, Home Assistant, updates

A microphone that disappears (USB unplugged) is waited for and used again when it is back.
Under systemd (systemd/speaker.service) it reports READY and its status, and pings the
watchdog from the loop itself, so a hung loop is restarted.
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
    p.add_argument(
        "--wait-for-device",
        action="store_true",
        help="if the microphone or speaker is not there yet, wait for it instead of failing "
        "(the service does this)",
    )
    add_mqtt_argument(p)
    p.set_defaults(func=run)


def add_mqtt_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mqtt",
        metavar="URL",
        help="MQTT broker for home devices, Home Assistant and model updates: mqtt://user:pass@host:port or "
        "mqtts://... (also: $SPEAKER_MQTT_URL, mqtt.url in the config)",
    )


def resolve_broker(settings: Settings) -> None:
    from speaker.mqtt.connection import resolve

    resolve(settings.mqtt)


def make_source(args: argparse.Namespace, settings: Settings, bus: EventBus | None = None) -> AudioSource:
    from speaker.audio.devices import find_device
    from speaker.audio.sources import MicrophoneSource, WavFileSource
    from speaker.audio.wavfile import probe

    if args.input is not None:
        probe(args.input)  # a bad file is reported before minutes are spent loading models
        return WavFileSource(args.input, realtime=args.realtime, channel=settings.audio.channel)
    device = args.input_device if args.input_device is not None else settings.audio.input_device
    audio = settings.audio
    wait = bool(getattr(args, "wait_for_device", False))
    source = MicrophoneSource(
        device,
        rate=audio.capture_rate,
        channels=audio.capture_channels,
        channel=audio.channel,
        block_ms=audio.frame_ms,
        bus=bus,
        wait_for_device=wait,
        reopen_interval_s=audio.reopen_interval_s,
        stall_timeout_s=audio.stall_timeout_s,
    )
    if not wait:
        find_device(device, "input")  # no microphone: say so now, with what to do instead
    return source


def make_sink(args: argparse.Namespace, settings: Settings, paced: bool) -> AudioSink:
    from speaker.audio.devices import find_device
    from speaker.audio.sinks import SpeakerSink, WavFileSink

    if args.output is not None:
        return WavFileSink(args.output, gap_ms=settings.audio.output_gap_ms, paced=paced)
    device = args.output_device if args.output_device is not None else settings.audio.output_device
    wait = bool(getattr(args, "wait_for_device", False))
    if not wait:
        find_device(device, "output")
    return SpeakerSink(device, wait_for_device=wait)


def start_ota(settings: Settings, bus: EventBus) -> OtaRuntime | None:
    """Over-the-air updates in this process, unless off or managed by another speaker process."""
    from speaker.models import ModelStore
    from speaker.ota.errors import OtaError
    from speaker.ota.runtime import OtaRuntime

    if not settings.ota.enabled:
        return None
    ota = OtaRuntime(settings, ModelStore.from_settings(settings), bus)
    try:
        ota.open()
    except OtaError as exc:
        log.warning("over-the-air updates are off in this process: %s", exc.message)
        return None
    return ota


def connect_ota(ota: OtaRuntime, speaker: Speaker, settings: Settings) -> None:
    """Updates announced on the broker, their progress in Home Assistant (speaker/ota/link.py)."""
    services = speaker.services
    if services is None or services.mqtt is None:
        log.info("over-the-air updates: no broker given; `speaker ota apply` installs a manifest by hand")
        return
    from speaker.ota.link import MqttLink

    link = MqttLink(ota, services.mqtt, services.bridge, settings)
    link.start()
    speaker.closers.append(link.close)  # closed first: before the updater and the broker connection


def run(args: argparse.Namespace) -> int:
    from speaker.app import build_speaker
    from speaker.events import EventBus
    from speaker.models import ModelStore
    from speaker.ota.slots import installed_models
    from speaker.pipeline.loop import run_on
    from speaker.service import SystemdNotifier
    from speaker.service import attach as attach_service

    settings = with_mqtt_url(load_settings(args.config), args.mqtt)
    resolve_broker(settings)  # a bad broker URL is reported before anything is opened or loaded
    notifier = SystemdNotifier.from_environ(unset=True)  # under systemd: READY, STATUS, watchdog
    notifier.status("loading models")
    bus = EventBus()
    source = make_source(args, settings, bus)
    realtime = source.realtime
    sink = make_sink(args, settings, paced=realtime)
    sink.open()
    ota = start_ota(settings, bus)
    try:
        models = (
            ota.active_models() if ota else installed_models(settings, ModelStore.from_settings(settings))
        )
        speaker = build_speaker(settings, sink, listen=True, events_path=args.events, bus=bus, models=models)
    except BaseException:
        if ota is not None:
            ota.close()
        raise
    assert speaker.loop is not None
    if ota is not None:
        ota.attach(speaker.loop)
        speaker.closers.append(ota.close)
        connect_ota(ota, speaker, settings)
    detach = attach_service(speaker.loop, bus, notifier, settings.service, wake_phrase=settings.wake.phrase)
    if not realtime:  # a recording is answered against the home as it is, not before the broker is there
        speaker.services.wait_ready()
    previous = signal.signal(signal.SIGTERM, lambda *_: speaker.loop.stop())  # type: ignore[union-attr]
    try:
        log.info("say %r to wake me (%s)", settings.wake.phrase, source.description)
        turns = run_on(speaker.loop, source)
    finally:
        notifier.stopping("stopping")
        detach()
        signal.signal(signal.SIGTERM, previous)
        sink.close()
        speaker.close()
        notifier.close()
    if args.output is not None:
        log.info("%d turn(s); replies written to %s", turns, args.output)
    return 0

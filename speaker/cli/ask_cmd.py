"""`speaker ask`: the answering half of a turn, from typed text."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speaker.cli.run_cmd import add_mqtt_argument, resolve_broker
from speaker.errors import AudioError, SpeakerError
from speaker.settings import Settings, load_settings, with_mqtt_url

if TYPE_CHECKING:
    from speaker.audio.sinks import AudioSink

log = logging.getLogger(__name__)

HELP = """\
Answer a typed question exactly as a spoken one would be answered (local skills first, then the
dialog mode router and the language model), speak the reply, and print it. Several utterances
are one conversation: each is answered knowing the ones before.

examples:
  speaker ask "why is the sky blue?"
  speaker ask "what time is it" --output reply.wav
  speaker ask "turn off the kitchen light" --mqtt mqtt://user:pass@homeassistant.local
  speaker ask "把客厅的灯打开" --mqtt mqtt://user:pass@homeassistant.local
  speaker ask --mode inspiration "something for a rainy sunday"
  speaker ask "I had a rough day" "what could cheer me up?" --events ev.jsonl
  speaker ask - < questions.txt                    one utterance per line, one conversation
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ask",
        help="answer a typed question out loud and print the reply",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="+", help="what the user says; several: one conversation; '-': stdin lines")
    p.add_argument("--mode", metavar="MODE", help="answer in this dialog mode (see config/modes.yaml)")
    p.add_argument("--output", type=Path, metavar="OUT.wav", help="write the spoken reply to this WAV file")
    p.add_argument("--output-device", metavar="NAME|INDEX", help="playback device (see `speaker devices`)")
    p.add_argument("--events", type=Path, metavar="FILE.jsonl", help="write every event as one JSON line")
    add_mqtt_argument(p)
    p.set_defaults(func=run)


def _sink(args: argparse.Namespace, device: str | int | None) -> AudioSink:
    from speaker.audio.sinks import NullSink, SpeakerSink, WavFileSink

    if args.output is not None:
        return WavFileSink(args.output)
    sink = SpeakerSink(device)
    try:
        sink.open()
    except AudioError as exc:
        log.warning("%s", str(exc).splitlines()[0])
        log.warning("speaking into the void; give --output reply.wav to keep the audio")
        return NullSink()
    return sink


def _ota_models(settings: Settings) -> dict[str, Any]:
    """The models over-the-air updates made active (the same ones `speaker run` answers with)."""
    from speaker.models import ModelStore
    from speaker.ota.slots import installed_models

    return installed_models(settings, ModelStore.from_settings(settings))


def run(args: argparse.Namespace) -> int:
    from speaker.app import build_speaker
    from speaker.audio.sinks import WavFileSink
    from speaker.cli.route_cmd import utterances
    from speaker.events import EventLog

    settings = with_mqtt_url(load_settings(args.config), args.mqtt)
    resolve_broker(settings)
    texts = utterances(args.text)
    if not texts:
        raise SpeakerError(
            'nothing to ask: give the question as text, e.g. speaker ask "why is the sky blue?"'
        )
    if args.mode is not None:
        from speaker.dialog.modes import load_modes

        if not settings.dialog.enabled:
            raise SpeakerError("--mode needs dialog modes, but dialog.enabled is false in the config")
        load_modes(settings.modes_path).require(args.mode)  # a wrong name fails before models load
    device = args.output_device if args.output_device is not None else settings.audio.output_device
    sink = _sink(args, device)
    if isinstance(sink, WavFileSink):
        sink.open()
    speaker = build_speaker(
        settings, sink, listen=False, events_path=args.events, models=_ota_models(settings), warm=False
    )
    events = EventLog()
    speaker.bus.subscribe(events)
    failed = False
    try:
        speaker.services.wait_ready()  # the broker, and the devices and states it holds
        for text in texts:
            start = len(events.events)
            result = speaker.responder.respond(text, mode=args.mode)
            print(result.reply, flush=True)
            errors = [e for e in events.events[start:] if e.name == "error"]
            failed = failed or bool(errors and not result.reply)
    finally:
        sink.close()
        speaker.close()
    return 1 if failed else 0

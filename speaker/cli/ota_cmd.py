"""`speaker ota`: over-the-air model updates, for the operator (keygen, publish, serve) and the speaker
(apply, status)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from speaker.errors import SpeakerError

DESCRIPTION = """\
Push new models (language model, voice, speech recognition, wake word) to speakers through the
MQTT broker. The operator signs a manifest with an ed25519 key; each speaker checks the signature
against ota.trusted_keys, downloads the files (resuming after a cut), verifies them, runs the new
model in a child process as a health check, switches between turns, and rolls back by itself if
the new model fails. Topics (prefix ota.topic_prefix, default speaker/ota):
  speaker/ota/fleet/<component>               every speaker (retained)
  speaker/ota/device/<device id>/<component>  one speaker (retained)
  speaker/ota/status/<device id>              a speaker's last result

operator:
  speaker ota keygen --out ops.key                      make a key pair; put ops.key.pub on speakers
  speaker ota serve ./models --port 8000                serve model files on the LAN (HTTP, Range)
  speaker ota publish --component llm --version 2.0.0 --file gemma.gguf \\
      --url http://192.168.1.10:8000/gemma.gguf --key ops.key --broker 192.168.1.2
speaker:
  speaker run --mqtt mqtt://user:pass@192.168.1.2       installs what is announced while it answers;
                                                        progress in Home Assistant, results on .../status/<id>
  speaker ota apply manifest.json                       apply one signed manifest now (no broker)
  speaker ota status [--verify] [--json]                which model each component runs, last result
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ota",
        help="over-the-air model updates: keygen, publish, serve, apply, status",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=lambda args: _help(parser))
    commands = parser.add_subparsers(dest="ota_command", metavar="ACTION")

    p = commands.add_parser(
        "keygen",
        help="make an ed25519 key pair for signing manifests",
        description="Write a private key (PEM, readable only by you) and KEY.pub, and print the line "
        "to add to every speaker's config under ota.trusted_keys. Keep the private key off the speakers.",
    )
    p.add_argument(
        "--out", type=Path, default=Path("speaker-ota.key"), metavar="KEY", help="default: %(default)s"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing key")
    p.set_defaults(func=cmd_keygen)

    p = commands.add_parser(
        "publish",
        help="sign a manifest and publish it retained on the broker",
        description="Hash the files, build a manifest (component, version, files with size, sha256 and "
        "URL, minimum firmware, expiry, a serial above the one retained on the topic), sign it and publish "
        "it retained on the fleet topic, or on one device's topic with --device.",
    )
    p.add_argument("--component", required=True, choices=("llm", "tts", "asr", "wake"))
    p.add_argument("--version", required=True, help="dotted numbers, newer than what speakers run")
    p.add_argument(
        "--file", type=Path, action="append", default=[], metavar="PATH", help="a model file (repeat)"
    )
    p.add_argument("--dir", type=Path, action="append", default=[], help="every file under a model folder")
    p.add_argument(
        "--url",
        action="append",
        default=[],
        help="the file's URL (repeat, in --file order) or one base URL ending in /",
    )
    p.add_argument("--key", type=Path, required=True, help="private key from `speaker ota keygen`")
    p.add_argument("--device", metavar="ID", help="only this speaker (default: the whole fleet)")
    p.add_argument("--main", help="what the engine opens (default: the only file, or '.' for a folder)")
    p.add_argument("--summary", default="", help="release summary shown in Home Assistant")
    p.add_argument(
        "--min-firmware", default="0.1.0", help="oldest firmware that may install it (%(default)s)"
    )
    p.add_argument("--expires-in", default="30d", help="refused after this long: 12h, 30d, ... (%(default)s)")
    p.add_argument(
        "--serial", type=int, help="manifest serial (default: above the retained one, and the clock)"
    )
    p.add_argument(
        "--broker",
        default=os.environ.get("SPEAKER_MQTT_URL", "localhost"),
        help="host[:port] or mqtt(s)://user:pass@host:port ($SPEAKER_MQTT_URL; default: localhost)",
    )
    p.add_argument("--username")
    p.add_argument("--password", help="or $SPEAKER_MQTT_PASSWORD")
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--cafile", type=Path, help="CA certificate for TLS")
    p.add_argument("--prefix", default="speaker/ota", help="topic prefix (%(default)s)")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the signed manifest here")
    p.add_argument("--no-publish", action="store_true", help="only write --out; do not contact the broker")
    p.set_defaults(func=cmd_publish)

    p = commands.add_parser(
        "serve",
        help="serve model files over HTTP (with Range, for resumed downloads)",
        description="Serve the files under DIR over HTTP for speakers on the LAN. GET and HEAD, Range "
        "requests (a cut download resumes), nothing outside DIR, no listings, no hidden files. Ctrl-C stops.",
    )
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--port", type=int, default=8000, help="(%(default)s; 0: any free port)")
    p.add_argument("--bind", default="0.0.0.0", help="address to listen on (%(default)s)")
    p.set_defaults(func=cmd_serve)

    p = commands.add_parser(
        "apply",
        help="apply one signed manifest now, without a broker",
        description="Verify MANIFEST (a signed envelope from `speaker ota publish --out`), download, "
        "verify and health-check the files and make them the active model of their component. Run it "
        "again after an interruption: it resumes. Not while `speaker run` is running (it applies "
        "updates itself). Exit status: 0 installed or already installed, 1 refused or failed.",
    )
    p.add_argument("manifest", type=Path, metavar="MANIFEST")
    p.set_defaults(func=cmd_apply)

    p = commands.add_parser(
        "status",
        help="which model each component runs, and the last update's result",
        description="Per component: the active slot (factory, a or b) and its version, the rollback "
        "target, a model on trial, an update in progress, and the last result with its reason.",
    )
    p.add_argument("--verify", action="store_true", help="hash every file of the active models again")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def cmd_keygen(args: argparse.Namespace) -> int:
    from speaker.ota.signing import generate_keys, key_id, load_private_key, public_key_text

    files = generate_keys(args.out, overwrite=args.force)
    public = load_private_key(files.private).public_key()
    print(f"private key: {files.private}  (keep it secret; it signs updates)")
    print(f"public key:  {files.public}  (id {key_id(public)})")
    print("\nadd to each speaker's config:\n")
    print(f"ota:\n  trusted_keys:\n    - {public_key_text(public)}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from speaker.ota.publish import (
        Broker,
        OperatorClient,
        build_manifest,
        collect_files,
        parse_duration,
        retained_serial,
        serial_now,
    )
    from speaker.ota.signing import load_private_key, sign
    from speaker.ota.topics import manifest_topic

    if args.no_publish and args.out is None:
        raise SpeakerError("--no-publish needs --out FILE: otherwise the manifest goes nowhere")
    key = load_private_key(args.key)
    files = collect_files(args.file, args.dir, args.url)
    expires_in = parse_duration(args.expires_in)
    topic = manifest_topic(args.prefix, args.component, args.device)
    password = args.password or os.environ.get("SPEAKER_MQTT_PASSWORD")
    broker = Broker.parse(
        args.broker, username=args.username, password=password, tls=args.tls, cafile=args.cafile
    )

    def sign_and_publish(client: OperatorClient | None) -> bytes:
        serial = args.serial
        if serial is None:
            serial = serial_now()
            retained = retained_serial(client.retained(topic)) if client else None
            if retained is not None and retained >= serial:
                serial = retained + 1
        manifest = build_manifest(
            args.component, args.version, files, serial=serial, expires_in=expires_in,
            min_firmware=args.min_firmware, device=args.device, main=args.main, summary=args.summary,
            on_file=lambda path: print(f"hashing {path}", file=sys.stderr),
        )  # fmt: skip
        envelope = sign(manifest, key)
        if args.out is not None:
            args.out.write_bytes(envelope)
            print(f"signed manifest written to {args.out}")
        if client is not None:
            client.publish(topic, envelope)
            print(f"published {manifest.label} (serial {serial}) retained on {topic} at {broker}")
        return envelope

    if args.no_publish:
        sign_and_publish(None)
    else:
        with OperatorClient(broker) as client:
            sign_and_publish(client)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from speaker.ota.serve import FileServer

    if not args.dir.is_dir():
        raise SpeakerError(f"not a directory: {args.dir}")
    server = FileServer(args.dir, args.bind, args.port)
    try:
        server.bind()
    except OSError as exc:
        raise SpeakerError(f"cannot listen on {args.bind}:{args.port}: {exc.strerror}") from exc
    count = sum(1 for p in server.root.rglob("*") if p.is_file())
    print(f"serving {count} file(s) from {server.root} at {server.url()} (Ctrl-C stops)", flush=True)
    server.serve_forever()
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from speaker.events import EventBus
    from speaker.models import ModelStore
    from speaker.ota.slots import SlotManager
    from speaker.ota.updater import Updater
    from speaker.settings import load_settings

    try:
        payload = args.manifest.read_bytes()
    except OSError as exc:
        raise SpeakerError(f"cannot read {args.manifest}: {exc.strerror}") from exc
    settings = load_settings(args.config)
    slots = SlotManager(settings, ModelStore.from_settings(settings))
    bus = EventBus()
    printer = _ApplyPrinter()
    bus.subscribe(printer)
    for note in slots.open():
        print(f"recovered: {note}", file=sys.stderr)
    try:
        outcome = Updater(slots, bus).apply(payload)
    finally:
        printer.close()
        slots.close()
    if outcome.result in ("installed", "current"):
        print(
            f"{outcome.component} {outcome.version}: {outcome.result}"
            + (f" ({outcome.reason})" if outcome.reason else "")
        )
        return 0
    print(f"speaker: {outcome.result} [{outcome.code}]: {outcome.reason}", file=sys.stderr)
    return 1


class _ApplyPrinter:
    """Progress of `speaker ota apply` on stderr: a bar while downloading, one line per phase."""

    def __init__(self) -> None:
        from speaker.models import ProgressPrinter

        self.bar = ProgressPrinter()
        self.phase = ""

    def __call__(self, event: Any) -> None:
        if event.name != "ota_progress":
            return
        if event.phase == "downloading":
            self.bar(f"{event.component} {event.version}", event.done_bytes, event.total_bytes or None)
        elif event.phase != self.phase:
            self.bar.close()
            print(f"{event.component} {event.version}: {event.phase.replace('_', ' ')}", file=sys.stderr)
        self.phase = event.phase

    def close(self) -> None:
        self.bar.close()


def cmd_status(args: argparse.Namespace) -> int:
    from speaker.models import ModelStore
    from speaker.ota.slots import SlotManager
    from speaker.ota.status import status_report
    from speaker.settings import load_settings

    settings = load_settings(args.config)
    slots = SlotManager(settings, ModelStore.from_settings(settings))
    slots.load()
    report = status_report(slots, verify=args.verify)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"device {report['device']}, slots in {report['ota_dir']}")
        for name, c in report["components"].items():
            line = f"{name:5} {c['installed_version']:>10} ({c['active']})"
            if c["previous"]:
                line += f", previous {c['previous']}"
            if c["trial"]:
                left = c["trial"]["turns_left"]
                line += f", on trial ({left} turn{'' if left == 1 else 's'} to answer)"
            if c["pending"]:
                line += f", updating to {c['pending']['version']} ({c['pending']['phase']})"
            if not c["verified"]:
                line += f", DAMAGED: {c['problems'][0]}"
            print(line)
            if c["last_result"]:
                reason = f": {c['last_reason']}" if c["last_reason"] else ""
                print(f"      last: {c['last_result']} {c['last_version']} at {c['last_at']}{reason}")
    broken = [n for n, c in report["components"].items() if not c["verified"]]
    return 1 if broken else 0

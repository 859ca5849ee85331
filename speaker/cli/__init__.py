"""The `speaker` command line: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys

from speaker import __version__
from speaker.errors import SpeakerError

# Every module here named *_cmd has register(subparsers), which adds its parser and sets `func`
# (args -> exit code). These come first in --help; any other *_cmd module follows.
FIRST_COMMANDS = ("run", "ask", "devices", "models")


def command_modules() -> list[str]:
    found = {m.name[: -len("_cmd")] for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")}
    ordered = [c for c in FIRST_COMMANDS if c in found] + sorted(found - set(FIRST_COMMANDS))
    return [f"speaker.cli.{name}_cmd" for name in ordered]


DESCRIPTION = """\
Offline smart-speaker firmware: wake word, speech recognition, a local language model and
speech synthesis, all on this machine. Nothing leaves the house.

common uses:
  speaker run                                 listen on the microphone, answer on the speaker
  speaker run --input in.wav --output out.wav run the same loop on a recording
  speaker ask "why is the sky blue?"          the text part of a turn: answer, speak, print
  speaker route "let's brainstorm"            which dialog mode an utterance goes to, and why
  speaker models fetch                        download and verify the default models
  speaker devices                             list microphones and speakers
  speaker doctor                              check devices, models, memory, broker: what to fix
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speaker", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"speaker {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="YAML file merged over the defaults (also: $SPEAKER_CONFIG)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument("-q", "--quiet", action="store_true", help="log only warnings and errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        importlib.import_module(name).register(subparsers)
    return parser


def setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True)
    if not verbose:  # the engines' own chatter is noise unless debugging
        for noisy in ("piper", "onnxruntime"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SpeakerError as exc:
        print(f"speaker: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("speaker: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1

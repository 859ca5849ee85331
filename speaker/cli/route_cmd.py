"""`speaker route`: which dialog mode an utterance goes to, and why, without loading any model."""

from __future__ import annotations

import argparse
import json
import sys

from speaker.errors import SpeakerError
from speaker.settings import load_settings

HELP = """\
Print the dialog mode the speaker would answer each utterance in, as one JSON object per
utterance: {"text", "mode", "confidence", "reason"}. Nothing is loaded but the modes file
(config/modes.yaml, or dialog.modes in your config), so it answers at once.

examples:
  speaker route "why is the sky blue?"
  speaker route "switch to inspiration mode" "切换到灵感模式" "我想聊聊天"
  speaker route - < utterances.txt                 one utterance per line
  speaker route --conversation - < chat.txt        the lines as one conversation (modes stick)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "route",
        help="show the dialog mode an utterance goes to (no model is loaded)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="+", help="utterances; '-' reads one per line from standard input")
    p.add_argument(
        "--conversation",
        action="store_true",
        help="route the utterances as turns of one conversation (a follow-up keeps its mode)",
    )
    p.set_defaults(func=run)


def utterances(args: list[str]) -> list[str]:
    out: list[str] = []
    for text in args:
        if text == "-":
            out.extend(line.strip() for line in sys.stdin if line.strip())
        elif text.strip():
            out.append(text.strip())
    return out


def run(args: argparse.Namespace) -> int:
    from speaker.dialog.modes import load_modes
    from speaker.dialog.router import ModeRouter

    settings = load_settings(args.config)
    book = load_modes(settings.modes_path)
    router = ModeRouter(book, follow_up_bonus=settings.dialog.follow_up_bonus)
    texts = utterances(args.text)
    if not texts:
        raise SpeakerError("nothing to route: give utterances as arguments, or '-' and lines on stdin")
    current: str | None = None
    for text in texts:
        decision = router.route(text, current=current if args.conversation else None)
        if args.conversation:
            current = None if decision.command == "forget" else decision.mode
        print(json.dumps(decision.to_dict(), ensure_ascii=False), flush=True)
    return 0

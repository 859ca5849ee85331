"""`speaker wake eval`: misses and false wakes of a wake model on held-out voices and sentences."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from speaker.cli.wake_args import (
    HOURS,
    THRESHOLD,
    between,
    count,
    phone_threshold,
    phone_thresholds,
    thresholds,
)
from speaker.errors import SpeakerError
from speaker.settings import load_settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "eval",
        help="false rejects and false accepts per hour on held-out voices and text, and what woke it",
        description=(
            "Makes speech with voices and sentences that training never uses, runs it through the"
            " live detector and prints: how many of the phrases it missed (and the voices that"
            " missed most; with --talk, also with another voice talking in the background, as"
            " from a TV; with --one-breath, also said in one breath with a request), false wakes"
            " per hour in ordinary and in near-miss talk, and the sentences that woke it, most"
            " often first. The same --seed makes the same clips, so two models or thresholds can"
            " be compared on them. --positives 200 --hours 1"
            " --near-hours 0.5 takes about 5 minutes on 2 cores."
        ),
    )
    e.add_argument("--model", type=Path, help="the model file (default: the configured one)")
    e.add_argument("--positives", type=count, default=200, help="wake phrases to say (default 200)")
    e.add_argument(
        "--talk",
        type=count,
        default=0,
        metavar="N",
        help="also say N phrases with another voice talking in the background (default 0)",
    )
    e.add_argument(
        "--one-breath",
        type=count,
        default=0,
        metavar="N",
        help="also say N phrases in one breath with a request after them, as in 'hey computer turn"
        " on the light' (default 0)",
    )
    e.add_argument(
        "--talk-level",
        type=between(0.0, 40.0, open_ends=False),
        metavar="DB",
        help="that talk this many dB under the phrase (default: 8 to 20 dB, drawn per phrase)",
    )
    e.add_argument("--hours", type=HOURS, default=2.0, help="hours of ordinary talk (default 2)")
    e.add_argument("--near-hours", type=HOURS, default=1.0, help="hours of near-miss talk (default 1)")
    e.add_argument(
        "--threshold",
        type=THRESHOLD,
        help="try another decision threshold (0..1; in a joined model, its first route's)",
    )
    e.add_argument("--verify-threshold", type=THRESHOLD, help="the same for the verifier (0..1)")
    e.add_argument(
        "--phone-threshold",
        type=phone_threshold,
        metavar="T",
        help="try another threshold for the phone check (-100..50; higher turns down more)",
    )
    e.add_argument("--no-phones", action="store_true", help="leave the phone check out")
    e.add_argument(
        "--phone-sweep",
        type=phone_thresholds,
        metavar="LIST",
        help="the figures at each of these phone check thresholds (comma-separated, after '=':"
        " --phone-sweep=-9,-6), from one run in which every hit of the networks is let through"
        " with its phone score",
    )
    e.add_argument(
        "--sweep",
        action="store_true",
        help="the figures for many pairs of thresholds (the first network's and the verifier's) from"
        " one run over the clips, as a table: for choosing a model's thresholds",
    )
    e.add_argument(
        "--sweep-first",
        type=thresholds,
        metavar="LIST",
        help="the first network's thresholds to sweep, comma-separated (default 0.9,0.95,0.98,0.99,0.995)",
    )
    e.add_argument(
        "--sweep-verifier",
        type=thresholds,
        metavar="LIST",
        help="the verifier's thresholds to sweep (default 0.5,0.8,0.9,0.95,0.98); the model's own"
        " pair is always in the table",
    )
    e.add_argument("--seed", type=int, default=11, help="which clips to make (another seed, other clips)")
    e.add_argument("--workers", type=int, help="processes (default: one per core)")
    e.set_defaults(func=run)


def clip_progress(bar) -> Callable[[int, int], None]:
    """A progress callback (clips done, of how many) for a tqdm bar whose total it learns."""

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return progress


def configured_model(args: argparse.Namespace) -> Path:
    from speaker.wake.classifier import bundled_model

    if getattr(args, "model", None):
        return args.model.expanduser()
    settings = load_settings(args.config)
    if settings.wake.engine != "classifier":
        raise SpeakerError(f"wake.engine is {settings.wake.engine!r}: give a trained model with --model")
    return settings.wake.classifier or bundled_model()


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from speaker.wake.classifier import OFF
    from speaker.wake.model import WakeModel
    from speaker.wake.training.evaluate import Clips, PhoneSweep, evaluate, evaluate_phones
    from speaker.wake.training.sweep import SWEEP_FIRST, SWEEP_VERIFIER, sweep

    model = configured_model(args)
    sweeping = args.sweep or args.sweep_first or args.sweep_verifier
    if sweeping and (args.threshold is not None or args.verify_threshold is not None):
        raise SpeakerError(
            "--threshold and --verify-threshold set one pair; a sweep takes --sweep-first, --sweep-verifier"
        )
    if args.no_phones and (args.phone_threshold is not None or args.phone_sweep):
        raise SpeakerError("--no-phones leaves the phone check out: it has no threshold to try")
    if sweeping and args.phone_sweep:
        raise SpeakerError("sweep the networks' thresholds or the phone check's, one at a time")
    phones = OFF if args.no_phones else args.phone_threshold
    clips = Clips(
        positives=args.positives,
        ordinary_hours=args.hours,
        near_hours=args.near_hours,
        talk_positives=args.talk,
        talk_below_db=args.talk_level,
        breath_positives=args.one_breath,
        seed=args.seed,
        workers=args.workers,
    )
    with tqdm(desc="evaluating", unit="clip") as bar:
        progress = clip_progress(bar)
        if sweeping:
            try:
                report = sweep(
                    model,
                    clips,
                    thresholds=args.sweep_first or SWEEP_FIRST,
                    verify_thresholds=args.sweep_verifier or SWEEP_VERIFIER,
                    progress=progress,
                )
            except ValueError as exc:
                raise SpeakerError(str(exc)) from exc
        elif args.phone_sweep:
            try:
                reports = evaluate_phones(
                    model,
                    clips,
                    args.phone_sweep,
                    threshold=args.threshold,
                    verify_threshold=args.verify_threshold,
                    progress=progress,
                )
            except ValueError as exc:
                raise SpeakerError(str(exc)) from exc
            report = PhoneSweep(reports, WakeModel.load(model).phones)
        else:
            report = evaluate(
                model,
                clips,
                threshold=args.threshold,
                verify_threshold=args.verify_threshold,
                phone_threshold=phones,
                progress=progress,
            )
    print(f"model: {model}")
    for line in report.lines():
        print(line)
    return 0

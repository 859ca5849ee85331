"""`speaker wake phones` and `speaker wake pair`: what a wake model checks after its two networks
(the phone check with its rivals, and pair networks), and the helpers the training commands share."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from speaker.cli import wake_eval
from speaker.errors import SpeakerError
from speaker.settings import load_settings


def progress_bar(label: str):
    from tqdm import tqdm

    state: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = state.get(stage)
        if bar is None:
            names = {"speech": "making speech", "fit": "fitting", "verifier": "fitting the verifier"}
            bar = state[stage] = tqdm(
                total=total,
                desc=f"{label}: {names.get(stage, stage)}",
                unit="clip" if stage == "speech" else "epoch",
            )
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


def piper_voices(settings) -> tuple[str, ...]:
    from speaker.models import ModelStore

    try:
        return (str(ModelStore.from_settings(settings).require(settings.tts.voice).main),)
    except SpeakerError as exc:
        print(
            f"note: training without the piper voice ({exc.message.splitlines()[0]}); espeak-ng voices only"
        )
        return ()


def run_phones(args: argparse.Namespace) -> int:
    from speaker.wake.model import WakeModel
    from speaker.wake.phones import AFTER_S, DEFAULT_THRESHOLD, check_settings

    path = args.model.expanduser()
    model = WakeModel.load(path)
    out = (args.out or args.model).expanduser()
    if args.remove:
        model.phones = None
        if model.pairs:
            print(f"note: its pair networks ({_calls(model)}) hear what the phone check computes: gone too")
            model.pairs = []
        model.save(out)
        print(f"wrote {out}: no phone check")
        return 0
    if args.rival_ceiling is not None and args.no_rivals:
        raise SpeakerError("--rival-ceiling holds rivals to thresholds of their own: it needs rivals")
    if args.fit_positives < 1:
        raise SpeakerError("--fit-positives must be at least 1")
    old = model.phones or {}
    threshold = args.threshold if args.threshold is not None else old.get("threshold", DEFAULT_THRESHOLD)
    if args.determiner_ceiling is not None and args.rival_ceiling is None:
        raise SpeakerError("--determiner-ceiling goes with --rival-ceiling (it fits the determiners' rivals)")
    for option, ceiling in (
        ("--rival-ceiling", args.rival_ceiling),
        ("--determiner-ceiling", args.determiner_ceiling),
    ):
        if ceiling is not None and ceiling < threshold:
            raise SpeakerError(f"{option} {ceiling:g} is below the threshold {threshold:g}")
    heard_after = old.get("after_s", AFTER_S)
    after = args.after if args.after is not None else heard_after
    if model.pairs and after != heard_after:
        print(
            f"note: its pair networks ({_calls(model)}) learned to hear {heard_after:g} s past a hit:"
            " train them again (speaker wake pair)"
        )
    model.phones = check_settings(
        model.phrase,
        threshold,
        after,
        rivals=not args.no_rivals,
    )
    check = model.phones
    if args.rival_ceiling is not None:
        check["rival_offsets"] = _fit_rivals(model, out, args)
    elif old.get("rival_offsets") and old.get("rivals") == check.get("rivals"):
        check["rival_offsets"] = old["rival_offsets"]  # the same rivals: their own thresholds stay
    elif old.get("rival_offsets"):
        print("note: the rivals changed, so they are no longer held to thresholds of their own")
    model.save(out)
    against = f"against {len(check['rivals'])} rival pronunciations" if "rivals" in check else "weakest phone"
    print(
        f"wrote {out}: phone check ({against}) at {check['threshold']:g}, {check['after_s']:g} s after a hit"
    )
    for phones in check["pronunciations"]:
        print("  " + " ".join(phones))
    return 0


def _fit_rivals(model, out: Path, args: argparse.Namespace) -> list[float]:
    """The rivals' own thresholds (as offsets) for this model's phone check, fitted on the phrases
    it catches in held-out clips (the model is heard from a file written beside `out`)."""
    import tempfile

    import numpy as np
    from tqdm import tqdm

    from speaker.wake.phones import load_bundled_recognizers, phone_check, rival_pronunciations
    from speaker.wake.soundalikes import determiner_calls
    from speaker.wake.training.evaluate import caught_margins, fit_rival_offsets, stored_offsets

    threshold = model.phones["threshold"]
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        path = model.save(Path(scratch) / "fitting.npz")
        with tqdm(desc="fitting the rivals' thresholds", unit="clip") as bar:
            margins, phrases = caught_margins(
                path,
                args.fit_positives,
                tuple(args.fit_seeds),
                workers=args.workers,
                progress=wake_eval.clip_progress(bar),
            )
    # the margins are in the order of the check the detector built from these settings
    check = phone_check(load_bundled_recognizers(), model.phones)
    ceilings = np.full(len(check.rivals), float(args.rival_ceiling))
    if args.determiner_ceiling is not None:
        said = model.phones["pronunciations"]
        determined = {check.model.ids(p) for p in rival_pronunciations(determiner_calls(model.phrase), said)}
        ceilings[[k for k, rival in enumerate(check.rivals) if rival in determined]] = args.determiner_ceiling
    try:
        fitted = fit_rival_offsets(margins, threshold, ceilings)
    except ValueError:
        raise SpeakerError(
            f"the model caught none of the {phrases} phrases: no rival thresholds fitted"
        ) from None
    held = ceilings - threshold
    determiners = "" if args.determiner_ceiling is None else f"; the determiners' {args.determiner_ceiling:g}"
    print(
        f"rivals' thresholds from {len(margins)} hits on {phrases} phrases (seeds"
        f" {' '.join(map(str, args.fit_seeds))}): {int(np.sum(fitted >= held - 1e-9))} of {len(fitted)}"
        f" at their ceiling ({args.rival_ceiling:g}{determiners}), {int(np.sum(fitted <= 1e-9))} at"
        f" {threshold:g}, the rest between"
    )
    return stored_offsets(check, model.phones, fitted)


def _calls(model) -> str:
    return ", ".join(repr(pair.phrase) for pair in model.pairs)


def run_pair(args: argparse.Namespace) -> int:
    from speaker.wake.model import WakeModel, same_phrase
    from speaker.wake.pairs import PAIR_THRESHOLD
    from speaker.wake.training.pairs import train_pair

    path = args.model.expanduser()
    model = WakeModel.load(path)
    out = (args.out or args.model).expanduser()
    call = " ".join(args.call.split())
    if not any(ch.isalpha() for ch in call):
        raise SpeakerError('give the call in words, e.g. "hey, can pewter"')
    if same_phrase(call, model.phrase):
        raise SpeakerError(f"{call!r} is the model's own phrase: give a call that sounds like it")
    same = [pair for pair in model.pairs if same_phrase(pair.phrase, call)]
    others = [pair for pair in model.pairs if not same_phrase(pair.phrase, call)]
    if args.remove:
        if not same:
            raise SpeakerError(f"{path} has no pair network for {call!r} (it has: {_calls(model) or 'none'})")
        model.pairs = others
        model.save(out)
        print(f"wrote {out}: no pair network for {call!r}")
        return 0
    if model.phones is None:
        raise SpeakerError(
            f"{path} has no phone check, and a pair network hears what it computes: add one with"
            f" `speaker wake phones {path}`"
        )
    if args.clips < 2:
        raise SpeakerError("--clips must be at least 2")
    if args.phone_margin is not None and not math.isfinite(args.phone_margin):
        raise SpeakerError("--phone-margin must be a number (0: the call's path explains it better)")
    try:
        pair, report = train_pair(
            path,
            call,
            clips=args.clips,
            seed=args.seed,
            workers=args.workers,
            piper_voices=piper_voices(load_settings(args.config)),
            threshold=args.threshold if args.threshold is not None else PAIR_THRESHOLD,
            phone_margin=args.phone_margin,
            progress=progress_bar("pair network"),
        )
    except ValueError as exc:
        raise SpeakerError(f"no pair network for {call!r}: {exc}") from None
    if same:
        print(f"note: it replaces the pair network {path} had for {call!r}")
    model.pairs = [*others, pair]
    model.save(out)
    print(report.line())
    if pair.phone_margin is not None:
        print(
            f"it turns a hit down only when the phone check, too, hears {call!r}: the phrase's path"
            f" leading the call's by less than {pair.phone_margin:g}"
        )
    print(f"wrote {out}: pair networks for {_calls(model)}; measure it: speaker wake eval --model {out}")
    return 0

"""`speaker wake`: train a wake model for any phrase, measure one, or try one on a recording."""

from __future__ import annotations

import argparse
from pathlib import Path

from speaker.cli import wake_eval
from speaker.cli.wake_args import THRESHOLD, between, phone_threshold
from speaker.cli.wake_checks import piper_voices, progress_bar, run_pair, run_phones
from speaker.errors import SpeakerError
from speaker.settings import load_settings

HELP = """\
The default wake engine is a small classifier on speech embeddings, with a second network (the
verifier) that must agree, both trained per phrase from speech made on this machine (piper and
espeak-ng voices, room noise and reverberation, and ordinary talk, near misses and sound-alike
calls as counter-examples). No step needs the internet.

examples:
  speaker wake train "hey jarvis" --out ~/jarvis.npz     ~17 min on 2 cores (--size small: ~4 min)
  speaker wake eval                                      the configured model, on held-out voices
  speaker wake eval --model ~/jarvis.npz --hours 0.5     a quicker, rougher figure; like the
                                                         full one, it lists the sentences that woke it
  speaker wake eval --sweep --seed 7                     misses and false wakes for many pairs of
                                                         thresholds, from one run: for choosing them
  speaker wake eval --phone-sweep=-20,-12,-8,-5           misses and false wakes at several
                                                         thresholds of the phone check, from one run
  speaker wake phones ~/jarvis.npz --threshold -12       (re)set a model's phone check
  speaker wake phones ~/jarvis.npz --rival-ceiling -5    hold each rival to a threshold of its own,
                                                         fitted on held-out clips (~4 min)
  speaker wake pair ~/jarvis.npz "hey, jar of us"        teach it a call that keeps waking it
                                                         (~8 min on 2 cores)
  speaker wake test recording.wav                        when and how surely it hears the phrase

Every hit of the two networks then goes to a phone check: a phone recognizer (trained once, for
any phrase) must find that the phrase's phones, in order, explain the audio around it (0.7 s
after it included) about as well as those of any of its rivals, the phrase with a word swapped
for a sound-alike ("hey computes", "he computed") or its first word for a determiner ("his
computer"). It turns down most sound-alikes. A rival the phrase itself often fits ("hey
compute": a weak last syllable) may come that near; one it never fits ("hey, can pewter") may be
held stricter (--rival-ceiling). Said fast, a sound-alike can be
the phrase itself to the recognizer ("hey, can pewter" heard as "hey compewter"); a pair network
trained on the phrase and that one call still tells them apart (`speaker wake pair`).

Over background talk (a TV) the default model misses about half of the phrases. A model trained
with talk under a share of its clips hears more of them and wakes for nothing more often; joined
to the plain model as an alternate route, either may wake it (figures in README.md):
  speaker wake train "hey jarvis" --talk-share 0.25 --out ~/jarvis_talk.npz
  speaker wake join ~/jarvis.npz ~/jarvis_talk.npz --out ~/jarvis_both.npz

To use a trained model, set in your config:
  wake:
    engine: classifier
    phrase: hey jarvis
    classifier: /home/pi/jarvis.npz
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "wake",
        help="train, evaluate or try a wake word model",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="wake_command", metavar="{train,eval,phones,join,test}", required=True)
    t = sub.add_parser("train", help="make a wake model for a phrase (from synthetic speech)")
    t.add_argument("phrase", help='the wake phrase, e.g. "hey jarvis" (two or three words work best)')
    t.add_argument("--out", type=Path, help="where to write the model (default: ./<phrase>.npz)")
    t.add_argument(
        "--size",
        choices=("full", "small", "tiny"),
        default="full",
        help="how much speech to make: full (default: 1,400 phrases and ~3 h of talk, ~17 min on 2"
        " cores), small (~4 min), tiny (a smoke test)",
    )
    t.add_argument("--seed", type=int, default=1, help="random seed (the same seed makes the same data)")
    t.add_argument(
        "--talk-share",
        type=between(0.0, 0.5, open_ends=False),
        default=0.0,
        metavar="SHARE",
        help="put another voice talking in the background (a TV) under this share of the clips, 0..0.5"
        " (default 0): hears the phrase better over talk, for more false wakes (README)",
    )
    t.add_argument(
        "--one-breath-share",
        type=between(0.0, 1.0, open_ends=False),
        default=0.0,
        metavar="SHARE",
        help="say this share of the phrases in one breath with a request after them, 0..1 (default 0:"
        " a pause, or nothing, after every phrase)",
    )
    t.add_argument("--workers", type=int, help="processes making speech (default: one per core)")
    t.add_argument(
        "--threshold",
        type=THRESHOLD,
        help="store this decision threshold (0..1) instead of the one chosen on validation clips",
    )
    t.add_argument(
        "--verify-threshold",
        type=THRESHOLD,
        help="the same for the verifier, the second network that must agree (0..1)",
    )
    t.set_defaults(func=run_train)
    wake_eval.add_parser(sub)
    j = sub.add_parser(
        "join",
        help="add a model trained over background talk to another as its alternate route",
        description=(
            "Writes MAIN with OTHER (a model for the same phrase, made with `speaker wake train"
            " --talk-share`) as its alternate route: either may wake it. OTHER's thresholds are"
            " kept unless given here."
        ),
    )
    j.add_argument("main", type=Path, help="the model that decides first (its thresholds are kept)")
    j.add_argument("other", type=Path, help="the model trained over background talk")
    j.add_argument("--out", type=Path, required=True, help="where to write the joined model")
    j.add_argument("--threshold", type=THRESHOLD, help="OTHER's first-network threshold (0..1)")
    j.add_argument("--verify-threshold", type=THRESHOLD, help="OTHER's verifier threshold (0..1)")
    j.set_defaults(func=run_join)
    ph = sub.add_parser(
        "phones",
        help="set (or remove) a model's phone check",
        description=(
            "Writes the phone check into a wake model: the phrase's pronunciations (espeak-ng, the"
            " accents the phone recognizer learned), those of its rivals (the phrase with a word"
            " swapped for one that sounds like it: 'hey computes', 'he commuter', ...) and the"
            " threshold its score must reach: how much better the phrase explains the audio around a"
            " hit than the rival that explains it best (a log probability: 0 when no rival fits"
            " better; at -10, a rival may fit better by up to 10). With --no-rivals the score is"
            " how much more likely than any other phone the phrase's weakest phone is heard, at its"
            " surest moment."
        ),
    )
    ph.add_argument("model", type=Path, help="the wake model file")
    ph.add_argument(
        "--threshold",
        type=phone_threshold,
        default=None,
        help="the score to reach (default: the model's, or -10); rivals held to thresholds of"
        " their own keep them as far above it",
    )
    ph.add_argument(
        "--no-rivals",
        action="store_true",
        help="score the weakest phone alone, not the phrase against its rivals",
    )
    ph.add_argument(
        "--after",
        type=between(0.3, 1.2, open_ends=False),
        default=None,
        metavar="SECONDS",
        help="how long after a hit the check listens before it decides (default 0.7)",
    )
    ph.add_argument(
        "--rival-ceiling",
        type=phone_threshold,
        metavar="C",
        help="hold each rival to a threshold of its own, between the model's and C (e.g. -5): the"
        " lowest margin the phrases the model catches in held-out clips have over it (fitted on"
        " --fit-positives phrases of each --fit-seeds clips; a few minutes)",
    )
    ph.add_argument(
        "--determiner-ceiling",
        type=phone_threshold,
        metavar="D",
        help="with --rival-ceiling: the rivals that put a determiner in place of the phrase's first"
        ' word ("his computer") may be held up to D instead (e.g. 0: none of them may explain the'
        " audio better than the phrase); the phrase never comes near them",
    )
    ph.add_argument(
        "--fit-seeds",
        type=int,
        nargs="+",
        default=[7, 8, 9, 10],
        metavar="SEED",
        help="whose held-out clips to fit on (default 7 8 9 10; measure on others: speaker wake eval)",
    )
    ph.add_argument(
        "--fit-positives", type=int, default=200, metavar="N", help="phrases per seed (default 200)"
    )
    ph.add_argument("--workers", type=int, help="processes for fitting (default: one per core)")
    ph.add_argument("--remove", action="store_true", help="remove the phone check instead")
    ph.add_argument("--out", type=Path, help="where to write (default: over MODEL)")
    ph.set_defaults(func=run_phones)
    pa = sub.add_parser(
        "pair",
        help="teach a model to tell its phrase from a call that keeps waking it",
        description=(
            "Trains a pair network for a wake model: the phrase against CALL said in its place (both"
            " by the training voices, in rooms, often after other talk; the call runs on into more words,"
            " as a sound-alike does in talk). Every hit the phone check passes then goes to it, and"
            " it turns down those it is sure are the call (score below --threshold), with"
            " --phone-margin only those the phone check, too, hears as the call. For a"
            " sound-alike that `speaker wake eval` keeps naming among what woke it. The model must"
            " have a phone check; a model may hold several pair networks."
        ),
    )
    pa.add_argument("model", type=Path, help="the wake model file")
    pa.add_argument("call", help='what keeps waking it, e.g. "hey, can pewter" (a few words)')
    pa.add_argument(
        "--clips",
        type=int,
        default=1200,
        help="clips of each, phrase and call (default 1200: about 8 minutes on 2 cores)",
    )
    pa.add_argument(
        "--threshold",
        type=THRESHOLD,
        default=None,
        help="turn a hit down when the network's score is below this (0..1, default 0.05: it must be"
        " 95%% sure it heard the call)",
    )
    pa.add_argument(
        "--phone-margin",
        type=float,
        metavar="M",
        help="decide with the phone check: turn a hit down only when the phrase's best path there also"
        " leads the call's by less than M (0: the call's explains it better). For a call real"
        " phrases come near, where the network alone would turn some of them down (the shipped"
        ' model\'s "hey computes": 0)',
    )
    pa.add_argument("--seed", type=int, default=1, help="random seed (the same seed makes the same clips)")
    pa.add_argument("--workers", type=int, help="processes making speech (default: one per core)")
    pa.add_argument("--remove", action="store_true", help="remove the pair network for CALL instead")
    pa.add_argument("--out", type=Path, help="where to write (default: over MODEL)")
    pa.set_defaults(func=run_pair)
    w = sub.add_parser("test", help="run the configured wake word on a WAV file and print each detection")
    w.add_argument("wav", type=Path, help="a WAV file (any rate and channel count)")
    w.set_defaults(func=run_test)


def run_train(args: argparse.Namespace) -> int:
    from speaker.wake.training.train import summary, train

    phrase = " ".join(args.phrase.lower().split())
    if len(phrase) < 3:
        raise SpeakerError('give a wake phrase of at least one real word, e.g. "hey jarvis"')
    out = args.out or Path(phrase.replace(" ", "_") + ".npz")
    settings = load_settings(args.config)
    model = train(
        phrase,
        out.expanduser(),
        size=args.size,
        seed=args.seed,
        workers=args.workers,
        piper_voices=piper_voices(settings),
        progress=progress_bar("training"),
        threshold=args.threshold,
        verify_threshold=args.verify_threshold,
        talk_share=args.talk_share,
        breath_share=args.one_breath_share,
    )
    print(summary(model))
    print(f"wrote {out}; use it with wake.engine: classifier, wake.phrase: {phrase}, wake.classifier: {out}")
    print(f"measure it on held-out voices: speaker wake eval --model {out}")
    print(
        "choose its thresholds on one seed's clips (then measure on another's):"
        f" speaker wake eval --model {out} --sweep --seed 7"
    )
    print(
        "and hold each of its phone check's rivals to a threshold of its own (fewer near-miss wakes):"
        f" speaker wake phones {out} --rival-ceiling -5 --determiner-ceiling 0"
    )
    print(
        "and if what woke it in `speaker wake eval` is mostly one sound-alike, teach it that one:"
        f' speaker wake pair {out} "CALL"'
    )
    return 0


def run_join(args: argparse.Namespace) -> int:
    from speaker.wake.model import WakeModel, same_phrase

    main, other = WakeModel.load(args.main.expanduser()), WakeModel.load(args.other.expanduser())
    if not same_phrase(main.phrase, other.phrase):
        raise SpeakerError(f"{args.main} is for {main.phrase!r} and {args.other} for {other.phrase!r}")
    if main.alternate is not None or other.alternate is not None:
        raise SpeakerError("one of the two models already has an alternate route: join plain models")
    if args.threshold is not None:
        other.threshold = args.threshold
    if args.verify_threshold is not None:
        if other.verifier is None:
            raise SpeakerError(f"{args.other} has no verifier: --verify-threshold has nothing to set")
        other.verifier.threshold = args.verify_threshold
    main.alternate = other
    main.info["alternate"] = {"file": args.other.name, **other.info}
    main.save(args.out.expanduser())
    verify = f", verifier {other.verifier.threshold:.3f}" if other.verifier else ""
    print(f"wrote {args.out}: {args.main.name}, or else {args.other.name}", end="")
    print(f" (threshold {other.threshold:.3f}{verify})")
    return 0


def run_test(args: argparse.Namespace) -> int:
    from speaker.audio.wavfile import read_mono16k
    from speaker.engines import build_engine
    from speaker.models import ModelStore
    from speaker.wake.base import detect_all

    settings = load_settings(args.config)
    if not args.wav.is_file():
        raise SpeakerError(f"{args.wav}: no such file")
    detector = build_engine(settings, ModelStore.from_settings(settings), "wake")
    detector.load()
    audio = read_mono16k(args.wav)
    found = detect_all(detector, audio)
    for detection in found:
        phones = f"  phone check {detection.phone_score:.2f}" if detection.phone_score is not None else ""
        print(f"{detection.end:7.2f} s  {detection.phrase!r}  score {detection.score:.3f}{phones}")
    print(f"{len(found)} detection(s) in {audio.duration:.1f} s of {args.wav}")
    turned_down = getattr(detector, "phone_rejects", 0)
    if turned_down:
        print(f"{turned_down} hit(s) of the networks turned down by the phone check:")
        for end, score, why in getattr(detector, "turned_down", []):
            print(f"{end:7.2f} s  phone check {score:.2f}" + (f"  ({why})" if why else ""))
    return 0 if found else 1

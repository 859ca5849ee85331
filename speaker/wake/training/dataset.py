"""Training and evaluation audio, made here: spoken, put in a room, and turned into embeddings.

A *positive clip* is a voice saying the phrase, with talk or silence before it and often a
request right after it (people do not pause after the wake word), in a noisy, reverberant room.
Its windows that end just after the phrase are positives; windows that end while the phrase is
still being said are negatives (the model must wait for the whole phrase). A *negative clip*
is a few ordinary or near-miss sentences in a row; all its windows are negatives. A recipe may
put another voice talking in the background (a TV) under a share of both kinds.

Clips are made by worker processes (`Pool`), each with its own voices and embedding models.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from speaker.wake.features import RATE, Embedder, window_end_seconds
from speaker.wake.model import sequences
from speaker.wake.training import texts
from speaker.wake.training.voices import Speaker, Voice, in_room, perturb, random_voice

POSITIVE_AFTER = (0.0, 0.32)  # a window is positive when it ends this long after the phrase ends
NEGATIVE_BEFORE = 0.32  # and a negative when it ends more than this before the phrase ends
HARD = 3.0  # weight of a hard negative (near-miss talk, the phrase not yet finished)
CALLS_SHARE = 0.5  # of the sentences in "calls" talk: sound-alike calls (texts.py), for the verifier
LEAD = 2.2  # seconds of audio before the phrase: a full decision window of history


@dataclass(frozen=True)
class Recipe:
    """What to make: the phrase, the voices' half (training or evaluation), and what else is said."""

    phrase: str
    evaluation: bool
    piper_voices: tuple[str, ...] = ()
    similar: tuple[str, ...] = ()
    talk_share: float = 0.0  # training clips with another voice talking in the background (a TV)
    talk_below_db: float | None = None  # how far under the phrase that talk is (None: 8 to 20 dB, drawn)
    call: str = ""  # a sound-alike call that "call" clips say in the phrase's place (pair networks)
    flow_share: float = 0.0  # phrases said in one breath with the request after them


@dataclass
class Clip:
    audio: np.ndarray  # int16, 16 kHz
    phrase_end: float | None  # seconds; None for negative clips
    kind: str  # "positive", "ordinary", "near" or "calls" (near misses full of sound-alike calls)
    voice: str
    said: tuple[tuple[float, float, str], ...] = ()  # negative clips: (start, end, sentence) in seconds

    def sentence_at(self, seconds: float, before: float = 0.3, after: float = 0.8) -> str | None:
        """The sentence being said at `seconds` (or just before: a decision comes a little after
        the words it heard); the nearest one when two are that close."""
        near = [
            (min(abs(seconds - start), abs(seconds - end)) if not start <= seconds <= end else 0.0, text)
            for start, end, text in self.said
            if start - before <= seconds <= end + after
        ]
        return min(near)[1] if near else None


@dataclass
class Examples:
    """Embedding sequences per clip, with a label per window (1, 0, or -1: not used)."""

    embeddings: list[np.ndarray] = field(default_factory=list)  # (windows, 96) per clip
    labels: list[np.ndarray] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # audio made, per kind

    def extend(self, other: Examples) -> None:
        self.embeddings += other.embeddings
        self.labels += other.labels
        self.kinds += other.kinds
        for kind, seconds in other.seconds.items():
            self.seconds[kind] = self.seconds.get(kind, 0.0) + seconds

    def matrix(self, windows: int, skip: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n, windows * 96) flattened sequences, their 0/1 labels, and their weights: near misses
        and the phrase cut short count `HARD` times as much as other negatives. Clips of the kinds
        in `skip` are left out."""
        rows, ys, ws = [np.zeros((0, windows * 96), np.float32)], [np.zeros(0)], [np.zeros(0)]
        for emb, lab, kind in zip(self.embeddings, self.labels, self.kinds, strict=True):
            if kind in skip:
                continue
            decided = lab[windows - 1 :]  # the label of the decision each sequence makes
            used = decided >= 0
            rows.append(sequences(emb, windows)[used])
            ys.append(decided[used])
            hard = kind in ("near", "calls", "positive")
            ws.append(np.where((decided[used] == 0) & hard, HARD, 1.0))
        return (
            np.concatenate(rows),
            np.concatenate(ys).astype(np.float32),
            np.concatenate(ws).astype(np.float32),
        )


def _trim(samples: np.ndarray, level: int = 200) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > level)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


class ClipMaker:
    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self.speaker = Speaker()
        self.ordinary = texts.ordinary(recipe.evaluation)
        self.near = texts.near_misses(recipe.phrase, recipe.evaluation, list(recipe.similar))
        # the verifier trains on many more sound-alike calls; evaluation's sentences stay as they are
        self.calls = [] if recipe.evaluation else texts.sound_alike_calls(recipe.phrase)
        self.variants = texts.phrase_variants(recipe.phrase)
        self.call_variants = texts.phrase_variants(recipe.call) if recipe.call else []

    def _voice(self, rng: random.Random):
        return random_voice(
            rng, evaluation=self.recipe.evaluation, piper_voices=list(self.recipe.piper_voices)
        )

    def _background(self, rng: random.Random, talk: bool | None) -> np.ndarray | None:
        """Talk by another voice to put under a whole clip (a TV, or what the echo subtraction
        left of the speaker's own reply), or None. `talk` None: the recipe's share of clips
        (with no share, nothing is drawn: the clips are the same as without this)."""
        if talk is None:
            share = 0.0 if self.recipe.evaluation else self.recipe.talk_share
            talk = share > 0 and rng.random() < share
        if not talk:
            return None
        piper = list(self.recipe.piper_voices)
        if piper and rng.random() < 0.5:  # the speaker's own voice, as it talks over a reply
            voice = Voice("piper", rng.choice(piper), speed=rng.uniform(0.9, 1.1))
        else:
            voice = self._voice(rng)
        parts = [self.speaker.say(rng.choice(self.ordinary), voice).astype(np.float32) for _ in range(3)]
        gaps = [_silence(rng.uniform(0.1, 0.5)) for _ in parts]
        return np.concatenate([x for pair in zip(parts, gaps, strict=True) for x in pair])

    def make(self, job: tuple[str, int]) -> Clip:
        """The clip of one job: ("positive" | "talk" | "breath" | "ordinary" | "near" | "calls" |
        "call", seed); a "talk" job is a positive clip with other talk in the background, a
        "breath" job one with the phrase said in one breath with a request, a "call" job one with
        the recipe's call said in the phrase's place."""
        kind, seed = job
        rng = random.Random(seed)
        if kind in ("positive", "talk"):
            return self.positive(rng, talk=True if kind == "talk" else None)
        if kind == "breath":
            return self.positive(rng, flowing=True)
        if kind == "call":
            return self.positive(rng, said=self.call_variants)
        return self.negative(rng, near=kind in ("near", "calls"), calls=kind == "calls")

    def positive(
        self,
        rng: random.Random,
        talk: bool | None = None,
        said: list[str] | None = None,
        flowing: bool | None = None,
    ) -> Clip:
        """The phrase in a room; `talk`: with another voice talking in the background (None:
        the recipe's share of clips, none in evaluation). `said`: other words in the phrase's place,
        in the same setting (a "call" clip; its phrase_end is about where they end). `flowing`: said
        in one breath with a request (None: the recipe's `flow_share` of the clips)."""
        voice = self._voice(rng)
        words = rng.choice(said or self.variants)
        phrase = _trim(self.speaker.say(words, voice)).astype(np.float32)
        # in one breath with what follows: a call always (a sound-alike is said within talk; here
        # the start of an ordinary sentence), the phrase in `flow_share` of its clips (a request)
        if flowing is None:
            flowing = bool(said) or (self.recipe.flow_share > 0 and rng.random() < self.recipe.flow_share)
        if flowing:  # one utterance, in which the phrase (call) ends about where it ends said alone
            alone = len(phrase)
            then = " ".join(rng.choice(self.ordinary).split()[: rng.randint(1, 4)]) if said else ""
            then = then or rng.choice(texts.REQUESTS)
            phrase = _trim(self.speaker.say(f"{words.rstrip('!')} {then}", voice)).astype(np.float32)
        before = _silence(LEAD)
        if rng.random() < 0.4:  # talk that runs into the wake word
            lead_in = _trim(self.speaker.say(rng.choice(self.ordinary), voice)).astype(np.float32)
            before = np.concatenate(
                [before[: int(0.4 * RATE)], lead_in[-int(LEAD * RATE) :], _silence(rng.uniform(0.1, 0.6))]
            )
        after = _silence(rng.uniform(0.0, 0.3))
        if not flowing and rng.random() < 0.6:
            after = np.concatenate(
                [after, self.speaker.say(rng.choice(texts.REQUESTS), voice).astype(np.float32)]
            )
        after = np.concatenate([after, _silence(0.6)])
        audio = np.concatenate([before, phrase, after])
        end = (len(before) + (min(len(phrase), int(0.95 * alone)) if flowing else len(phrase))) / RATE
        shifted = perturb(audio, rng)
        end *= len(shifted) / len(audio)
        background = self._background(rng, talk)
        audio = in_room(shifted, rng, background=background, talk_below_db=self.recipe.talk_below_db)
        return Clip(audio, end, "call" if said else "positive", voice.describe())

    def negative(self, rng: random.Random, near: bool, seconds: float = 12.0, calls: bool = False) -> Clip:
        """Talk: ordinary, near misses, or (`calls`) near misses half of which are sound-alike calls;
        in training, the recipe's share of it with other talk in the background."""
        voice = self._voice(rng)
        pool = self.near if near and self.near else self.ordinary
        parts = [_silence(rng.uniform(0.2, 1.0))]
        spans, at = [], len(parts[0])
        total = 0.0
        while total < seconds:
            call = calls and self.calls and rng.random() < CALLS_SHARE
            text = rng.choice(self.calls if call else pool)
            speech = self.speaker.say(text, voice).astype(np.float32)
            spans.append((at, at + len(speech), text))
            parts += [speech, _silence(rng.uniform(0.1, 0.8))]
            at += len(speech) + len(parts[-1])
            total += (len(speech) / RATE) + 0.4
        plain = np.concatenate(parts)
        audio = perturb(plain, rng)
        scale = len(audio) / len(plain) / RATE  # samples of the plain talk -> seconds of the clip
        said = tuple((start * scale, end * scale, text) for start, end, text in spans)
        kind = "calls" if calls else "near" if near else "ordinary"
        background = self._background(rng, None)
        return Clip(in_room(audio, rng, background=background), None, kind, voice.describe(), said)


def labels_for(clip: Clip, windows: int) -> np.ndarray:
    ends = np.array([window_end_seconds(j) for j in range(windows)])
    if clip.phrase_end is None:
        return np.zeros(windows, np.float32)
    rel = ends - clip.phrase_end
    labels = np.full(windows, -1.0, np.float32)
    labels[(rel >= POSITIVE_AFTER[0]) & (rel <= POSITIVE_AFTER[1])] = 1.0
    labels[rel < -NEGATIVE_BEFORE] = 0.0
    return labels


# --- worker processes ---

_MAKER: ClipMaker | None = None
_EMBEDDER: Embedder | None = None


def _init(recipe: Recipe) -> None:
    global _MAKER, _EMBEDDER
    _MAKER, _EMBEDDER = ClipMaker(recipe), Embedder()


def _make(job: tuple[str, int]) -> Examples:
    assert _MAKER is not None and _EMBEDDER is not None
    clip = _MAKER.make(job)
    kind = clip.kind
    emb = _EMBEDDER.embeddings(clip.audio)
    out = Examples([emb], [labels_for(clip, len(emb))], [kind])
    out.seconds[kind] = len(clip.audio) / RATE
    return out


def jobs_for(
    positives: int,
    ordinary_clips: int,
    near_clips: int,
    seed: int,
    calls_clips: int = 0,
    talk_positives: int = 0,
    breath_positives: int = 0,
) -> list[tuple[str, int]]:
    jobs = [("positive", seed * 1_000_003 + i) for i in range(positives)]
    jobs += [("ordinary", seed * 1_000_003 + 400_000 + i) for i in range(ordinary_clips)]
    jobs += [("near", seed * 1_000_003 + 800_000 + i) for i in range(near_clips)]
    random.Random(seed).shuffle(jobs)  # mixed, so progress is even
    # the verifier's extra talk comes last, so that the first stage's data does not change with it
    jobs += [("calls", seed * 1_000_003 + 1_200_000 + i) for i in range(calls_clips)]
    # phrases over background talk (evaluation's) come after that: the other clips stay the same
    jobs += [("talk", seed * 1_000_003 + 1_600_000 + i) for i in range(talk_positives)]
    # and phrases said in one breath with a request after those
    return jobs + [("breath", seed * 1_000_003 + 2_500_000 + i) for i in range(breath_positives)]


def default_workers(workers: int | None) -> int:
    """`workers`, or else one process per core the speaker may use, at most 4."""
    return workers or max(1, min(len(os.sched_getaffinity(0)), 4))


def in_workers(work: Callable, jobs: Iterable, workers: int | None, init: Callable, args: tuple) -> Iterator:
    """work(job) for each job, in order, as they are done: `workers` processes (default_workers),
    each set up by init(*args) first; with one, in this process."""
    workers = default_workers(workers)
    if workers == 1:
        init(*args)
        yield from map(work, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=init, initargs=args) as pool:
        yield from pool.map(work, jobs, chunksize=4)


def make_examples(
    recipe: Recipe, jobs: list[tuple[str, int]], workers: int | None = None
) -> Iterator[Examples]:
    """Examples per job, as they are made (for a progress bar)."""
    return in_workers(_make, jobs, workers, _init, (recipe,))

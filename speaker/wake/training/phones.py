"""Makes the wake word's phone recognizer (speaker/data/wake/phones.npz): `python -m
speaker.wake.training.phones --out phones.npz`.

Utterances of the training half only (voices, sentences and sound-alike calls that `speaker wake
eval` never uses), each labelled with the phones espeak-ng says for it in the voice's accent,
become speech embeddings every 40 ms with the mel frames at their middle (phones.features); a
small convolutional network learns them with CTC (jax and optax, only needed here: `pip install
-e '.[phones]'`). The shipped recognizer: the defaults (12,000 utterances, 20 epochs; about 25
minutes on 2 cores here, most of it making the speech).
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speaker.wake.features import EMBEDDING_DIM, N_MELS, Embedder
from speaker.wake.phones import MEL_FRAMES, PhoneModel, espeak_phones, features
from speaker.wake.soundalikes import similar_words
from speaker.wake.training import texts, voices

MAX_LABELS = 48
LENGTHS = (32, 48, 64, 96, 128, 192, 256)  # padded lengths of a batch (few shapes, few compilations)


@dataclass
class Utterance:
    text: str
    phones: list[str]
    steps: np.ndarray  # what the recognizer hears (phones.features), one row every 40 ms


_speaker: voices.Speaker | None = None
_embedder: Embedder | None = None


def _texts(phrase: str) -> dict[str, list[str]]:
    prose = texts.half(list(texts.prose()), evaluation=False)
    sentences = texts.half(texts._split(texts.HOUSEHOLD), False) + texts.near_misses(
        phrase, False, similar_words(phrase)
    )
    return {"prose": prose, "sentences": sentences, "calls": texts.sound_alike_calls(phrase)}


def _pick(rng: random.Random, pools: dict[str, list[str]], phrase: str) -> str:
    r = rng.random()
    if r < 0.35:  # a few words of prose: every sound of the language, in many contexts
        words = rng.choice(pools["prose"]).rstrip(".!?").split()
        n = rng.randint(2, 7)
        i = rng.randint(0, max(0, len(words) - n))
        return " ".join(words[i : i + n])
    if r < 0.55:
        return rng.choice(pools["sentences"])
    if r < 0.8 and pools["calls"]:  # the phrase's sound-alikes: where telling phones apart matters
        return rng.choice(pools["calls"])
    said = rng.choice(texts.phrase_variants(phrase))
    return said + ", " + rng.choice(texts.REQUESTS) if rng.random() < 0.6 else said


def _one(job: tuple[int, str, dict[str, list[str]], list[str], int]) -> Utterance | None:
    global _speaker, _embedder
    seed, phrase, pools, piper, mel_frames = job
    if _speaker is None or _embedder is None:
        _speaker, _embedder = voices.Speaker(), Embedder()
    rng = random.Random(seed)
    text = _pick(rng, pools, phrase)
    voice = voices.random_voice(rng, evaluation=False, piper_voices=[Path(p) for p in piper])
    accent = "en-us" if voice.engine == "piper" else voice.name.split("+")[0]
    audio = _speaker.say(text, voice).astype(np.float32)
    if rng.random() < 0.5:
        audio = voices.perturb(audio, rng)
    quiet = [np.zeros(int(voices.RATE * rng.uniform(0.1, 0.4)), np.float32) for _ in range(2)]
    audio = voices.in_room(np.concatenate([quiet[0], audio, quiet[1]]), rng).astype(np.float32)
    steps = features(_embedder, _embedder.mel(audio), mel_frames)
    if not len(steps):
        return None
    return Utterance(text, espeak_phones(text, accent), steps.astype(np.float16))


def make_utterances(
    phrase: str,
    count: int,
    *,
    seeds: tuple[int, ...] = (0,),
    piper_voices: tuple[str, ...] = (),
    mel_frames: int = MEL_FRAMES,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> list[Utterance]:
    """`count` utterances of speech for each seed (the same seed makes the same texts and voices)."""
    pools = _texts(phrase)
    jobs = [
        (seed * 1_000_003 + k, phrase, pools, list(piper_voices), mel_frames)
        for seed in seeds
        for k in range(count)
    ]
    out: list[Utterance] = []
    with ProcessPoolExecutor(workers) as pool:
        for k, utterance in enumerate(pool.map(_one, jobs, chunksize=8)):
            if utterance is not None:
                out.append(utterance)
            if progress is not None:
                progress(k + 1)
    return out


def _inventory(utterances: list[Utterance], min_count: int) -> list[str]:
    counts = collections.Counter(p for u in utterances for p in u.phones)
    return sorted(p for p, n in counts.items() if n >= min_count)


def _examples(utterances: list[Utterance], inventory: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    index = {p: k + 1 for k, p in enumerate(inventory)}
    out = []
    for u in utterances:
        labels = np.array([index[p] for p in u.phones if p in index], np.int32)
        if 0 < len(labels) <= min(MAX_LABELS, len(u.steps)) and len(u.steps) <= LENGTHS[-1]:
            out.append((u.steps.astype(np.float32), labels))
    return out


def _batches(data, size: int, rng: np.random.Generator):
    order = sorted(range(len(data)), key=lambda i: len(data[i][0]) + 10 * rng.random())
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    for group in groups:
        length = next(n for n in LENGTHS if n >= max(len(data[i][0]) for i in group))
        x = np.zeros((len(group), length, data[0][0].shape[1]), np.float32)
        x_pad = np.ones((len(group), length), np.float32)
        y = np.zeros((len(group), MAX_LABELS), np.int32)
        y_pad = np.ones((len(group), MAX_LABELS), np.float32)
        for j, i in enumerate(group):
            e, labels = data[i]
            x[j, : len(e)], x_pad[j, : len(e)] = e, 0
            y[j, : len(labels)], y_pad[j, : len(labels)] = labels, 0
        yield x, x_pad, y, y_pad


def train_recognizer(
    utterances: list[Utterance],
    *,
    epochs: int = 20,
    hidden: int = 192,
    kernels: tuple[int, ...] = (5, 5, 5, 3),
    dropout: float = 0.1,
    min_count: int = 30,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> PhoneModel:
    """A CTC phone recognizer for these utterances (a twentieth of them kept aside to report on);
    it takes the steps as they were made (phones.features, with as many mel frames)."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        raise SystemExit(
            "training the phone recognizer needs jax and optax: pip install -e '.[phones]'"
        ) from None
    inventory = _inventory(utterances, min_count)
    data = _examples(utterances, inventory)
    rng = np.random.default_rng(seed)
    rng.shuffle(data)
    held = max(1, len(data) // 20)
    val, train = data[:held], data[held:]
    if not train:
        raise SystemExit("too few usable utterances to train on")
    frames = np.concatenate([e for e, _ in train])
    mel_frames, extra = divmod(frames.shape[1] - EMBEDDING_DIM, N_MELS)
    if extra or mel_frames < 0:
        raise ValueError(f"steps {frames.shape[1]} wide are not an embedding and whole mel frames")
    mean, std = frames.mean(0), frames.std(0) + 1e-3
    key = jax.random.PRNGKey(seed)
    dims = [frames.shape[1]] + [hidden] * len(kernels)
    params = []
    for k, width in enumerate(kernels):
        key, sub = jax.random.split(key)
        scale = np.sqrt(2.0 / (width * dims[k]))
        params.append((jax.random.normal(sub, (width, dims[k], dims[k + 1])) * scale, jnp.zeros(dims[k + 1])))
    key, sub = jax.random.split(key)
    params.append(
        (
            jax.random.normal(sub, (hidden, len(inventory) + 1)) / np.sqrt(hidden),
            jnp.zeros(len(inventory) + 1),
        )
    )

    def forward(p, x, drop_key=None):
        h = (x - mean) / std
        for w, b in p[:-1]:
            h = jax.lax.conv_general_dilated(h, w, (1,), "SAME", dimension_numbers=("NWC", "WIO", "NWC")) + b
            h = jax.nn.gelu(h)
            if drop_key is not None:
                drop_key, sub = jax.random.split(drop_key)
                h = jnp.where(jax.random.bernoulli(sub, 1 - dropout, h.shape), h / (1 - dropout), 0.0)
        return h @ p[-1][0] + p[-1][1]

    def loss(p, x, x_pad, y, y_pad, drop_key=None):
        per = optax.ctc_loss(forward(p, x, drop_key), x_pad, y, y_pad)
        return jnp.mean(per / jnp.maximum(1.0, (1.0 - y_pad).sum(1)))

    steps = epochs * (len(train) // 32 + 1)
    schedule = optax.warmup_cosine_decay_schedule(0.0, 2e-3, max(1, min(200, steps // 10)), steps, 1e-5)
    optimizer = optax.adamw(schedule, weight_decay=1e-2)
    state = optimizer.init(params)

    @jax.jit
    def step(p, s, x, x_pad, y, y_pad, drop_key):
        value, grads = jax.value_and_grad(loss)(p, x, x_pad, y, y_pad, drop_key)
        updates, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, updates), s, value

    evaluate = jax.jit(loss)
    log(f"{len(train)} utterances to learn, {len(val)} to check, {len(inventory)} phones")
    for epoch in range(epochs):
        started, losses = time.time(), []
        for batch in _batches(train, 32, rng):
            key, sub = jax.random.split(key)
            params, state, value = step(params, state, *batch, sub)
            losses.append(float(value))
        checked = [float(evaluate(params, *batch)) for batch in _batches(val, 64, rng)]
        log(
            f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.3f}, kept aside {np.mean(checked):.3f}"
            f" ({time.time() - started:.0f} s)"
        )
    as_numpy = [(np.asarray(w, np.float32), np.asarray(b, np.float32)) for w, b in params]
    return PhoneModel(
        inventory, as_numpy[:-1], as_numpy[-1], mean.astype(np.float32), std.astype(np.float32), mel_frames
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m speaker.wake.training.phones",
        description="Make the wake word's phone recognizer from speech synthesized here (no internet).",
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write the recognizer (.npz)")
    parser.add_argument("--phrase", default="hey computer", help="whose sound-alikes to say often")
    parser.add_argument("--utterances", type=int, default=12000, help="how many to make (default 12000)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=192, help="channels of each convolution")
    parser.add_argument("--dropout", type=float, default=0.1, help="share of activations dropped in training")
    parser.add_argument(
        "--mel-frames",
        type=int,
        choices=range(0, 9),
        metavar="N",
        default=MEL_FRAMES,
        help=f"mel frames heard beside each embedding, 0..8 (default {MEL_FRAMES}; 0: embeddings alone)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        nargs="+",
        default=[0],
        help="which speech to make (several: --utterances of each, learned together)",
    )
    parser.add_argument(
        "--init-seed",
        type=int,
        help="the network's starting weights and the order it learns in (default: --seed)",
    )
    parser.add_argument("--min-count", type=int, default=30, help="phones heard fewer times are left out")
    parser.add_argument("--workers", type=int, default=2, help="processes making speech")
    parser.add_argument(
        "--piper-voice", action="append", default=[], help="a piper voice (.onnx) to speak too"
    )
    args = parser.parse_args(argv)
    from tqdm import tqdm

    with tqdm(total=args.utterances * len(args.seed), desc="speech", unit="utt", disable=None) as bar:
        utterances = make_utterances(
            args.phrase,
            args.utterances,
            seeds=tuple(args.seed),
            piper_voices=tuple(args.piper_voice),
            mel_frames=args.mel_frames,
            workers=args.workers,
            progress=lambda n: bar.update(n - bar.n),
        )
    model = train_recognizer(
        utterances,
        epochs=args.epochs,
        hidden=args.hidden,
        dropout=args.dropout,
        min_count=args.min_count,
        seed=args.seed[0] if args.init_seed is None else args.init_seed,
    )
    print(f"wrote {model.save(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

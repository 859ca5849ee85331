"""The wake word's last check: do the phrase's phones, in order, explain the audio around a hit
better than those of its sound-alikes?

The networks of model.py learn one phrase from a few dozen synthetic voices, and on voices they
never heard they take its closest sound-alikes for it ("hey computes", "hey, can pewter ...").
A phone recognizer learns every sound of the language from thousands of sentences, so it carries
over to new voices far better; it hears "hey computes and" as h eI k @ m p j u: t s a n d.

The recognizer (`phones.npz`, shipped; `python -m speaker.wake.training.phones` makes it) is a
small 1-D convolutional network over the same speech embeddings as the wake networks, one every
40 ms, each with the four 10 ms mel frames at the middle of its window (an embedding sums up
0.76 s; the mel frames keep the fine detail that tells "computer" from "computes"), trained with
CTC on espeak-ng phone transcriptions of training voices (espeak-ng's ASCII phone names). At a
hit it looks at the audio from `before_s` before to `after_s` after and finds, for the phrase
(in whichever of its pronunciations fits best) and for each of its rivals (the phrase with a
word swapped for one that sounds like it: "hey computes", "he computed", "hey commuter"; or its
first word for a determiner: "his computer", "the computer"), the best path that says its phones
there, anything before and after. The score is how much better the phrase's path is than the
best rival's: a sound-alike said is explained better by its own phones, however well the
phrase's fit. Each rival may be held to a threshold of its own (above the model's by its
`rival_offsets` entry): the phrase itself often fits "hey compute" or "he compute" almost as
well as its own phones (a weak last syllable, a short "hey"), but "hey, can pewter" only when
something else was said; `speaker wake phones --rival-ceiling` fits them on the phrases a model
caught in tuning clips (training/evaluate.py). A model without rivals scores the phrase alone:
at its surest step, how much more likely was each of its phones than any other, the weakest
deciding.
The phrase's phones (several accents' pronunciations), its rivals' and the threshold are in the
wake model. Three recognizers hear each hit, their log probabilities averaged (PhoneEnsemble):
`phones.npz`, `phones_more.npz` (twice that speech) and `phones_other.npz` (other speech); what
they learned from differs, so they err differently.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from speaker.errors import ModelError
from speaker.wake import npzfile
from speaker.wake.ctc import align, path_scores
from speaker.wake.features import EMBEDDING_DIM, N_MELS, WINDOW_FRAMES, Embedder
from speaker.wake.soundalikes import rival_calls

FORMAT = "speaker-phones/1"
HOP_FRAMES = 4  # mel frames (10 ms each) between two embeddings the recognizer sees
MEL_FRAMES = 4  # mel frames beside each embedding (a new recognizer's; 0: embeddings alone)
MEL_AT = WINDOW_FRAMES // 2 - 2  # where in an embedding's window they start: its middle
# espeak-ng accents whose pronunciations of a phrase are kept (those the recognizer trained on)
ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-029", "en-gb-x-gbcwmd")
DEFAULT_THRESHOLD = -10.0  # a new model's, as the shipped one's (chosen on held-out clips: README)
BEFORE_S = 2.3  # how much audio before a hit the check hears
AFTER_S = 0.7  # how long after a hit it listens before it decides (README: 0.55 the same, 0.4 worse)
FIX = "reinstall speaker, or make it again with `python -m speaker.wake.training.phones`"


def bundled_phones() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "wake" / "phones.npz"


def bundled_recognizers() -> tuple[Path, ...]:
    """The recognizers the phone check averages: the first, and two that learned from other speech."""
    return tuple(
        bundled_phones().with_name(name) for name in ("phones.npz", "phones_more.npz", "phones_other.npz")
    )


def parse_espeak(text: str) -> list[str]:
    """Phone names from `espeak-ng -x --sep=_` output: stress and pause marks dropped, the few
    variants the recognizer does not tell apart merged ("t#" -> "t", "@2" -> "@")."""
    out = []
    for token in re.split(r"[\s_]+", text):
        token = token.replace("'", "").replace(",", "").replace("[", "")
        if token.endswith("#") and token != "a#":
            token = token[:-1]
        token = token.replace("@2", "@")
        if token and not set(token) <= {":", ";"}:
            out.append(token)
    return out


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ModelError("espeak-ng is not installed: sudo apt-get install -y espeak-ng")
    return exe


def espeak_phones(text: str, accent: str = "en-us") -> list[str]:
    """How espeak-ng (accent `accent`) pronounces `text`, as phone names."""
    result = subprocess.run(
        [_espeak(), "-q", "-x", "--sep=_", "-v", accent, text], capture_output=True, text=True, check=True
    )
    return parse_espeak(result.stdout)


def espeak_many(texts: list[str], accent: str = "en-us") -> list[list[str]]:
    """espeak_phones() of many short texts, in one run of espeak-ng (one line each; a text whose
    punctuation splits it into clauses is asked for on its own)."""
    plain = [re.sub(r"[^\w' ]+", " ", t).strip() for t in texts]
    result = subprocess.run(
        [_espeak(), "-q", "-x", "--sep=_", "-v", accent],
        input="".join(f"{t}.\n" for t in plain),
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if len(lines) != len(texts):
        return [espeak_phones(t, accent) for t in texts]
    return [parse_espeak(line) for line in lines]


def features(embedder: Embedder, mel: np.ndarray, mel_frames: int) -> np.ndarray:
    """What the recognizer hears of these mel frames: an embedding every HOP_FRAMES, each followed
    by the `mel_frames` mel frames at the middle of its window: (steps, 96 + 32 * mel_frames)."""
    count = (len(mel) - WINDOW_FRAMES) // HOP_FRAMES + 1
    if count <= 0:
        return np.zeros((0, EMBEDDING_DIM + N_MELS * mel_frames), np.float32)
    embeddings = embedder.embed_windows(mel, 0, count, hop=HOP_FRAMES)
    if not mel_frames:
        return embeddings
    rows = np.arange(count)[:, None] * HOP_FRAMES + MEL_AT + np.arange(mel_frames)[None, :]
    return np.concatenate([embeddings, np.asarray(mel, np.float32)[rows].reshape(count, -1)], axis=1)


def pronunciations(phrase: str, accents: tuple[str, ...] = ACCENTS) -> list[list[str]]:
    """The phrase's distinct pronunciations in the training accents."""
    return rival_pronunciations([phrase], [], accents)


def rival_pronunciations(
    texts: list[str], phrase: list[list[str]], accents: tuple[str, ...] = ACCENTS
) -> list[list[str]]:
    """The distinct pronunciations of these texts in the training accents, but for any that is
    one of the phrase's own (`phrase`)."""
    found: list[list[str]] = []
    seen = {tuple(p) for p in phrase}
    for accent in accents:
        for phones in espeak_many(texts, accent) if len(texts) > 1 else [espeak_phones(*texts, accent)]:
            if phones and tuple(phones) not in seen:
                seen.add(tuple(phones))
                found.append(phones)
    return found


@dataclass
class PhoneModel:
    inventory: list[str]  # phone names; class 0 is CTC's blank, class k the phone inventory[k-1]
    layers: list[tuple[np.ndarray, np.ndarray]]  # conv (kernel, in, out) + bias; GELU between
    output: tuple[np.ndarray, np.ndarray]  # (hidden, classes) + bias
    mean: np.ndarray
    std: np.ndarray
    mel_frames: int = 0  # mel frames beside each embedding (features())

    @property
    def width(self) -> int:
        """How many numbers the recognizer takes per step."""
        return EMBEDDING_DIM + N_MELS * self.mel_frames

    def save(self, path: Path | str) -> Path:
        arrays = {"mean": self.mean, "std": self.std, "out_w": self.output[0], "out_b": self.output[1]}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"], arrays[f"b{i}"] = w, b
        header = {
            "format": FORMAT,
            "inventory": self.inventory,
            "layers": len(self.layers),
            "mel_frames": self.mel_frames,
        }
        return npzfile.write(Path(path), {k: np.asarray(v, np.float32) for k, v in arrays.items()}, header)

    @classmethod
    def load(cls, path: Path | str) -> PhoneModel:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"the wake word's phone recognizer {path} does not exist: {FIX}")
        try:
            arrays, header = npzfile.read(path)
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ValueError(f"not in the {FORMAT} format")
            model = cls(
                inventory=[str(p) for p in header["inventory"]],
                layers=[(arrays[f"w{i}"], arrays[f"b{i}"]) for i in range(int(header["layers"]))],
                output=(arrays["out_w"], arrays["out_b"]),
                mean=arrays["mean"],
                std=arrays["std"],
                mel_frames=int(header.get("mel_frames", 0)),
            )
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            zipfile.BadZipFile,
            UnicodeDecodeError,
            EOFError,
        ) as exc:
            raise ModelError(f"the wake word's phone recognizer {path} is damaged ({exc}): {FIX}") from exc
        model.check(path)
        return model

    def check(self, path: Path | str) -> None:
        width, problems = self.width, []
        if not 0 <= self.mel_frames <= WINDOW_FRAMES - MEL_AT:
            problems.append(f"it asks for {self.mel_frames} mel frames per step")
        elif self.mean.shape != (width,) or self.std.shape != (width,):
            problems.append(f"its standardization is not {width} wide")
        for i, (w, b) in enumerate(self.layers):
            if w.ndim != 3 or w.shape[1] != width or b.shape != (w.shape[2],) or w.shape[0] % 2 != 1:
                problems.append(f"layer {i} has shape {w.shape}")
                break
            width = w.shape[2]
        if self.output[0].shape != (width, len(self.inventory) + 1):
            problems.append("its output does not match its phone list")
        arrays = [self.mean, self.std, *self.output] + [a for layer in self.layers for a in layer]
        if not problems and not all(np.isfinite(a).all() for a in arrays):
            problems.append("it holds values that are not finite numbers")
        if problems:
            raise ModelError(
                f"the wake word's phone recognizer {path} is damaged: {'; '.join(problems)}: {FIX}"
            )

    def ids(self, phones: list[str]) -> tuple[int, ...]:
        """Class numbers of phone names (names the recognizer does not know are left out)."""
        index = {p: k + 1 for k, p in enumerate(self.inventory)}
        return tuple(index[p] for p in phones if p in index)

    def log_probs(self, steps: np.ndarray) -> np.ndarray:
        """Per-step log probabilities of blank and each phone, from features(): (n, classes)."""
        h = (np.asarray(steps, np.float32) - self.mean) / self.std
        for w, b in self.layers:
            k = w.shape[0]
            padded = np.pad(h, ((k // 2, k // 2), (0, 0)))
            h = sum(padded[i : i + len(h)] @ w[i] for i in range(k)) + b
            h = 0.5 * h * (1.0 + np.tanh(0.7978845608 * (h + 0.044715 * h**3)))  # GELU
        return _log_softmax(h @ self.output[0] + self.output[1])

    def decode(self, steps: np.ndarray) -> list[str]:
        return _decode(self.log_probs(steps), self.inventory)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _decode(log_probs: np.ndarray, inventory: list[str]) -> list[str]:
    """The best phone at each step, repeats and blanks removed (for looking, not deciding)."""
    best = log_probs.argmax(axis=1)
    return [inventory[c - 1] for i, c in enumerate(best) if c and (i == 0 or best[i - 1] != c)]


@dataclass
class PhoneEnsemble:
    """Several recognizers heard as one: their log probabilities averaged, each mapped to the
    first one's phones by name. Recognizers trained on other speech err differently."""

    members: list[PhoneModel]

    def __post_init__(self) -> None:
        first = self.members[0]
        self.inventory, self.mel_frames = first.inventory, first.mel_frames
        self._columns = []
        for member in self.members:
            if member.mel_frames != first.mel_frames:
                raise ModelError("the phone recognizers to average hear different features")
            missing = [p for p in first.inventory if p not in member.inventory]
            if missing:
                raise ModelError(f"a phone recognizer to average lacks the phones {' '.join(missing)}")
            self._columns.append(np.array([0] + [member.inventory.index(p) + 1 for p in first.inventory]))

    def ids(self, phones: list[str]) -> tuple[int, ...]:
        return self.members[0].ids(phones)

    def log_probs(self, steps: np.ndarray) -> np.ndarray:
        mapped = [
            _log_softmax(m.log_probs(steps)[:, c]) for m, c in zip(self.members, self._columns, strict=True)
        ]
        return sum(mapped) / len(mapped)

    def decode(self, steps: np.ndarray) -> list[str]:
        return _decode(self.log_probs(steps), self.inventory)


@dataclass
class PhoneCheck:
    """The check one wake model asks for: its phrase's pronunciations (and its rivals'), threshold
    and view."""

    model: PhoneModel | PhoneEnsemble
    sequences: list[tuple[int, ...]]
    threshold: float
    before_s: float = BEFORE_S
    after_s: float = AFTER_S
    rivals: list[tuple[int, ...]] = field(default_factory=list)
    # how much stricter than `threshold` each rival is held (>= 0; empty: none is)
    rival_offsets: list[float] = field(default_factory=list)
    best_rival: list[str] | None = None  # the phones of the rival that fit best when it last scored
    last_margins: np.ndarray | None = None  # the phrase's path less each rival's, when it last scored
    last_features: np.ndarray | None = None  # what the recognizer heard when it last scored (pairs.py)
    last_log_probs: np.ndarray | None = None  # what it made of that

    def features(self, embedder: Embedder, mel: np.ndarray) -> np.ndarray:
        return features(embedder, mel, self.model.mel_frames)

    def score(self, embedder: Embedder, mel: np.ndarray) -> float:
        """With rivals: how much better the phrase explains these mel frames than the rival that
        explains them best (log probability of the best path with each). Without: how surely the
        phrase's weakest phone was heard (its margin over any other phone at its surest step)."""
        self.last_features = self.features(embedder, mel)
        log_probs = self.last_log_probs = self.model.log_probs(self.last_features)
        if self.rivals:
            return self.rival_score(log_probs)
        path, confidences = max((align(log_probs, seq) for seq in self.sequences), key=lambda r: r[0])
        return min(confidences) if path > float("-inf") else float("-inf")

    def rival_score(self, log_probs: np.ndarray) -> float:
        """The phrase's best path less the rival's that comes nearest its own threshold (the
        model's plus its offset), less that offset: at or above `threshold`, no rival fits."""
        paths = path_scores(log_probs, self.sequences + self.rivals)
        own = paths[: len(self.sequences)].max()
        rivals = paths[len(self.sequences) :]
        self.last_margins = own - rivals
        held = rivals + np.asarray(self.rival_offsets) if self.rival_offsets else rivals
        best = int(held.argmax())
        self.best_rival = [self.model.inventory[c - 1] for c in self.rivals[best]]
        return float(own - held[best]) if own > float("-inf") else float("-inf")

    def lead_over(self, call: list[list[str]]) -> float | None:
        """At the hit it last scored: how much better the phrase's best path explains it than the
        best of `call`'s pronunciations (negative: the call's does); None when nothing was scored
        or none of them is in the recognizer's phones."""
        sequences = [s for s in (self.model.ids(p) for p in call) if s]
        if self.last_log_probs is None or not sequences:
            return None
        paths = path_scores(self.last_log_probs, self.sequences + sequences)
        return float(paths[: len(self.sequences)].max() - paths[len(self.sequences) :].max())


def phone_check(
    recognizer: PhoneModel | PhoneEnsemble, settings: dict, threshold: float | None = None
) -> PhoneCheck:
    """The check a wake model's phone settings ask for, with this recognizer: its phrase's and
    rivals' phones as the recognizer's classes (a rival that comes out as one of the phrase's
    pronunciations, or twice, is weighed once, at the strictest of its offsets). `threshold`:
    another than the model's (every rival's moves with it)."""
    sequences = [s for s in (recognizer.ids(p) for p in settings["pronunciations"]) if s]
    rivals = settings.get("rivals", [])
    offsets: dict[tuple[int, ...], float] = {}
    for phones, offset in zip(rivals, settings.get("rival_offsets") or [0.0] * len(rivals), strict=True):
        ids = recognizer.ids(phones)
        if ids and ids not in sequences:
            offsets[ids] = max(float(offset), offsets.get(ids, 0.0))
    order = sorted(offsets)
    return PhoneCheck(
        recognizer,
        sequences,
        settings["threshold"] if threshold is None else threshold,
        settings["before_s"],
        settings["after_s"],
        order,
        [offsets[r] for r in order] if any(offsets.values()) else [],
    )


def check_settings(
    phrase: str, threshold: float = DEFAULT_THRESHOLD, after_s: float = AFTER_S, rivals: bool = True
) -> dict:
    """A wake model's phone check for `phrase` (its pronunciations from espeak-ng, and with
    `rivals` those of the sound-alikes it is weighed against), or a ModelError."""
    said = pronunciations(phrase)
    if not said:
        raise ModelError(f"espeak-ng gives no phones for {phrase!r}")
    settings: dict = {
        "pronunciations": said,
        "threshold": threshold,
        "before_s": BEFORE_S,
        "after_s": after_s,
    }
    calls = rival_calls(phrase) if rivals else []
    if calls:
        settings["rivals"] = rival_pronunciations(calls, said)
    return settings


@functools.lru_cache(maxsize=4)
def load_phone_model(path: str) -> PhoneModel:
    return PhoneModel.load(path)


@functools.lru_cache(maxsize=2)
def load_recognizers(paths: tuple[str, ...]) -> PhoneModel | PhoneEnsemble:
    """One recognizer, or several averaged (a ModelError names a missing or damaged file)."""
    models = [load_phone_model(p) for p in paths]
    return models[0] if len(models) == 1 else PhoneEnsemble(models)


def load_bundled_recognizers() -> PhoneModel | PhoneEnsemble:
    """The shipped recognizers the phone check averages (bundled_recognizers), loaded once."""
    return load_recognizers(tuple(str(p) for p in bundled_recognizers()))

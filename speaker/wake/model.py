"""A trained wake word model: a small neural network over the last ~1.3 s of audio embeddings.

The file is a numpy .npz (no pickles): the layers' weights, the input standardization, and a
JSON header with the phrase, the decision threshold chosen at training time and how the model
was made. `speaker wake train` writes it; the `classifier` wake engine reads it.

A model may carry a second network, the *verifier*: it looks at a longer stretch of the same
embeddings (~1.9 s), was trained on many more sound-alike calls, and must agree before a
detection counts. Its arrays are stored under a `v_` prefix and its settings in the header.

A model may also carry an *alternate route*: another pair (network and verifier) for the same
phrase, trained with other talk in the background (`speaker wake train --talk-share`), joined
by `speaker wake join`. Either route may wake it. Its arrays are under `a_` and `av_`.

And *pair networks* (pairs.py): each tells the phrase from one sound-alike call at the hits the
phone check passes; its `phrase` is that call. Arrays under `p0_`, `p1_`, ...
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from speaker.errors import ModelError
from speaker.wake import npzfile
from speaker.wake.features import EMBEDDING_DIM
from speaker.wake.phones import AFTER_S, BEFORE_S

FORMAT = "speaker-wake/1"
FIX = 'make one with `speaker wake train "PHRASE"`, or point wake.classifier at another file'


def sequences(embeddings: np.ndarray, windows: int) -> np.ndarray:
    """The model's inputs along a clip: row k is embeddings k .. k+windows-1, flattened, i.e. the
    decision at window k + windows - 1. Shape (max(0, len - windows + 1), windows * 96)."""
    if len(embeddings) < windows:
        return np.zeros((0, windows * EMBEDDING_DIM), np.float32)
    view = np.lib.stride_tricks.sliding_window_view(embeddings, windows, axis=0)  # (n, 96, windows)
    return np.ascontiguousarray(view.transpose(0, 2, 1)).reshape(len(view), -1).astype(np.float32)


def same_phrase(a: str, b: str) -> bool:
    """Whether two spellings name the same wake phrase (case and punctuation aside)."""
    return _words(a) == _words(b)


def _words(phrase: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", phrase.lower()).split()


@dataclass
class WakeModel:
    phrase: str
    windows: int  # embeddings per decision (one every 80 ms)
    layers: list[tuple[np.ndarray, np.ndarray]]  # (weights, bias); relu between, sigmoid at the end
    mean: np.ndarray
    scale: np.ndarray
    threshold: float = 0.5  # a decision fires when the score reaches this on `hits` steps in a row
    hits: int = 1
    info: dict[str, Any] = field(default_factory=dict)  # how it was made, its evaluation figures
    verifier: WakeModel | None = None  # a second network that must agree (same phrase, longer view)
    alternate: WakeModel | None = None  # another route that may wake it (trained over other talk)
    # the phone check (phones.py): {"pronunciations": [[phone, ...], ...], "threshold": float,
    # "before_s": float, "after_s": float, and "rivals": [[phone, ...], ...] when it weighs the
    # phrase against sound-alikes, with "rival_offsets": [float, ...] when each is held to a
    # threshold of its own}; None: no such check
    phones: dict[str, Any] | None = None
    pairs: list[WakeModel] = field(default_factory=list)  # pair networks, each for its call (pairs.py)
    # A pair network's (pairs.py) call as phones (its pronunciations), and how far the phrase's
    # path may lead the call's in the phone check for the network to turn a hit down: None, it
    # decides alone
    call_phones: list[list[str]] = field(default_factory=list)
    phone_margin: float | None = None

    @property
    def span(self) -> int:
        """Embeddings one decision needs, the verifier's (and the alternate route's) included."""
        return max(
            self.windows,
            self.verifier.windows if self.verifier else 0,
            self.alternate.span if self.alternate else 0,
        )

    @property
    def inputs(self) -> int:
        return self.windows * EMBEDDING_DIM

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Scores in 0..1 for a batch (n, windows * 96) of flattened embedding sequences."""
        x = (np.asarray(features, np.float32) - self.mean) / self.scale
        for i, (weights, bias) in enumerate(self.layers):
            x = x @ weights + bias
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return 1.0 / (1.0 + np.exp(-np.clip(x[:, 0], -40, 40)))

    def score(self, embeddings: np.ndarray) -> float:
        """The score of one (windows, 96) sequence."""
        return float(self.scores(embeddings.reshape(1, -1))[0])

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        header = {"format": FORMAT, "phrase": self.phrase, "hits": self.hits, **self._network("", arrays)}
        header["info"] = self.info
        if self.verifier is not None:
            header["verifier"] = self.verifier._network("v_", arrays)
        if self.alternate is not None:
            header["alternate"] = self.alternate._network("a_", arrays)
            if self.alternate.verifier is not None:
                header["alternate"]["verifier"] = self.alternate.verifier._network("av_", arrays)
        if self.phones is not None:
            header["phones"] = self.phones
        if self.pairs:
            header["pairs"] = [
                {"call": pair.phrase, **pair._network(f"p{k}_", arrays), **pair._with_phones()}
                for k, pair in enumerate(self.pairs)
            ]
        return npzfile.write(path, arrays, header)

    def _network(self, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """Put this network's arrays in `arrays` under `prefix`; its header fields."""
        arrays[prefix + "mean"], arrays[prefix + "scale"] = self.mean, self.scale
        for i, (weights, bias) in enumerate(self.layers):
            arrays[f"{prefix}w{i}"] = weights.astype(np.float32)
            arrays[f"{prefix}b{i}"] = bias.astype(np.float32)
        return {"windows": self.windows, "threshold": self.threshold, "layers": len(self.layers)}

    def _with_phones(self) -> dict[str, Any]:
        """A pair network's header fields for deciding with the phone check (none if it decides alone)."""
        if self.phone_margin is None:
            return {}
        return {"call_phones": self.call_phones, "phone_margin": self.phone_margin}

    @classmethod
    def _from(
        cls, phrase: str, fields: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str
    ) -> WakeModel:
        return cls(
            phrase=phrase,
            windows=int(fields["windows"]),
            layers=[(arrays[f"{prefix}w{i}"], arrays[f"{prefix}b{i}"]) for i in range(int(fields["layers"]))],
            mean=arrays[prefix + "mean"],
            scale=arrays[prefix + "scale"],
            threshold=float(fields["threshold"]),
        )

    @classmethod
    def load(cls, path: Path | str) -> WakeModel:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"wake model {path} does not exist: {FIX}")
        try:
            arrays, header = npzfile.read(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, EOFError) as exc:
            raise ModelError(f"wake model {path} is not a readable wake model ({exc}): {FIX}") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ModelError(f"wake model {path} is not in the {FORMAT} format: {FIX}")
        try:
            model = cls._from(str(header["phrase"]), header, arrays, "")
            model.hits, model.info = int(header.get("hits", 1)), dict(header.get("info", {}))
            model.phones = _phone_check(header.get("phones"))
            if header.get("verifier") is not None:
                model.verifier = cls._from(model.phrase, header["verifier"], arrays, "v_")
            if header.get("alternate") is not None:
                alt = header["alternate"]
                model.alternate = cls._from(model.phrase, alt, arrays, "a_")
                if alt.get("verifier") is not None:
                    model.alternate.verifier = cls._from(model.phrase, alt["verifier"], arrays, "av_")
            pairs = header.get("pairs") or []
            model.pairs = [_pair(fields, arrays, f"p{k}_") for k, fields in enumerate(pairs)]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"wake model {path} is incomplete (missing {exc}): {FIX}") from exc
        model.check(path)
        return model

    def check(self, path: Path | str, part: str = "") -> None:
        """Shapes that fit together and numbers that are numbers, or a ModelError naming the file."""
        problems = []
        width = self.inputs
        if self.mean.shape != (width,) or self.scale.shape != (width,):
            problems.append(f"standardization is not {width} wide")
        for i, (weights, bias) in enumerate(self.layers):
            if weights.ndim != 2 or weights.shape[0] != width or bias.shape != (weights.shape[1],):
                problems.append(f"layer {i} has shape {weights.shape} after width {width}")
                break
            width = weights.shape[1]
        if not self.layers or width != 1:
            problems.append("the last layer does not give one score")
        arrays = [self.mean, self.scale] + [a for layer in self.layers for a in layer]
        if not problems and not all(np.isfinite(a).all() for a in arrays):
            problems.append("it holds values that are not finite numbers")
        if not 0.0 < self.threshold < 1.0 or self.hits < 1 or not self.phrase.strip():
            problems.append("its threshold, hits or phrase is out of range")
        if problems:
            raise ModelError(f"wake model {path} is damaged{part}: {'; '.join(problems)}: {FIX}")
        if self.verifier is not None:
            self.verifier.check(path, f"{part} (its verifier)")
        if self.alternate is not None:
            self.alternate.check(path, " (its alternate route)")
        for pair in self.pairs:
            pair.check(path, f" (its pair network for {pair.phrase!r})")
        if self.pairs and self.phones is None:
            raise ModelError(f"wake model {path} has pair networks but no phone check to hear with: {FIX}")


def _pair(fields: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str) -> WakeModel:
    """A pair network from its header fields (a ValueError when its phone fields do not fit)."""
    pair = WakeModel._from(str(fields["call"]), fields, arrays, prefix)
    if fields.get("phone_margin") is not None:
        pair.phone_margin = float(fields["phone_margin"])
        pair.call_phones = [[str(p) for p in seq] for seq in fields["call_phones"]]
        if not pair.call_phones or not all(pair.call_phones) or not np.isfinite(pair.phone_margin):
            raise ValueError(f"the call phones or phone margin of the pair network for {pair.phrase!r}")
    return pair


def _phone_check(fields: Any) -> dict[str, Any] | None:
    """The phone check's settings from a header, checked (a ValueError when they do not fit)."""
    if fields is None:
        return None
    pronunciations = [[str(p) for p in seq] for seq in fields["pronunciations"]]
    if not pronunciations or not all(pronunciations):
        raise ValueError("'phones' with no pronunciation")
    check = {
        "pronunciations": pronunciations,
        "threshold": float(fields["threshold"]),
        "before_s": float(fields.get("before_s", BEFORE_S)),
        "after_s": float(fields.get("after_s", AFTER_S)),
    }
    if fields.get("rivals"):
        rivals = [[str(p) for p in seq] for seq in fields["rivals"]]
        if not all(rivals):
            raise ValueError("'phones' with an empty rival")
        check["rivals"] = rivals
        offsets = fields.get("rival_offsets")
        if offsets is not None:
            offsets = [float(x) for x in offsets]
            if len(offsets) != len(rivals) or not all(0.0 <= x < 100.0 for x in offsets):
                raise ValueError("'phones' with rival offsets that do not fit its rivals")
            check["rival_offsets"] = offsets
    return check

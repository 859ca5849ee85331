"""Fitting the wake model: a two-layer network trained with Adam, in numpy (no training framework).

The loss is binary cross-entropy with the positives weighted up to balance the classes, and
every false positive in near-miss talk costs as much as anywhere else. The decision threshold is
then chosen on validation clips held out of fitting: the lowest threshold whose false wakes on
that clips' talk stay under `max_false_per_hour`, which keeps the most wake words.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from speaker.wake.model import WakeModel, sequences
from speaker.wake.training.dataset import Examples


def _init_layer(rng: np.random.Generator, n_in: int, n_out: int) -> list[np.ndarray]:
    return [
        rng.normal(0.0, math.sqrt(2.0 / n_in), (n_in, n_out)).astype(np.float32),
        np.zeros(n_out, np.float32),
    ]


def fit_network(
    x: np.ndarray,
    y: np.ndarray,
    sample_weights: np.ndarray | None = None,
    *,
    hidden: tuple[int, ...] = (64, 32),
    epochs: int = 30,
    batch: int = 512,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Layers, mean and scale of a network that scores x (n, d) as y (n,) in 0/1."""
    rng = np.random.default_rng(seed)
    mean = x.mean(axis=0).astype(np.float32)
    scale = (x.std(axis=0) + 1e-3).astype(np.float32)
    xs = ((x - mean) / scale).astype(np.float32)
    sizes = [x.shape[1], *hidden, 1]
    params = [p for a, b in zip(sizes, sizes[1:], strict=False) for p in _init_layer(rng, a, b)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    positive_weight = float((y == 0).sum()) / max(1.0, float((y == 1).sum()))
    weights = np.where(y == 1, positive_weight, 1.0).astype(np.float32)
    if sample_weights is not None:
        weights *= sample_weights
    weights /= weights.mean()
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(len(xs))
        total = 0.0
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            grads, loss = _gradients(params, xs[idx], y[idx], weights[idx])
            total += loss * len(idx)
            step += 1
            for i, g in enumerate(grads):
                g = g + weight_decay * params[i] if params[i].ndim == 2 else g
                moments[i] = 0.9 * moments[i] + 0.1 * g
                squares[i] = 0.999 * squares[i] + 0.001 * g * g
                m_hat = moments[i] / (1 - 0.9**step)
                v_hat = squares[i] / (1 - 0.999**step)
                params[i] -= learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        if progress is not None:
            progress(epoch + 1, total / max(1, len(xs)))
    layers = [(params[i], params[i + 1]) for i in range(0, len(params), 2)]
    return layers, mean, scale


def _gradients(
    params: list[np.ndarray], x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[list[np.ndarray], float]:
    activations = [x]
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < n_layers - 1:
            h = np.maximum(h, 0.0)
        activations.append(h)
    logits = h[:, 0]
    p = 1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))
    loss = float(np.mean(w * (np.logaddexp(0, logits) - y * logits)))
    delta = (w * (p - y) / len(y))[:, None].astype(np.float32)
    grads: list[np.ndarray] = [np.zeros(0)] * len(params)
    for i in reversed(range(n_layers)):
        grads[2 * i] = activations[i].T @ delta
        grads[2 * i + 1] = delta.sum(axis=0)
        if i > 0:
            delta = (delta @ params[2 * i].T) * (activations[i] > 0)
    return grads, loss


def sequence_scores(model: WakeModel, examples: Examples) -> list[np.ndarray]:
    """The model's score at every window of every clip (0 where the history is too short)."""
    out = []
    n = model.windows
    for emb in examples.embeddings:
        scores = np.zeros(len(emb), np.float32)
        if len(emb) >= n:
            scores[n - 1 :] = model.scores(sequences(emb, n))
        out.append(scores)
    return out


def count_events(scores: np.ndarray, threshold: float, hits: int = 1, refractory: int = 16) -> int:
    """Detections in one clip's scores, as the live detector makes them: after one, the loop
    resets it, and a decision needs `refractory` new windows of history again."""
    events = streak = 0
    quiet_until = -1
    for j, s in enumerate(scores):
        if j < quiet_until:
            continue
        streak = streak + 1 if s >= threshold else 0
        if streak >= hits:
            events += 1
            streak = 0
            quiet_until = j + refractory
    return events


def detected(scores: np.ndarray, labels: np.ndarray, threshold: float, hits: int = 1) -> bool:
    """Whether a positive clip's phrase was caught in time (by the end of its positive windows)."""
    positive = np.flatnonzero(labels == 1)
    if not positive.size:
        return False
    return count_events(scores[: positive[-1] + 1], threshold, hits) > 0


def choose_threshold(
    model: WakeModel, validation: Examples, max_false_per_hour: float, floor: float = 0.5
) -> tuple[float, dict[str, float]]:
    """The lowest threshold (most wake words kept) whose false wakes on validation talk are rare enough."""
    scores = sequence_scores(model, validation)
    negative_hours = sum(s for k, s in validation.seconds.items() if k != "positive") / 3600
    candidates = sorted({floor, *np.linspace(floor, 0.999, 60).tolist()})
    for threshold in candidates:
        false = sum(
            count_events(s, threshold, model.hits, model.windows)
            for s, kind in zip(scores, validation.kinds, strict=True)
            if kind != "positive"
        )
        if negative_hours > 0 and false / negative_hours > max_false_per_hour and threshold < candidates[-1]:
            continue  # the strictest candidate is taken anyway: say what it does (figures below)
        caught = [
            detected(s, lab, threshold, model.hits)
            for s, lab, kind in zip(scores, validation.labels, validation.kinds, strict=True)
            if kind == "positive"
        ]
        figures = {
            "threshold": round(float(threshold), 4),
            "false_rejects": round(1 - float(np.mean(caught)) if caught else 1.0, 4),
            "false_accepts": float(false),
            "negative_hours": round(negative_hours, 3),
        }
        return float(threshold), figures
    raise AssertionError("unreachable: the last candidate is always taken")

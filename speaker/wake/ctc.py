"""Keyword paths through a CTC recognizer's output: how well a phone sequence, said somewhere in
these steps with anything before and after it, explains them (the phone check of phones.py)."""

from __future__ import annotations

import numpy as np


def align(log_probs: np.ndarray, sequence: tuple[int, ...]) -> tuple[float, list[float]]:
    """The best path that says `sequence` somewhere in these steps, against the best path of all.

    The path is: any classes, then the sequence in CTC's way (each phone one or more steps, blanks
    between allowed, needed between repeats), then any classes. Returns its score less the
    unconstrained best (0 when the sequence is the best explanation of its stretch of audio, more
    negative the more the audio says something else) and, for each phone of the sequence, how much
    more likely it is than any other phone at its surest step on that path (negative: another phone
    was heard there; a phone squeezed into one step where nothing was said scores low too).
    """
    steps = len(log_probs)
    if not sequence or steps == 0:
        return float("-inf"), [float("-inf")] * len(sequence)
    labels = [0]
    for phone in sequence:
        labels += [phone, 0]
    lab = np.array(labels)
    size = len(lab)
    skip = np.zeros(size, bool)  # a phone may follow the one two states back, the blank skipped
    skip[2:] = (lab[2:] != 0) & (lab[2:] != lab[:-2])
    best = log_probs.max(axis=1)
    neg = -1e30
    # states: 0 before the sequence, 1..size inside it (lab[k - 1]), size + 1 after it
    score = np.full(size + 2, neg)
    score[0] = 0.0
    back = np.zeros((steps, size + 2), np.int32)
    inside = np.arange(1, size + 1)
    for t in range(steps):
        stay, advance = score[1 : size + 1], np.full(size, neg)
        advance[1:] = score[1:size]
        advance[:2] = np.maximum(advance[:2], score[0])  # enter at the first blank or the first phone
        jump = np.full(size, neg)
        jump[2:] = np.where(skip[2:], score[1 : size - 1], neg)
        from_before = np.zeros(size, bool)  # an advance into the first two states from before
        from_before[0], from_before[1] = True, score[0] >= score[1]
        options = np.stack([stay, advance, jump])
        choice = options.argmax(axis=0)
        came = np.where(
            choice == 0, inside, np.where(choice == 1, np.where(from_before, 0, inside - 1), inside - 2)
        )
        new = np.empty(size + 2)
        new[0] = score[0] + best[t]
        new[1 : size + 1] = options.max(axis=0) + log_probs[t, lab]
        leave = [(score[size + 1], size + 1), (score[size], size), (score[size - 1], size - 1)]
        value, state = max(leave)
        new[size + 1] = value + best[t]
        back[t, 0], back[t, 1 : size + 1], back[t, size + 1] = 0, came, state
        score = new
    value, state = max((score[size + 1], size + 1), (score[size], size), (score[size - 1], size - 1))
    on: dict[int, list[int]] = {}
    for t in range(steps - 1, -1, -1):
        if 1 <= state <= size and lab[state - 1] != 0:
            on.setdefault(state - 1, []).append(t)
        state = back[t, state]
    confidences = []
    for k in range(1, size, 2):
        frames = on.get(k, [])
        if not frames:
            confidences.append(float("-inf"))
            continue
        rows = log_probs[frames].copy()
        own = rows[:, lab[k]].copy()
        rows[:, [0, lab[k]]] = -np.inf
        confidences.append(float(np.max(own - rows.max(axis=1))))
    return float(value - best.sum()), confidences


def path_scores(log_probs: np.ndarray, sequences: list[tuple[int, ...]]) -> np.ndarray:
    """align()'s first figure for many sequences at once: for each, its best path through these
    steps (any classes, the sequence in CTC's way, any classes) less the unconstrained best path.
    One pass over the steps for all of them (their states side by side, the shorter padded);
    an empty sequence scores -inf."""
    count = len(sequences)
    lengths = np.array([len(s) for s in sequences], np.int64)
    if count == 0 or len(log_probs) == 0:
        return np.full(count, float("-inf"))
    size = 2 * int(lengths.max()) + 1
    lab = np.zeros((count, size), np.int64)  # blank, phone, blank, ..., blank; padded with blanks
    for i, seq in enumerate(sequences):
        lab[i, 1 : 2 * len(seq) : 2] = seq
    skip = np.zeros((count, size), bool)
    skip[:, 2:] = (lab[:, 2:] != 0) & (lab[:, 2:] != lab[:, :-2])
    rows = np.arange(count)
    last_blank, last_phone = 2 * lengths, np.maximum(2 * lengths - 1, 0)
    best = log_probs.max(axis=1)
    neg = -1e30
    before, inside, after = 0.0, np.full((count, size), neg), np.full(count, neg)
    for t in range(len(log_probs)):
        came = inside.copy()
        came[:, 1:] = np.maximum(came[:, 1:], inside[:, :-1])
        came[:, :2] = np.maximum(came[:, :2], before)
        came[:, 2:] = np.maximum(came[:, 2:], np.where(skip[:, 2:], inside[:, :-2], neg))
        leave = np.maximum(inside[rows, last_blank], inside[rows, last_phone])
        after = np.maximum(after, leave) + best[t]
        before += best[t]
        inside = came + log_probs[t][lab]
    value = np.maximum(after, np.maximum(inside[rows, last_blank], inside[rows, last_phone]))
    return np.where((lengths > 0) & (value > neg / 2), value - best.sum(), float("-inf"))

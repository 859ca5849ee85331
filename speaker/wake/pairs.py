"""Pair networks: each tells the wake phrase from one call that keeps being taken for it.

Some sound-alikes are the phrase itself to the phone recognizer: said fast, "hey, can pewter"
comes out as `h eI k @ m p j u: t 3`, and no rival's threshold can turn it down. A network
trained on just the two (the phrase, and the call said in its place, by the training voices)
still tells them apart: it hears the same embeddings the phone check computes around a hit
(every 40 ms, from ~1.5 s before it to 0.7 s after) and gives the probability that they are
the phrase. A hit the phone check passes is turned down when any pair network's score is below
its threshold (`PAIR_THRESHOLD`: it must be fairly sure it heard the call).

A network may also be made to decide with the phone check (its `phone_margin`): it turns a hit
down only when the check, too, leans to the call, the phrase's path leading the call's by less
than that margin. The two hear differently and err on different voices: for "hey computes" the
network alone turned down a few real phrases (voices whose last syllable is weak), the check
alone could not be set to tell them, and on those phrases the check heard the phrase; on the
"computes" that woke the model, both heard the call.

`speaker wake pair MODEL "CALL"` trains one and writes it into the model (training/pairs.py).
"""

from __future__ import annotations

import numpy as np

from speaker.wake.features import EMBEDDING_DIM
from speaker.wake.model import WakeModel
from speaker.wake.phones import PhoneCheck

PAIR_ROWS = 39  # the phone check's embeddings a pair network hears: the last 39 (1.5 s before a hit on)
PAIR_THRESHOLD = 0.05  # below this score a hit is taken for the call (chosen on held-out tuning clips)


def pair_input(embeddings: np.ndarray, rows: int) -> np.ndarray | None:
    """A pair network's input from the phone check's features (steps, >= 96): the embeddings of
    the last `rows` steps, flattened (1, rows * 96); None when there are fewer steps."""
    if len(embeddings) < rows:
        return None
    return np.ascontiguousarray(embeddings[-rows:, :EMBEDDING_DIM]).reshape(1, -1)


def taken_for(pairs: list[WakeModel], check: PhoneCheck) -> tuple[WakeModel, float] | None:
    """The first pair network that takes what the phone check last heard for its call (with the
    check's agreement, for one that asks it), with its score; None if none does (or the check
    heard too little for them to decide)."""
    if check.last_features is None:
        return None
    for pair in pairs:
        x = pair_input(check.last_features, pair.windows)
        if x is None:
            continue
        score = float(pair.scores(x)[0])
        if score >= pair.threshold:
            continue
        if pair.phone_margin is not None:
            lead = check.lead_over(pair.call_phones)
            if lead is None or lead >= pair.phone_margin:
                continue
        return pair, score
    return None

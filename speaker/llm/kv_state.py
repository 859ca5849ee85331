"""Saving and restoring the evaluated prompt (the KV cache) of a llama-cpp-python model.

llama.cpp can copy one sequence's KV cells out and back in (`llama_state_seq_get_data` /
`set_data`): for SmolLM2 135M about 23 KB per token, copied in well under a millisecond.
`Llama.save_state()` would also copy the logits buffer (megabytes per prompt), so this module
talks to the context directly; it is the one place that touches llama-cpp-python internals.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SEQUENCE = 0  # llama-cpp-python evaluates everything in sequence 0


@dataclass(frozen=True)
class SavedPrompt:
    tokens: tuple[int, ...]  # the tokens whose state this is, in order
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def save(llm: Any) -> SavedPrompt:
    """The state of everything evaluated so far."""
    import llama_cpp

    ctx = llm._ctx.ctx
    size = llama_cpp.llama_state_seq_get_size(ctx, SEQUENCE)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, SEQUENCE)
    if written == 0 or written > size:
        raise RuntimeError("llama.cpp could not copy the prompt state")
    tokens = tuple(int(t) for t in llm.input_ids[: llm.n_tokens])
    return SavedPrompt(tokens, bytes(buffer)[:written])


def restore(llm: Any, saved: SavedPrompt) -> None:
    """Make `saved` the evaluated prompt, replacing whatever the context held."""
    import llama_cpp

    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    buffer = (ctypes.c_uint8 * len(saved.data)).from_buffer_copy(saved.data)
    if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, len(saved.data), SEQUENCE) == 0:
        llm.n_tokens = 0
        raise RuntimeError("llama.cpp refused a saved prompt state")
    n = len(saved.tokens)
    llm.input_ids[:n] = saved.tokens
    llm.n_tokens = n
    llm._requires_eval = True  # the logits are not restored: the next call evaluates a token again


def evaluate(llm: Any, tokens: Sequence[int]) -> int:
    """Evaluate `tokens`, reusing the longest prefix already evaluated; returns the tokens evaluated."""
    n = common_prefix(llm.input_ids[: llm.n_tokens], tokens)
    if n == len(tokens):
        if llm.n_tokens > n:  # more was evaluated: keep only the prefix
            llm._ctx.kv_cache_seq_rm(-1, n, -1)
            llm.n_tokens = n
            llm._requires_eval = True
        return 0
    llm.n_tokens = n  # eval() drops the cache from here on
    llm.eval(list(tokens[n:]))
    return len(tokens) - n


def reset_counters(llm: Any) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)


def evaluated_prompt_tokens(llm: Any) -> int:
    """Prompt tokens llama.cpp evaluated since reset_counters(): its own count, not ours.

    llama.cpp counts tokens decoded in batches as prompt tokens and single-token decodes as
    generated ones; a prompt whose only new token is its last one is one single-token decode.
    Call it once the first token is out (a generated token may already have been decoded).
    """
    import llama_cpp

    llama_cpp.llama_synchronize(llm._ctx.ctx)
    data = llama_cpp.llama_perf_context(llm._ctx.ctx)
    return int(data.n_p_eval) if data.n_p_eval > 0 else min(int(data.n_eval), 1)

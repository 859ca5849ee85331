"""A quantized GGUF chat model through llama-cpp-python, streamed token by token.

The prompt is rendered with the model's own chat template and tokenized here, so that the
longest prefix already in the KV cache (the system prompt, earlier turns) is known and is not
evaluated again: a turn pays only for its new tokens.

Each system prompt's evaluated state is saved once (kv_state) and restored when a turn starts
with it, so switching between dialog modes does not evaluate a mode's system prompt again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from speaker.errors import ModelError, StageError
from speaker.llm import kv_state
from speaker.llm.base import ChatMessage, GenerationOptions, GenerationStats

log = logging.getLogger(__name__)

# Used only when a GGUF carries no chat template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class LlamaChatModel:
    def __init__(
        self,
        model_path: Path,
        *,
        context_tokens: int = 2048,
        threads: int = 2,
        seed: int = 7,
        saved_prompts: int = 12,
    ) -> None:
        self.model_path = Path(model_path)
        self.context_tokens = context_tokens
        self.threads = threads
        self.seed = seed
        self.saved_prompts = saved_prompts  # system prompt states kept (least recently used dropped)
        self._llm: Any = None
        self._formatter: Any = None
        self._prefix_formatter: Any = None
        self._stop: list[str] = []
        self._lock = threading.Lock()
        self._saved: OrderedDict[tuple[int, ...], kv_state.SavedPrompt] = OrderedDict()

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> None:
        if self._llm is not None:
            return
        if not self.model_path.is_file():
            raise ModelError(f"language model file not found: {self.model_path}")
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        try:
            self._llm = Llama(
                model_path=str(self.model_path),
                n_ctx=self.context_tokens,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                seed=self.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"cannot load language model {self.model_path.name}: {exc}") from exc
        metadata = self._llm.metadata or {}
        template = metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE
        eos = self._token_text(self._llm.token_eos())
        bos = self._token_text(self._llm.token_bos())
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._prefix_formatter = Jinja2ChatFormatter(
            template=template, eos_token=eos, bos_token=bos, add_generation_prompt=False
        )
        self._stop = [s for s in {eos, "<|im_end|>", "<end_of_turn>"} if s]

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The tokens of the prompt for `messages`, ending with the cue for the assistant to answer."""
        return self._render(self._formatter, messages)

    def prefix_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The tokens `messages` contribute to any longer prompt (no assistant cue at the end)."""
        return self._render(self._prefix_formatter, messages)

    def count_tokens(self, text: str) -> int:
        self._require_loaded()
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    @property
    def saved_prompt_bytes(self) -> int:
        return sum(saved.size for saved in self._saved.values())

    def forget_saved_prompts(self) -> None:
        """Drop every saved prompt state and the KV cache (for measuring what reuse gains)."""
        with self._lock:
            self._saved.clear()
            if self._llm is not None:
                self._llm.reset()

    def _render(self, formatter: Any, messages: Sequence[ChatMessage]) -> list[int]:
        self._require_loaded()
        rendered = formatter(messages=[{"role": m.role, "content": m.content} for m in messages])
        return self._llm.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )

    def cached_prefix(self, tokens: Sequence[int]) -> int:
        """How many leading tokens of `tokens` are already evaluated in the KV cache."""
        self._require_loaded()
        current = self._llm.input_ids[: self._llm.n_tokens]
        n = 0
        for a, b in zip(current, tokens, strict=False):
            if a != b:
                break
            n += 1
        return n

    def warm(self, messages: Sequence[ChatMessage]) -> None:
        """Evaluate a prompt prefix (a system prompt) now and keep its state for every later turn."""
        tokens = self.prefix_tokens(messages)
        with self._lock:
            self._remember(tokens)

    def _remember(self, tokens: list[int]) -> None:
        """Make sure the state of exactly-this-prefix is saved (evaluating it if need be)."""
        key = tuple(tokens)
        if key in self._saved:
            self._saved.move_to_end(key)
            return
        if self.cached_prefix(tokens) < len(tokens):
            kv_state.evaluate(self._llm, tokens)
        # The context may hold more than the prefix (an earlier turn): saved too, harmlessly,
        # since a restore is only ever used up to the prefix it shares with the new prompt.
        self._saved[key] = kv_state.save(self._llm)
        while len(self._saved) > self.saved_prompts:
            self._saved.popitem(last=False)

    def _restore_best(self, tokens: list[int]) -> None:
        """Restore the saved state sharing the longest prefix with `tokens`, if it beats the cache."""
        best_n, best_key = self.cached_prefix(tokens), None
        for key, saved in self._saved.items():
            n = kv_state.common_prefix(saved.tokens, tokens)
            if n > best_n:
                best_n, best_key = n, key
        if best_key is not None:
            kv_state.restore(self._llm, self._saved[best_key])
            self._saved.move_to_end(best_key)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        stats = stats if stats is not None else GenerationStats()
        tokens = self.prompt_tokens(messages)
        if len(tokens) + options.max_tokens > self.context_tokens:
            raise StageError("llm", f"prompt of {len(tokens)} tokens does not fit the context window")
        with self._lock:
            started = time.perf_counter()
            stats.prompt_tokens = len(tokens)
            kv_state.reset_counters(self._llm)
            self._restore_best(tokens)
            stats.cached_tokens = self.cached_prefix(tokens)
            if len(messages) > 1 and messages[0].role == "system":
                self._remember(self.prefix_tokens(messages[:1]))  # free: it is evaluated anyway
            first: float | None = None
            try:
                pieces = self._llm.create_completion(
                    tokens,
                    max_tokens=options.max_tokens,
                    temperature=options.temperature,
                    top_p=options.top_p,
                    repeat_penalty=options.repeat_penalty,
                    seed=options.seed,
                    stop=[*self._stop, *options.stop],
                    stream=True,
                )
                for piece in pieces:
                    choice = piece["choices"][0]
                    text = choice["text"]
                    if choice.get("finish_reason") == "length":
                        stats.extra["truncated"] = 1
                    stats.completion_tokens += 1
                    if first is None:
                        first = time.perf_counter()
                        stats.prompt_seconds = first - started
                        stats.extra["evaluated_tokens"] = kv_state.evaluated_prompt_tokens(self._llm)
                    if text:
                        yield text
            except (RuntimeError, ValueError) as exc:
                raise StageError("llm", f"the language model failed: {exc}") from exc
            finally:
                if first is not None:
                    stats.generate_seconds = time.perf_counter() - first

    def _require_loaded(self) -> None:
        if self._llm is None:
            raise StageError("llm", "the language model is not loaded")

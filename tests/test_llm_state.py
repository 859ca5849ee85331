"""The real SmolLM2 model pays only for new tokens: earlier turns and every mode's system prompt are reused.

Evaluated tokens are llama.cpp's own count (its performance counters), not our bookkeeping.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from speaker.dialog.modes import ModeBook, load_modes
from speaker.dialog.session import Dialog
from speaker.llm.base import ChatMessage, GenerationOptions, GenerationStats
from speaker.llm.llama import LlamaChatModel
from speaker.models import ModelStore
from speaker.settings import DialogSettings, default_config_dir

pytestmark = pytest.mark.slow
GREEDY = GenerationOptions(max_tokens=24, temperature=0.0)
BRIEF = GenerationOptions(max_tokens=3, temperature=0.0)  # when only the prompt matters


@pytest.fixture(scope="module")
def model_path(store: ModelStore) -> Path:
    return store.require("smollm2-135m-instruct-q4_1").main


@pytest.fixture(scope="module")
def llm(model_path: Path) -> LlamaChatModel:
    model = LlamaChatModel(model_path, saved_prompts=4)
    model.load()
    return model


@pytest.fixture(scope="module")
def book() -> ModeBook:
    return load_modes(default_config_dir() / "modes.yaml")


def ask(
    llm: LlamaChatModel, messages: list[ChatMessage], options: GenerationOptions = GREEDY
) -> tuple[str, GenerationStats]:
    stats = GenerationStats()
    text = "".join(llm.stream(messages, options, stats))
    return text, stats


def test_second_turn_evaluates_only_its_new_tokens(llm: LlamaChatModel, book: ModeBook) -> None:
    dialog = Dialog(book, DialogSettings(), count_tokens=llm.count_tokens)
    first = dialog.plan("What is the capital of France?")
    reply, one = ask(llm, list(first.messages))
    assert "paris" in reply.lower()
    dialog.remember(first, reply)

    second = dialog.plan("And of Germany?")
    assert second.mode == "knowledge" and len(second.messages) == 4
    reply2, two = ask(llm, list(second.messages))
    assert "berlin" in reply2.lower()  # the model understood the follow-up from the first turn
    evaluated = two.extra["evaluated_tokens"]
    # Everything of turn one (its prompt and the reply the model wrote) was reused ...
    assert two.cached_tokens >= one.prompt_tokens + one.completion_tokens - 2
    # ... and llama.cpp evaluated exactly the rest: the new question and its template markers.
    assert evaluated == two.prompt_tokens - two.cached_tokens
    new_question = llm.count_tokens("And of Germany?")
    assert new_question <= evaluated <= new_question + 12


def test_switching_modes_does_not_evaluate_a_system_prompt_again(llm: LlamaChatModel, book: ModeBook) -> None:
    systems = {m: ChatMessage("system", book[m].system_prompt("en")) for m in ("knowledge", "empathy")}
    for system in systems.values():
        llm.warm([system])
    for mode, question in [
        ("empathy", "I had a rough day at work."),
        ("knowledge", "Why is the sky blue?"),
        ("empathy", "I feel a bit lonely tonight."),
    ]:
        system = systems[mode]
        _, stats = ask(llm, [system, ChatMessage("user", question)], BRIEF)
        system_tokens = len(llm.prefix_tokens([system]))
        assert stats.cached_tokens >= system_tokens, mode  # restored, not evaluated
        assert stats.extra["evaluated_tokens"] == stats.prompt_tokens - stats.cached_tokens
        assert stats.extra["evaluated_tokens"] < stats.prompt_tokens - system_tokens + 1


def test_a_restored_prompt_answers_exactly_like_a_fresh_one(llm: LlamaChatModel, book: ModeBook) -> None:
    system = ChatMessage("system", book["knowledge"].system_prompt("en"))
    messages = [system, ChatMessage("user", "What do bees make?")]
    llm.forget_saved_prompts()
    expected, cold = ask(llm, messages)
    assert cold.cached_tokens == 0 and cold.extra["evaluated_tokens"] == cold.prompt_tokens
    assert "honey" in expected.lower()

    ask(llm, [ChatMessage("system", book["empathy"].system_prompt("en")), ChatMessage("user", "Hi.")], BRIEF)
    answer, warm = ask(llm, messages)  # the knowledge prompt comes back from its saved state
    assert warm.cached_tokens >= len(llm.prefix_tokens([system]))
    assert warm.extra["evaluated_tokens"] < cold.prompt_tokens
    assert answer == expected


def test_saved_prompts_are_bounded(llm: LlamaChatModel) -> None:
    for i in range(6):
        llm.warm([ChatMessage("system", f"You are helper number {i}.")])
    assert len(llm._saved) == llm.saved_prompts == 4
    assert next(iter(llm._saved)) == tuple(
        llm.prefix_tokens([ChatMessage("system", "You are helper number 2.")])
    )
    per_token = llm.saved_prompt_bytes / sum(len(s.tokens) for s in llm._saved.values())
    assert per_token < 64_000  # the KV cells only: no logits copied along

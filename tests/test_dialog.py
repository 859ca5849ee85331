"""Conversation memory and what one turn sends to the model (no model needed here)."""

from __future__ import annotations

import pytest

from speaker.dialog.memory import ConversationMemory, estimate_tokens
from speaker.dialog.modes import load_modes
from speaker.dialog.session import Dialog
from speaker.settings import DialogSettings, default_config_dir


class Clock:
    """A clock the test moves by hand (idle timeouts without waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dialog(clock: Clock) -> Dialog:
    book = load_modes(default_config_dir() / "modes.yaml")
    return Dialog(book, DialogSettings(memory_tokens=120, idle_timeout_s=60), seed=3, clock=clock)


def test_the_model_sees_earlier_turns(dialog: Dialog) -> None:
    first = dialog.plan("My dog is called Biscuit.")
    assert [m.role for m in first.messages] == ["system", "user"]
    dialog.remember(first, "What a lovely name for a dog.")
    second = dialog.plan("What is my dog called?")
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "user"]
    assert second.messages[1].content == "My dog is called Biscuit."
    assert second.messages[2].content == "What a lovely name for a dog."
    assert second.messages[0].content == dialog.book["knowledge"].system_prompt("en")


def test_mode_prompt_sampling_and_language(dialog: Dialog) -> None:
    plan = dialog.plan("给我的小狗起个名字")
    spec = dialog.book["inspiration"]
    assert plan.mode == "inspiration" and plan.language == "zh"
    assert plan.messages[0].content == spec.system_prompt("zh")
    assert plan.options is not None
    assert (plan.options.temperature, plan.options.top_p, plan.options.max_tokens, plan.options.seed) == (
        spec.sampling.temperature,
        spec.sampling.top_p,
        spec.sampling.max_tokens,
        3,
    )
    assert plan.spoken_limit_s == spec.spoken_limit_s


def test_memory_is_trimmed_to_the_token_budget(dialog: Dialog) -> None:
    for i in range(12):
        plan = dialog.plan(f"Tell me fact number {i} about the moon.")
        dialog.remember(plan, f"Here is fact number {i}: the moon is far away from the earth.")
    memory = dialog.memory
    assert memory.tokens <= 120
    assert memory.trimmed > 0 and len(memory.exchanges) < 12
    assert memory.exchanges[-1].user == "Tell me fact number 11 about the moon."  # the newest stay
    assert "number 0 " not in " ".join(m.content for m in dialog.plan("and?").messages)


def test_trimming_leaves_room_for_the_next_turns() -> None:
    memory = ConversationMemory(budget_tokens=100, count_tokens=lambda text: 10)
    for _ in range(4):
        memory.add("question", "answer", "knowledge")  # 30 tokens each with the role markers
    assert len(memory.exchanges) == 2 and memory.tokens == 60  # trimmed to 75%, not just under 100


def test_an_idle_conversation_is_forgotten(dialog: Dialog, clock: Clock) -> None:
    dialog.remember(dialog.plan("I had a rough day at work."), "I'm sorry to hear that.")
    clock.now += 30
    follow = dialog.plan("why does it always happen to me?")
    assert follow.mode == "empathy" and follow.reset is None and len(follow.messages) == 4
    dialog.remember(follow, "It may feel that way, but it does not always happen.")
    clock.now += 61
    later = dialog.plan("why does it always happen to me?")
    assert later.reset == "idle" and later.forgotten == 2
    assert later.mode == "knowledge" and len(later.messages) == 2  # no mode stuck, no history


@pytest.mark.parametrize(("text", "said"), [("forget that", "start fresh"), ("新的对话", "重新开始")])
def test_forget_and_new_conversation(dialog: Dialog, text: str, said: str) -> None:
    dialog.remember(dialog.plan("I had a rough day at work."), "I'm sorry to hear that.")
    plan = dialog.plan(text)
    assert plan.reset == "command" and plan.forgotten == 1 and said in (plan.reply or "")
    assert not dialog.memory.active
    assert len(dialog.plan("why?").messages) == 2


def test_a_bare_switch_is_greeted_and_sticks(dialog: Dialog) -> None:
    plan = dialog.plan("switch to inspiration mode")
    assert plan.reply == dialog.book["inspiration"].text(dialog.book["inspiration"].greeting, "en")
    assert not plan.messages
    assert dialog.plan("and for my sister?").mode == "inspiration"
    zh = dialog.plan("切换到共情模式")
    assert zh.reply == "我在呢。想聊点什么？"


def test_a_switch_with_a_question_answers_the_question(dialog: Dialog) -> None:
    plan = dialog.plan("Switch to life tips mode and tell me how to boil an egg")
    assert plan.mode == "life_tips" and plan.reply is None
    assert plan.messages[-1].content == "Tell me how to boil an egg"  # as written, for the model


def test_fixed_prompt_language(clock: Clock) -> None:
    book = load_modes(default_config_dir() / "modes.yaml")
    dialog = Dialog(book, DialogSettings(language="zh"), clock=clock)
    plan = dialog.plan("Why is the sky blue?")
    assert plan.messages[0].content == book["knowledge"].system_prompt("zh")


def test_token_estimate_without_a_tokenizer() -> None:
    assert estimate_tokens("你好世界") == 4
    assert 3 <= estimate_tokens("Why is the sky blue?") <= 6


def test_a_new_mode_starts_its_context_afresh_and_a_return_finds_its_turns(dialog: Dialog) -> None:
    fact = dialog.plan("Why is the sky blue?")
    dialog.remember(fact, "Sunlight scatters off the air, blue the most.")
    sad = dialog.plan("I had a rough day at work.")
    assert sad.mode == "empathy" and fact.mode == "knowledge"
    assert [m.role for m in sad.messages] == ["system", "user"]  # no answer from another mode to copy
    dialog.remember(sad, "I'm sorry to hear that.")
    again = dialog.plan("Why is the sea salty?", forced_mode="knowledge")
    assert again.mode == "knowledge"
    seen = " ".join(m.content for m in again.messages)
    assert "Sunlight scatters" in seen and "sorry to hear" not in seen

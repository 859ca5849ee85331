"""The dialog mode router: labeled utterances in English and Chinese, explicit requests, follow-ups."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from speaker.cli import main
from speaker.dialog.modes import ModeBook, load_modes
from speaker.dialog.router import ModeRouter
from speaker.settings import default_config_dir
from speaker.text.language import detect_language

DATA = Path(__file__).parent / "data" / "routing"
MODES = ("knowledge", "empathy", "life_tips", "inspiration")


def labeled(name: str) -> list[tuple[str, str]]:
    rows = []
    for number, line in enumerate((DATA / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        mode, text = line.split("\t")
        assert mode in MODES, f"{name}:{number}: unknown mode {mode!r}"
        rows.append((mode, text))
    return rows


@pytest.fixture(scope="module")
def book() -> ModeBook:
    return load_modes(default_config_dir() / "modes.yaml")


@pytest.fixture(scope="module")
def router(book: ModeBook) -> ModeRouter:
    return ModeRouter(book)


@pytest.mark.parametrize("name", ["labeled.tsv", "heldout.tsv"])
def test_labeled_sets_are_balanced(name: str) -> None:
    rows = labeled(name)
    per_mode = Counter(mode for mode, _ in rows)
    per_language = Counter((mode, detect_language(text)) for mode, text in rows)
    assert set(per_mode) == set(MODES)
    for mode in MODES:  # half English, half Chinese in every mode
        assert per_language[(mode, "en")] == per_language[(mode, "zh")] == per_mode[mode] // 2
    if name == "labeled.tsv":
        assert len(rows) >= 120 and min(per_mode.values()) >= 30


@pytest.mark.parametrize("name", ["labeled.tsv", "heldout.tsv"])
def test_router_accuracy_on_labeled_utterances(router: ModeRouter, name: str) -> None:
    rows = labeled(name)
    wrong = [(mode, text, router.route(text).mode) for mode, text in rows]
    wrong = [w for w in wrong if w[0] != w[2]]
    accuracy = 1 - len(wrong) / len(rows)
    print(f"{name}: {accuracy:.1%} of {len(rows)}")
    assert accuracy >= 0.90, f"{name}: {accuracy:.1%}; wrong: {wrong}"


@pytest.mark.parametrize(
    ("text", "mode", "rest"),
    [
        ("switch to inspiration mode", "inspiration", ""),
        ("Please switch to life tips mode.", "life_tips", ""),
        ("let's brainstorm", "inspiration", ""),
        ("Can we just chat for a while?", "empathy", ""),
        ("切换到灵感模式", "inspiration", ""),
        ("我想聊聊天", "empathy", ""),
        ("进入知识探索模式吧", "knowledge", ""),
        (
            "go back to knowledge mode and tell me why the sea is salty",
            "knowledge",
            "tell me why the sea is salty",
        ),
        ("切换到生活妙招模式，然后告诉我怎么煮鸡蛋", "life_tips", "告诉我怎么煮鸡蛋"),
    ],
)
def test_an_explicit_request_wins(router: ModeRouter, text: str, mode: str, rest: str) -> None:
    decision = router.route(text, current="empathy" if mode != "empathy" else "knowledge")
    assert (decision.mode, decision.source, decision.confidence) == (mode, "explicit", 1.0)
    assert decision.rest == rest
    assert decision.command == ("switch" if not rest else None)
    assert "explicit request" in decision.reason


@pytest.mark.parametrize(
    "text", ["I want to talk about black holes", "Tell me a story about the empathy of whales"]
)
def test_request_phrases_inside_a_question_do_not_switch(router: ModeRouter, text: str) -> None:
    assert router.route(text).source == "classifier"


@pytest.mark.parametrize("text", ["forget that", "New conversation, please.", "重新开始吧", "忘掉刚才的"])
def test_forget_commands(router: ModeRouter, text: str) -> None:
    decision = router.route(text, current="inspiration")
    assert decision.command == "forget" and decision.source == "command"


def test_a_follow_up_keeps_the_mode_unless_another_is_clear(router: ModeRouter) -> None:
    assert router.route("why does it always happen to me?").mode == "knowledge"
    follow = router.route("why does it always happen to me?", current="empathy")
    assert (follow.mode, follow.source) == ("empathy", "follow_up")
    assert "stays in empathy" in follow.reason
    assert router.route("and then?", current="life_tips").mode == "life_tips"
    assert router.route("还有呢？", current="inspiration").mode == "inspiration"
    moved = router.route("Give me an idea for a birthday present.", current="empathy")
    assert (moved.mode, moved.source) == ("inspiration", "classifier")
    assert "changed from empathy" in moved.reason


def test_no_cue_is_the_default_mode_with_no_confidence(router: ModeRouter, book: ModeBook) -> None:
    decision = router.route("hmm")
    assert (decision.mode, decision.confidence, decision.source) == (book.default, 0.0, "default")


def test_forced_mode_and_unknown_mode(router: ModeRouter) -> None:
    assert router.route("why is the sky blue", forced="inspiration").mode == "inspiration"
    with pytest.raises(Exception, match="unknown dialog mode 'poetry'; the modes are: knowledge"):
        router.route("hello", forced="poetry")


def test_routing_is_deterministic_and_explained(router: ModeRouter) -> None:
    rows = labeled("labeled.tsv")
    first = [router.route(text).to_dict() for _, text in rows]
    again = [ModeRouter(router.book).route(text).to_dict() for _, text in rows]
    assert first == again
    cued = router.route("How do I get red wine out of the carpet?")
    assert cued.mode == "life_tips" and "'get * out'" in cued.reason and 0.5 < cued.confidence < 1


def test_route_command_prints_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "switch to inspiration mode", "天空为什么是蓝色的？"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [set(x) for x in lines] == [{"text", "mode", "confidence", "reason"}] * 2
    assert [x["mode"] for x in lines] == ["inspiration", "knowledge"]
    assert lines[1]["text"] == "天空为什么是蓝色的？"


def test_route_reads_stdin_without_loading_any_model() -> None:
    script = (
        "import sys\n"
        "from speaker.cli import main\n"
        "code = main(['route', '--conversation', '-'])\n"
        "heavy = [m for m in ('llama_cpp', 'piper', 'onnxruntime', 'pocketsphinx') if m in sys.modules]\n"
        "print('loaded:', heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input="I had a rough day at work\nwhy does it always happen to me?\nnew conversation\n\nand?\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "loaded: []" in proc.stderr
    modes = [json.loads(line)["mode"] for line in proc.stdout.splitlines()]
    assert modes == ["empathy", "empathy", "knowledge", "knowledge"]  # the follow-up stuck; then forgotten


def test_route_with_nothing_to_route_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "  "]) == 2
    assert "nothing to route" in capsys.readouterr().err

"""Sentence splitting for streamed replies, and text made fit to be spoken."""

from __future__ import annotations

import pytest

from speaker.text.language import for_voice
from speaker.text.length import SpokenBudget, cut_to_limit, spoken_seconds
from speaker.text.sentences import SentenceSplitter, split_sentences
from speaker.text.speakable import speakable
from speaker.text.transcript import as_written


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("It costs 3.5 dollars. Cheap!", ["It costs 3.5 dollars.", "Cheap!"]),
        ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
        ("Bring fruit, e.g. apples. Done", ["Bring fruit, e.g. apples.", "Done"]),
        ("J. K. Rowling wrote it. Yes.", ["J. K. Rowling wrote it.", "Yes."]),
        ('He said "go." Then left.', ['He said "go."', "Then left."]),
        ("Really?! Wow... ok", ["Really?!", "Wow...", "ok"]),
        ("我很好。你呢？我们走吧！好", ["我很好。", "你呢？", "我们走吧！", "好"]),
        ("First line\n- second item\n", ["First line", "- second item"]),
        ("So am I. Good.", ["So am I.", "Good."]),
        ("Version 2.0.1 is out. Update now.", ["Version 2.0.1 is out.", "Update now."]),
        ("Pi is about 3.14159. That is enough.", ["Pi is about 3.14159.", "That is enough."]),
        ("Steps: 1. Boil water. 2. Add rice.", ["Steps: 1. Boil water.", "2. Add rice."]),
        ("Buy eggs, milk, etc. Then go home.", ["Buy eggs, milk, etc.", "Then go home."]),
        ("Use salt, pepper, etc. as you like.", ["Use salt, pepper, etc. as you like."]),
        ("Meet at 5 p.m. tomorrow. Bye.", ["Meet at 5 p.m. tomorrow.", "Bye."]),
        (
            "Mt. Everest is 8,849 m tall. St. Louis is not.",
            ["Mt. Everest is 8,849 m tall.", "St. Louis is not."],
        ),
        ("温度是3.5度。明天更冷；记得穿外套！", ["温度是3.5度。", "明天更冷；", "记得穿外套！"]),
        ("他说：“好的。”然后走了……真的吗？！", ["他说：“好的。”", "然后走了……", "真的吗？！"]),
        ("这是第一句．这是第二句｡", ["这是第一句．这是第二句｡"]),
        ("Paris是法国的首都。It is big.", ["Paris是法国的首都。", "It is big."]),
    ],
)
def test_split(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_streaming_hands_over_each_sentence_as_soon_as_complete() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("The capital of France") == []
    assert splitter.feed(" is Paris.") == []  # the next character decides: "Paris.5"?
    assert splitter.feed(" It") == ["The capital of France is Paris."]
    assert splitter.feed(" is 2.5 km") == []
    assert splitter.feed(" wide.") == []
    assert splitter.flush() == ["It is 2.5 km wide."]


def test_chinese_sentence_is_handed_over_without_waiting() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("巴黎是法国的首都。") == ["巴黎是法国的首都。"]


def test_a_long_first_sentence_is_cut_at_a_comma() -> None:
    splitter = SentenceSplitter(first_soft_limit=40)
    out = splitter.feed("When you cook pasta at home for many people, use a big pot and plenty of salt")
    assert out == ["When you cook pasta at home for many people,"]


def pieces(text: str) -> list[str]:
    """A reply streamed word by word through a quick-first splitter."""
    splitter = SentenceSplitter(quick_first=True)
    out = []
    for word in text.split(" "):
        out += splitter.feed(word + " ")
    return out + splitter.flush()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            "The sky looks blue because sunlight is scattered. It is nice.",
            ["The sky looks blue", "because sunlight is scattered.", "It is nice."],
        ),
        ("To clean the pan, rinse it with hot water.", ["To clean the pan,", "rinse it with hot water."]),
        ("It costs 1,000 dollars, which is a lot.", ["It costs 1,000 dollars,", "which is a lot."]),
        ("Well, I think so. But why, when and where?", ["Well, I think so.", "But why, when and where?"]),
        ("The capital of France is Paris.", ["The capital of France is Paris."]),
        ("北京是中国的首都，也是一个大城市。", ["北京是中国的首都，", "也是一个大城市。"]),
    ],
)
def test_the_first_piece_of_a_reply_ends_at_its_first_comma_or_clause(
    reply: str, expected: list[str]
) -> None:
    assert pieces(reply) == expected


def test_only_a_replys_first_piece_is_cut_early() -> None:
    reply = "The sky looks blue because sunlight is scattered. Red light, which is longer, passes."
    assert pieces(reply)[2:] == ["Red light, which is longer, passes."]
    assert split_sentences(reply) == ["The sky looks blue because sunlight is scattered.", reply[50:]]


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("**Bold** and *italic* and `code`", "Bold and italic and code"),
        ("## Heading\n- item one\n- item two", "Heading\nitem one\nitem two"),
        ("1. Boil water\n2) Add rice", "Boil water\nAdd rice"),
        ("See [the guide](https://example.com/x) now", "See the guide now"),
        ("Visit https://www.example.com/path for more", "Visit example dot com for more"),
        ("Great idea 🎉👍!", "Great idea!"),
        ("Code:\n```python\nprint(1)\n```\nDone", "Code:\nDone"),
        ("Salt & pepper", "Salt and pepper"),
        ("> a quote\n---\n* star item", "a quote\nstar item"),
        ("Mail me at jo.doe@example.org today", "Mail me at jo.doe at example dot org today"),
        ("It is 20°C and 50% humid", "It is 20 degrees Celsius and 50 percent humid"),
        ("Wait ~5 minutes!!!", "Wait about 5 minutes!"),
        ("I love it ☀️❤️ so much", "I love it so much"),
        ("Use `ls -la` here", "Use ls -la here"),
        ("![a cat](cat.png) and e.g. this", "a cat and e.g. this"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", ", a, b,\n, 1, 2,"),
        ("**注意**：\n1、先洗手\n2、再做饭😊", "注意：\n先洗手\n再做饭"),
        ("详情见 https://example.cn/page 。", "详情见 example点cn。"),
    ],
)
def test_speakable(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


def test_chinese_closing_quote_after_the_cut_does_not_start_the_next_sentence() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("他说：“好的。") == ["他说：“好的。"]
    assert splitter.feed("”然后走了。") == ["然后走了。"]
    assert splitter.flush() == []


def test_abbreviation_waits_for_the_next_word() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Bring cups, plates, etc. ") == []
    assert splitter.feed("Then we eat.") == ["Bring cups, plates, etc."]


def test_spoken_seconds_counts_words_and_hanzi() -> None:
    assert spoken_seconds("one two three four five six seven eight nine ten") == pytest.approx(10 / 2.6)
    assert spoken_seconds("今天天气很好") == pytest.approx(6 / 4.5)
    assert spoken_seconds("**") == 0.0


def test_reply_is_cut_at_a_sentence_boundary_at_the_limit() -> None:
    reply = "The sun is a star. It is very hot and very big indeed. It will shine for billions of years."
    assert cut_to_limit(reply, 4.0) == "The sun is a star."  # the second sentence would pass 4 s
    assert cut_to_limit(reply, 6.0) == "The sun is a star. It is very hot and very big indeed."
    assert cut_to_limit(reply, None) == reply
    assert (
        cut_to_limit("太阳是一颗恒星。它非常热。它还会燃烧很久很久很久。", 3.0)
        == "太阳是一颗恒星。它非常热。"
    )


def test_a_sentence_handed_over_in_parts_is_finished_past_the_limit() -> None:
    budget = SpokenBudget(2.0)
    assert budget.admit("When you cook pasta at home for many people,")  # cut early at a comma
    assert budget.admit("use a big pot and plenty of salt.")  # the rest of that sentence
    assert not budget.admit("Stir it.")


def test_a_voice_says_what_it_can() -> None:
    assert for_voice("灵感模式。我们来想点什么？", "en-us") == ""  # not "Chinese letter" eight times
    assert for_voice("The word 你好 means hello。", "en-us") == "The word means hello."
    assert for_voice("我有3只猫，叫Tom和Jerry！", "en-us") == ""
    assert for_voice("灵感模式。", "cmn") == "灵感模式。"
    assert for_voice("Hello there.", "en-us") == "Hello there."


def test_first_sentence_is_always_said_and_refusal_is_final() -> None:
    budget = SpokenBudget(1.0)
    assert budget.admit("This first sentence is longer than one second of speech.")
    assert not budget.admit("Short.")
    assert not budget.admit("Ok.")  # once cut, the reply stays cut: no skipping ahead


def test_a_long_run_without_commas_is_cut_before_a_joining_word() -> None:
    run = (
        "baking bread in an oven for ten days or more before removing the bread from the oven "
        "to keep it fresh and soft and nice for everyone in the house to eat today. Done."
    )
    splitter = SentenceSplitter(soft_limit=60, hard_limit=80)
    out = []
    for word in run.split(" "):
        out += splitter.feed(word + " ")
    out += splitter.flush()
    assert " ".join(out) == run
    assert all(len(piece) <= 80 for piece in out), out
    assert out[1].startswith(("to ", "and ", "before ")) and out[-1] == "Done."


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        ("how do i boil an egg", "How do I boil an egg"),
        ("i'm sad and i'd like tea", "I'm sad and I'd like tea"),
        ("is it in italy", "Is it in italy"),  # names cannot be told from the words
        ("北京的天气", "北京的天气"),
        ("", ""),
    ],
)
def test_transcripts_reach_the_model_as_written_text(heard: str, written: str) -> None:
    assert as_written(heard) == written

"""Sentence splitting for streamed replies, and text made fit to be spoken."""

from __future__ import annotations

import pytest

from speaker.text.sentences import SentenceSplitter, split_sentences
from speaker.text.speakable import speakable


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


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("**Bold** and *italic* and `code`", "Bold and italic and code"),
        ("## Heading\n- item one\n- item two", "Heading\nitem one\nitem two"),
        ("1. Boil water\n2) Add rice", "Boil water\nAdd rice"),
        ("See [the guide](https://example.com/x) now", "See the guide now"),
        ("Visit https://www.example.com/path for more", "Visit example dot com for more"),
        ("Great idea 🎉👍!", "Great idea !"),
        ("Code:\n```python\nprint(1)\n```\nDone", "Code:\n \nDone"),
        ("Salt & pepper", "Salt and pepper"),
    ],
)
def test_speakable(text: str, spoken: str) -> None:
    assert speakable(text) == spoken

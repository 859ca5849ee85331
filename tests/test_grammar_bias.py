"""The recognizer biased toward the home's devices: phrases from the registry, updated on import."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech import SpeechCache, require_model, split

from skills.phrases import grammar
from speaker.asr.base import usable_phrases
from speaker.asr.pocketsphinx import LEAD_IN, PocketsphinxRecognizer, grammar_transitions
from speaker.asr.vosk import segment
from speaker.home.devices import Command, Device
from speaker.home.devices_file import load_devices
from speaker.home.registry import DeviceRegistry

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def transcribe(recognizer: PocketsphinxRecognizer, speech: SpeechCache, text: str) -> str:
    stream = recognizer.start()
    for frame in split(speech.piper(text, lead=0.3, trail=0.6)):
        stream.accept(frame)
    return stream.finish()


def test_device_commands_are_heard_right_with_the_registry_grammar(speech_dir: Path) -> None:
    speech = SpeechCache(speech_dir)
    model = require_model("SPEAKER_TEST_PS_MODEL")
    registry = DeviceRegistry(load_devices(ROOT / "config" / "devices.example.yaml"))
    biased = PocketsphinxRecognizer(model, grammar=grammar(registry, "en"))
    biased.load()
    plain = PocketsphinxRecognizer(model)
    plain.load()
    commands = ["turn off the kitchen light", "turn on the living room light", "is the kitchen light on",
                "set the kitchen light to fifty percent", "lock the front door",
                "turn off the bedroom lamp"]  # fmt: skip
    right = {"biased": 0, "plain": 0}
    for command in commands:
        right["biased"] += transcribe(biased, speech, command + ".") == command
        right["plain"] += transcribe(plain, speech, command + ".") == command
    assert right["biased"] >= len(commands) - 1, right
    assert right["plain"] <= right["biased"] - 2, f"the open model alone did as well: {right}"
    assert transcribe(biased, speech, "What is the capital of France?") == "what is the capital of france"

    # A device imported later (Zigbee2MQTT, discovery) joins the grammar without a restart.
    assert transcribe(biased, speech, "Turn off the desk lamp.") != "turn off the desk lamp"  # "desk while"
    on_off = {"on": Command("z/desk/set", "ON"), "off": Command("z/desk/set", "OFF")}
    registry.put_imported(Device("z2m_desk", "desk lamp", "light", commands=on_off, source="zigbee2mqtt"))
    biased.update_grammar(grammar(registry, "en"))
    assert transcribe(biased, speech, "Turn off the desk lamp.") == "turn off the desk lamp"


@pytest.fixture(scope="module")
def home_recognizer() -> PocketsphinxRecognizer:
    registry = DeviceRegistry(load_devices(ROOT / "config" / "devices.example.yaml"))
    recognizer = PocketsphinxRecognizer(
        require_model("SPEAKER_TEST_PS_MODEL"), grammar=grammar(registry, "en")
    )
    recognizer.load()
    return recognizer


def test_commands_the_open_model_mangles_come_from_the_grammar(
    speech_dir: Path, home_recognizer: PocketsphinxRecognizer
) -> None:
    """The open model makes little of these ("turn off the lights" -> "from awful whites"), and its
    text was once what decided whether the grammar's phrase was taken."""
    speech = SpeechCache(speech_dir)
    commands = ["turn off the lights", "switch off the floor lamp", "turn on the lounge lights",
                "turn the hallway light on", "turn on the bedroom heating"]  # fmt: skip
    heard = {c: transcribe(home_recognizer, speech, c.capitalize() + ".") for c in commands}
    assert [c for c, text in heard.items() if text != c] == [], heard
    # another voice: espeak-ng, which the open model hardly understands at all
    said = "turn off the kitchen light"
    stream = home_recognizer.start()
    for frame in split(speech.espeak(said, voice="en-us+m3", lead=0.3, trail=0.6)):
        stream.accept(frame)
    assert stream.finish() == said


def test_sentences_that_only_start_like_a_command_stay_themselves(
    speech_dir: Path, home_recognizer: PocketsphinxRecognizer
) -> None:
    """Each is close to a grammar phrase ("open the garage door", "stop listening", "is the kitchen
    light on"); the garbage loop, not the closest phrase, takes what differs."""
    speech = SpeechCache(speech_dir)
    sentences = ["Open the window.", "Turn off the radio.", "Stop talking to me like that.",
                 "Is the kitchen open on Sunday?", "How much does a coffee machine cost?",
                 "What time does the store close?"]  # fmt: skip
    heard = {s: transcribe(home_recognizer, speech, s) for s in sentences}
    snapped = {s: text for s, text in heard.items() if text in home_recognizer._phrases}
    assert snapped == {}, heard


def test_the_grammar_is_a_word_tree_that_garbage_can_finish_anywhere() -> None:
    phrases = ["turn on the lamp", "turn off the lamp", "stop"]
    transitions = grammar_transitions(phrases, ["g-aa", "g-b"], entry=0.01, each=0.001)
    words = [t[3] for t in transitions if len(t) == 4]
    # shared prefixes once ("turn": from the start, and after each of the LEAD_IN stray phones)
    assert words.count("turn") == 1 + LEAD_IN and words.count("the") == 2 and words.count("lamp") == 2
    states = {t[0] for t in transitions} | {t[1] for t in transitions}
    into_garbage = {t[0] for t in transitions if len(t) == 3 and t[1] == 2}
    lead = {t[1] for t in transitions if len(t) == 4 and t[3].startswith("g-") and t[1] != 2}
    assert len(lead) == LEAD_IN  # stray phones before a phrase: a few, not a loop
    assert into_garbage == states - {1, 2} - lead  # every word-tree state, phrase ends included
    assert {t[3] for t in transitions if len(t) == 4 and t[0] in lead and not t[3].startswith("g-")} == {
        "turn",
        "stop",
    }  # after them, a phrase starts
    assert sorted(t[2:] for t in transitions if t[0] == t[1] == 2) == [(0.001, "g-aa"), (0.001, "g-b")]
    assert (2, 1, 1.0) in transitions  # garbage ends the utterance


def test_chinese_names_are_split_into_the_model_s_words() -> None:
    vocabulary = {"客厅", "的", "灯", "打开", "卧室", "空调"}
    known = vocabulary.__contains__
    assert segment("客厅的灯", known) == ["客厅", "的", "灯"]
    assert segment("卧室空调", known) == ["卧室", "空调"]
    assert segment("花园灯", known) is None  # 花园 is not a word of this model: the phrase is left out


def test_phrases_with_unknown_words_are_left_out_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    known = {"turn", "on", "off", "the", "lamp"}.__contains__
    grammar_phrases = ["Turn on the lamp", "turn on the  lamp", "turn on the zorblax", "turn off the zorblax"]
    grammar_phrases.append("")
    with caplog.at_level("WARNING"):
        usable = usable_phrases(grammar_phrases, lambda p: p.lower().split(), known, "the dictionary")
    assert usable == ["turn on the lamp"]  # each once, as the model's words
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "2 grammar phrase(s) left out (e.g. 'turn on the zorblax'): not in the dictionary: zorblax"
    ]

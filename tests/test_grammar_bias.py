"""The recognizer biased toward the home's devices: phrases from the registry, updated on import."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech import SpeechCache, require_model, split

from skills.phrases import grammar
from speaker.asr.pocketsphinx import PocketsphinxRecognizer
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


def test_chinese_names_are_split_into_the_model_s_words() -> None:
    vocabulary = {"客厅", "的", "灯", "打开", "卧室", "空调"}
    known = vocabulary.__contains__
    assert segment("客厅的灯", known) == ["客厅", "的", "灯"]
    assert segment("卧室空调", known) == ["卧室", "空调"]
    assert segment("花园灯", known) is None  # 花园 is not a word of this model: the phrase is left out

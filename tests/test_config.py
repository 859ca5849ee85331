"""Settings: defaults load, user files merge over them, and bad values name their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from speaker.cli import main
from speaker.errors import ConfigError
from speaker.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load_and_are_frozen() -> None:
    settings = load_settings()
    assert settings.wake.phrase == "hey computer"
    assert settings.llm.model == "smollm2-135m-instruct-q4_1"
    with pytest.raises(AttributeError):
        settings.llm.max_tokens = 5  # type: ignore[misc]


def test_user_file_merges_over_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "llm:\n  max_tokens: 12\nwake:\n  phrase: hello speaker\n"))
    assert settings.llm.max_tokens == 12
    assert settings.wake.phrase == "hello speaker"
    assert settings.llm.temperature == load_settings().llm.temperature  # untouched keys keep defaults


def test_environment_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPEAKER_CONFIG", str(write(tmp_path, "vad:\n  trailing_silence_ms: 900\n")))
    assert load_settings().vad.trailing_silence_ms == 900


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("llm:\n  temprature: 0.5\n", "llm.temprature: unknown setting (did you mean 'temperature'?)"),
        ("llm:\n  max_tokens: lots\n", "llm.max_tokens: expected a whole number"),
        ("vad:\n  aggressiveness: 7\n", "vad.aggressiveness: must be one of 0, 1, 2, 3"),
        ("audio:\n  frame_ms: 25\n", "audio.frame_ms: must be one of 10, 20, 30"),
        ("wake: 3\n", "wake: expected a mapping"),
        ("wake:\n  verify_threshold: 1.5\n", "wake.verify_threshold must be between 0 and 1"),
        ("colour: blue\n", "colour: unknown setting"),
        ("llm:\n  threads: 0\n", "llm.threads"),
        ("llm: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert expected in info.value.message


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")


def test_cli_reports_config_error_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "tts:\n  voicee: x\n")
    code = main(["--config", str(path), "ask", "hello"])
    err = capsys.readouterr().err
    assert code == 2
    assert "tts.voicee: unknown setting (did you mean 'voice'?)" in err
    assert "Traceback" not in err

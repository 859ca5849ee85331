"""config/modes.yaml: the four modes, users' own modes, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from speaker.cli import main
from speaker.dialog.modes import load_modes
from speaker.dialog.router import ModeRouter
from speaker.errors import ConfigError
from speaker.settings import default_config_dir

MODES_FILE = default_config_dir() / "modes.yaml"


def shipped() -> dict:
    return yaml.safe_load(MODES_FILE.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "modes.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_four_modes_in_english_and_chinese() -> None:
    book = load_modes(MODES_FILE)
    assert book.ids == ["knowledge", "empathy", "life_tips", "inspiration"]
    for spec in book.modes.values():
        assert spec.description and spec.spoken_limit_s > 0
        assert spec.system_prompt("en").isascii() and len(spec.system_prompt("en")) > 40
        assert any("\u4e00" <= c <= "\u9fff" for c in spec.system_prompt("zh"))
        assert spec.text(spec.greeting, "en") and spec.text(spec.greeting, "zh")
    # the modes differ where it matters: warmth and creativity, brevity
    assert book["inspiration"].sampling.temperature > book["knowledge"].sampling.temperature
    assert book["empathy"].spoken_limit_s < book["inspiration"].spoken_limit_s


def test_a_users_own_mode_is_routed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = shipped()
    data["modes"]["bedtime"] = {
        "description": "Calm bedtime stories for children",
        "prompt": {"en": "You tell calm, gentle bedtime stories for small children in a few sentences."},
        "names": {"en": ["bedtime", "sleepy time"], "zh": ["睡前"]},
        "cues": {"en": {3: ["sleepy", "tuck me in", "lullaby"]}, "zh": {3: ["哄我睡觉"]}},
        "sampling": {"temperature": 0.7, "top_p": 0.9, "max_tokens": 100, "repeat_penalty": 1.1},
        "spoken_limit_s": 40,
    }
    path = write(tmp_path, data)
    router = ModeRouter(load_modes(path))
    assert router.route("I'm sleepy, sing me a lullaby").mode == "bedtime"
    assert router.route("switch to sleepy time mode").mode == "bedtime"
    assert router.route("进入睡前模式").mode == "bedtime"
    assert router.route("哄我睡觉好不好").mode == "bedtime"
    spec = load_modes(path)["bedtime"]
    assert spec.system_prompt("zh") == spec.system_prompt("en")  # no Chinese prompt: English is used

    config = tmp_path / "speaker.yaml"
    config.write_text(f"dialog:\n  modes: {path}\n", encoding="utf-8")
    assert main(["--config", str(config), "route", "tuck me in please"]) == 0
    assert '"mode": "bedtime"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(default="chitchat"), "default: 'chitchat' is not one of the modes"),
        (lambda d: d["modes"]["empathy"].update(mood="warm"), "modes.empathy.mood: unknown setting"),
        (lambda d: d["modes"]["empathy"]["sampling"].update(top_p=1.5), "top_p 1.5 is outside (0, 1]"),
        (lambda d: d["modes"]["knowledge"].update(prompt={"en": " "}), "modes.knowledge: prompt: give a"),
        (
            lambda d: d["modes"]["life_tips"].update(spoken_limit_s="long"),
            "spoken_limit_s: expected a number",
        ),
        (lambda d: d["modes"].update({"Bad Id": d["modes"]["knowledge"]}), "a mode id is lower case"),
        (lambda d: d["modes"]["inspiration"].pop("description"), "inspiration.description: required"),
        (lambda d: d["modes"]["knowledge"]["cues"]["en"].update({"x": ["y"]}), "cues.en: expected a number"),
    ],
)
def test_a_bad_modes_file_is_a_clear_error(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = shipped()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_modes(path)
    assert message in caught.value.message and str(path) in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [("modes: [unclosed", "not valid YAML (line 1"), ("- a\n- b\n", "top level must be a mapping")],
)
def test_a_broken_modes_file_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = write(tmp_path, text)
    config = tmp_path / "speaker.yaml"
    config.write_text(f"dialog:\n  modes: {path}\n", encoding="utf-8")
    assert main(["--config", str(config), "route", "hello"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_missing_modes_file_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "speaker.yaml"
    config.write_text(f"dialog:\n  modes: {tmp_path / 'nope.yaml'}\n", encoding="utf-8")
    assert main(["--config", str(config), "ask", "hello"]) == 2  # before any model is loaded
    assert "config file not found" in capsys.readouterr().err


def test_remote_settings_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "speaker.yaml"
    config.write_text("llm:\n  remote:\n    policy: heavy\n", encoding="utf-8")
    assert main(["--config", str(config), "route", "hello"]) == 2
    assert "remote.policy is 'heavy' but remote.url is not set" in capsys.readouterr().err
    config.write_text("llm:\n  remote:\n    url: ftp://nas\n", encoding="utf-8")
    assert main(["--config", str(config), "route", "hello"]) == 2
    assert "must start with http:// or https://" in capsys.readouterr().err

"""Dialog modes from config/modes.yaml: prompts, sampling, spoken length, and the words that route to them.

A bad file is a ConfigError that names the file and the key, like the main settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from speaker.config_loader import build, read_yaml
from speaker.errors import ConfigError

_MODE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.3
    top_p: float = 0.9
    max_tokens: int = 80
    repeat_penalty: float = 1.1

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature {self.temperature} is outside 0..2")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p {self.top_p} is outside (0, 1]")
        if not 1 <= self.max_tokens <= 4096:
            raise ValueError(f"max_tokens {self.max_tokens} is outside 1..4096")
        if not 0.5 <= self.repeat_penalty <= 2.0:
            raise ValueError(f"repeat_penalty {self.repeat_penalty} is outside 0.5..2")


@dataclass(frozen=True)
class ModeSpec:
    """One dialog mode. Texts are keyed by language code (en, zh, ...)."""

    description: str
    prompt: dict[str, str]  # the system prompt per language
    greeting: dict[str, str] = field(default_factory=dict)  # said on an explicit switch alone
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "switch to <name> mode"
    requests: dict[str, tuple[str, ...]] = field(default_factory=dict)  # whole-utterance requests
    cues: dict[str, dict[float, tuple[str, ...]]] = field(default_factory=dict)  # weight -> phrases
    sampling: Sampling = field(default_factory=Sampling)
    spoken_limit_s: float = 20.0  # the reply is cut at a sentence boundary past this much speech

    def __post_init__(self) -> None:
        if not any(text.strip() for text in self.prompt.values()):
            raise ValueError("prompt: give a system prompt for at least one language (en, zh)")
        if self.spoken_limit_s <= 0:
            raise ValueError("spoken_limit_s must be positive")
        for language, groups in self.cues.items():
            for weight in groups:
                if weight <= 0:
                    raise ValueError(f"cues.{language}: weight {weight} must be positive")

    def text(self, texts: dict[str, str], language: str) -> str:
        """The text for `language`, else English, else any language given."""
        for key in (language, "en", *texts):
            if texts.get(key, "").strip():
                return texts[key].strip()
        return ""

    def system_prompt(self, language: str) -> str:
        return self.text(self.prompt, language)


@dataclass(frozen=True)
class ModeBook:
    """Every mode, in file order (which also breaks ties), and the mode used when nothing fits."""

    default: str
    modes: dict[str, ModeSpec]

    def __post_init__(self) -> None:
        if not self.modes:
            raise ValueError("modes: define at least one mode")
        for mode_id in self.modes:
            if not _MODE_ID.match(mode_id):
                raise ValueError(f"modes.{mode_id}: a mode id is lower case letters, digits and _")
        if self.default not in self.modes:
            raise ValueError(f"default: {self.default!r} is not one of the modes ({', '.join(self.modes)})")

    @property
    def ids(self) -> list[str]:
        return list(self.modes)

    def __getitem__(self, mode_id: str) -> ModeSpec:
        return self.modes[mode_id]

    def require(self, mode_id: str) -> ModeSpec:
        """The mode, or an error that lists the modes there are."""
        if mode_id not in self.modes:
            raise ConfigError(f"unknown dialog mode {mode_id!r}; the modes are: {', '.join(self.modes)}")
        return self.modes[mode_id]


def load_modes(path: Path) -> ModeBook:
    """Read and check a modes file; every problem is a ConfigError naming the file and key."""
    data = read_yaml(path)
    try:
        return build(ModeBook, data)
    except ConfigError as exc:
        raise ConfigError(f"invalid dialog modes ({path}): {exc.message}") from exc

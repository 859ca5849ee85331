"""Errors that carry a stable code and a message a person can act on."""

from __future__ import annotations


class SpeakerError(Exception):
    """Base error: `code` is stable and machine-readable, `message` says what to do."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigError(SpeakerError):
    code = "config"


class ModelError(SpeakerError):
    code = "model"


class AudioError(SpeakerError):
    code = "audio"


class StageError(SpeakerError):
    """A stage of the voice loop (wake, vad, asr, llm, tts, skill) failed for one turn."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message, code=stage)
        self.stage = stage


class MqttError(SpeakerError):
    """The broker connection is misconfigured (a bad URL, an unreadable certificate, ...)."""

    code = "mqtt"

"""Doctor: every check in order, each finding reported as soon as it is known."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from speaker.audio.capture import CaptureBackend
from speaker.doctor import Finding
from speaker.errors import ConfigError, SpeakerError
from speaker.settings import Settings, default_config_dir, load_settings

GROUPS = ("config", "service", "audio", "models", "resources", "board", "broker")


@dataclass(frozen=True)
class DoctorOptions:
    config: str | None = None  # --config, else $SPEAKER_CONFIG
    only: tuple[str, ...] = GROUPS
    mqtt_url: str | None = None  # None: $SPEAKER_MQTT_URL, else the broker is not checked
    meter_seconds: float = 2.0  # 0: open the microphone, do not measure its level
    verify: bool = True  # re-hash every model file (slower on an SD card)
    capture_backend: CaptureBackend | None = None  # None: PortAudio
    root: Path = Path("/")  # where /sys is looked for (the tests give a copy)
    on_level: Callable[[float], None] | None = None  # the live level meter, in dBFS


def run_checks(options: DoctorOptions, report: Callable[[Finding], None] = lambda f: None) -> list[Finding]:
    findings: list[Finding] = []

    def add(*new: Finding) -> None:
        for finding in new:
            findings.append(finding)
            report(finding)

    only = set(options.only)
    settings, finding = _settings(options.config)
    if "config" in only:
        add(finding)
    if "service" in only:
        from speaker.doctor.service import check_service

        add(check_service())
    if "audio" in only:
        from speaker.doctor.audio import check_microphone, check_speaker

        add(
            *check_microphone(
                settings.audio,
                backend=options.capture_backend,
                meter_seconds=options.meter_seconds,
                on_level=options.on_level,
            )
        )
        add(check_speaker(settings.audio))
    if only & {"models", "resources"}:
        from speaker.models import ModelStore

        try:
            store = ModelStore.from_settings(settings)
        except SpeakerError as exc:
            add(Finding("model", "fail", f"model catalog: {exc.message}", "fix the catalog file named above"))
        else:
            if "models" in only:
                from speaker.doctor.models import check_models

                add(*check_models(settings, store, full=options.verify))
            if "resources" in only:
                from speaker.doctor.resources import check_disk, check_memory

                add(check_disk(settings, store), check_memory(settings, store))
    if "board" in only:
        from speaker.doctor.board import check_temperature, check_throttling

        add(check_temperature(options.root), check_throttling(options.root))
    if "broker" in only:
        from speaker.doctor.broker import broker_url, check_broker

        add(check_broker(broker_url(options.mqtt_url)))
    return findings


def _settings(config: str | None) -> tuple[Settings, Finding]:
    """The settings to check with, and how the configuration itself fared."""
    user = config or os.environ.get("SPEAKER_CONFIG")
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        defaults = default_config_dir() / "speaker.yaml"
        fix = "correct the setting it names (the other checks use the defaults meanwhile)"
        return load_settings(defaults), Finding("config", "fail", exc.message, fix)
    where = f"the defaults with {user} over them" if user else "the defaults (no settings file given)"
    return settings, Finding("config", "ok", f"valid: {where}")

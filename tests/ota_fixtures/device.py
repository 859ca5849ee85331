"""A speaker's OTA side in a temporary directory: settings, signing keys, manifests, state checks."""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from speaker.events import EventBus, EventLog
from speaker.models import ModelStore
from speaker.ota.manifest import UpdateManifest
from speaker.ota.publish import LocalFile, build_manifest, collect_files, serial_now
from speaker.ota.signing import public_key_text, sign
from speaker.ota.slots import SlotManager
from speaker.ota.state import FACTORY, OtaState
from speaker.ota.updater import Updater
from speaker.settings import OtaSettings, Settings, load_settings

SMOLLM = "smollm2-135m-instruct-q4_1"
GEMMA = "gemma3-270m-q4_k_m"


def model_file(store: ModelStore, model_id: str) -> Path:
    """The real model file from the shared store (fetched first if this machine lacks it)."""
    if store.state(model_id).state != "installed":
        store.fetch(model_id)
    return store.require(model_id).main


def publish_dir(store: ModelStore, directory: Path, *model_ids: str) -> dict[str, Path]:
    """Hard links (copies across file systems) of real model files, to serve over HTTP."""
    directory.mkdir(parents=True, exist_ok=True)
    served = {}
    for model_id in model_ids:
        source = model_file(store, model_id)
        target = directory / source.name
        if not target.exists():
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
        served[model_id] = target
    return served


@dataclass
class Operator:
    key: Ed25519PrivateKey

    @classmethod
    def new(cls) -> Operator:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public(self) -> str:
        return public_key_text(self.key.public_key())

    def manifest(
        self,
        component: str,
        version: str,
        files: list[tuple[Path, str]],
        *,
        serial: int | None = None,
        expires_in: timedelta = timedelta(days=1),
        **fields: Any,
    ) -> UpdateManifest:
        local = [LocalFile(path, path.name, url) for path, url in files]
        manifest = build_manifest(
            component, version, local, serial=serial or serial_now(), expires_in=expires_in,
            min_firmware=fields.pop("min_firmware", "0.1.0"),
        )  # fmt: skip
        return dataclasses.replace(manifest, **fields)

    def folder_manifest(
        self,
        component: str,
        version: str,
        folder: Path,
        base_url: str,
        expires_in: timedelta = timedelta(days=1),
        **fields: Any,
    ) -> UpdateManifest:
        """A model that is a folder (pocketsphinx's): every file under it, served under base_url."""
        local = collect_files([], [folder], [base_url])
        manifest = build_manifest(
            component, version, local, serial=serial_now(), expires_in=expires_in, min_firmware="0.1.0"
        )
        return dataclasses.replace(manifest, **fields)

    def sign(self, manifest: UpdateManifest) -> bytes:
        return sign(manifest, self.key)


def device_settings(ota_dir: Path, operator: Operator | str, **ota: Any) -> Settings:
    """The default settings (the shared model store), with this test's OTA directory and key.

    The wake word runs on pocketsphinx: the updates these tests push for it are pocketsphinx models.
    """
    base = load_settings()
    key = operator.public if isinstance(operator, Operator) else operator
    values = {"dir": ota_dir, "trusted_keys": (key,), "device_id": "test-speaker", **ota}
    wake = dataclasses.replace(base.wake, engine="pocketsphinx")
    return dataclasses.replace(base, ota=OtaSettings(**values), wake=wake)


def config_file(path: Path, settings: Settings) -> Path:
    """The OTA part of `settings` as a YAML file, for `speaker --config` in a child process."""
    ota = settings.ota
    keys = "".join(f"\n    - {k}" for k in ota.trusted_keys)
    path.write_text(
        f"ota:\n  dir: {ota.dir}\n  device_id: {ota.device_id}\n  trusted_keys:{keys}\n"
        f"  min_free_mb: {ota.min_free_mb}\n"
        f"wake:\n  engine: {settings.wake.engine}\n",
        encoding="utf-8",
    )
    return path


class Device:
    """An updater on a temporary OTA directory, with every event it emits kept."""

    def __init__(self, settings: Settings, store: ModelStore, **updater: Any) -> None:
        self.settings = settings
        self.store = store
        self.bus = EventBus()
        self.events = EventLog()
        self.bus.subscribe(self.events)
        self.slots = SlotManager(settings, store)
        self.slots.open()
        self.updater = Updater(self.slots, self.bus, retry_delay=0.0, **updater)

    def close(self) -> None:
        self.slots.close()

    def snapshot(self) -> dict[str, Any]:
        """What must not change when an update is refused: active slots, their records, and files."""
        state = OtaState.load(self.slots.root)
        out = {}
        for name, cs in state.components.items():
            record = cs.record(cs.active)
            out[name] = (cs.active, dataclasses.asdict(record) if record else None)
        return out


def assert_one_verified_slot_each(
    settings: Settings, store: ModelStore, *, full: bool = True
) -> dict[str, str]:
    """Read-only, as a restart would see it: one active, complete, verified model per component."""
    root = settings.ota.dir
    assert root is not None
    assert not (root / "state.json.damaged").exists(), "state.json was unreadable"
    slots = SlotManager(settings, store)
    slots.load()
    active = {}
    for info in slots.inspect(full=full):
        assert not info.problems, f"{info.component} ({info.slot}): {info.problems}"
        cs = slots.component(info.component)
        assert cs.active in (FACTORY, "a", "b")
        active[info.component] = f"{info.slot}:{info.version}"
    return active

"""A/B slots per component, the state that says which one runs, and recovery at start-up.

Layout under the OTA directory (`ota.dir`, default "ota" beside the model store):
    state.json                 see state.py: the commit point of every change
    lock                       held by the one process that may change slots (flock)
    <component>/a/, <component>/b/   the slots: files + .speaker-model.json (speaker.models.install)
    <component>/staging/       downloads of the update in progress (resumed after a restart)

Rules that keep a power cut harmless: only an inactive slot is ever written; a slot becomes
active only after its files are installed, verified and health-checked, by one atomic state.json
write; a slot is emptied only after state.json has stopped naming it.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from speaker.errors import ModelError
from speaker.identity import device_id as speaker_device_id
from speaker.models import InstalledModel, ModelStore
from speaker.models.integrity import fsync_dir
from speaker.models.manifest import Manifest, check_files
from speaker.ota.errors import BUSY, DAMAGED, TRIAL, OtaError
from speaker.ota.manifest import COMPONENTS
from speaker.ota.state import FACTORY, SLOTS, ComponentState, OtaState, SlotRecord
from speaker.settings import Settings

log = logging.getLogger(__name__)


def ota_root(settings: Settings) -> Path:
    return settings.ota.dir or settings.models_dir.parent / "ota"


def device_id(settings: Settings) -> str:
    """The id device-specific manifests must name: the speaker's one id (speaker/identity.py)."""
    return speaker_device_id(settings)


def factory_model_id(settings: Settings, component: str) -> str:
    """The model store id a component runs when no slot is active (the settings' choice)."""
    return {
        "llm": settings.llm.model,
        "tts": settings.tts.voice,
        "asr": settings.asr.model,
        "wake": settings.wake.model,
    }[component]


def installed_models(settings: Settings, store: ModelStore) -> dict[str, InstalledModel]:
    """The intact active slots' models, read without the lock (for commands that only use models)."""
    if not settings.ota.enabled:
        return {}
    slots = SlotManager(settings, store)
    slots.load()
    models = {}
    for name in COMPONENTS:
        model = slots.active_model(name)
        if model is not None and not slots.check_slot(name, slots.component(name).active, full=False):
            models[name] = model
    return models


@dataclass(frozen=True)
class ActiveInfo:
    component: str
    slot: str  # factory | a | b
    version: str
    problems: tuple[str, ...]  # empty: complete and verified


class SlotManager:
    """Owns the OTA directory: state, slots, the lock. Construction does no I/O; call open()."""

    def __init__(self, settings: Settings, store: ModelStore, root: Path | None = None) -> None:
        self.settings = settings
        self.store = store
        self.root = root or ota_root(settings)
        self.state = OtaState()
        self.rollbacks: list[tuple[str, str, str]] = []  # (component, what was done, code) at open()
        self._lock: IO[str] | None = None

    # -- paths -----------------------------------------------------------------------------------

    def slot_dir(self, component: str, slot: str) -> Path:
        return self.root / component / slot

    def staging_dir(self, component: str) -> Path:
        return self.root / component / "staging"

    def component(self, name: str) -> ComponentState:
        return self.state.components[name]

    # -- opening and recovery --------------------------------------------------------------------

    def open(self, *, count_boot: bool = False) -> list[str]:
        """Take the lock, load the state and repair what a crash left; returns what was rolled back."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / "lock").open("a")
        except OSError as exc:
            raise OtaError(
                f"cannot use the OTA directory {self.root}: {exc.strerror}; set ota.dir to a writable "
                "directory on the disk that holds the models",
                code="ota_dir",
            ) from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise OtaError(
                f"another speaker process is managing updates in {self.root} (a running `speaker run` "
                "applies updates itself: announce them through the broker, or stop it first)",
                code=BUSY,
            ) from exc
        self._lock = handle
        self.state = OtaState.load(self.root)
        return self._recover(count_boot)

    def load(self) -> None:
        """Read the state without the lock and without repairing anything (for `speaker ota status`)."""
        self.state = OtaState.load(self.root) if OtaState.path_in(self.root).exists() else OtaState()

    @property
    def locked(self) -> bool:
        return self._lock is not None

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _recover(self, count_boot: bool) -> list[str]:
        self.rollbacks = []
        for name, cs in self.state.components.items():
            if cs.active != FACTORY:
                problems = self.check_slot(name, cs.active, full=False, record_stamps=True)
                if problems:
                    reason = f"its files are damaged: {problems[0]}"
                    self.rollbacks.append((name, self.fall_back(name, reason, DAMAGED), DAMAGED))
                    continue
            if cs.trial is not None and count_boot:
                cs.trial.boots += 1
                if cs.trial.boots > self.settings.ota.trial_boots:
                    reason = (
                        f"the speaker stopped unexpectedly {cs.trial.boots - 1} times with it, before "
                        f"it had answered {self.settings.ota.trial_turns} turns"
                    )
                    self.rollbacks.append((name, self.fall_back(name, reason, TRIAL), TRIAL))
            if cs.pending is None:
                shutil.rmtree(self.staging_dir(name), ignore_errors=True)
        self.save()
        return [note for _, note, _ in self.rollbacks]

    def save(self) -> None:
        self.state.save(self.root)

    # -- what runs -------------------------------------------------------------------------------

    def active_model(self, component: str) -> InstalledModel | None:
        """The active slot's model, or None when the component runs its factory model."""
        cs = self.component(component)
        record = cs.record(cs.active)
        return None if record is None else self.slot_model(component, cs.active, record)

    def slot_model(self, component: str, slot: str, record: SlotRecord) -> InstalledModel:
        path = self.slot_dir(component, slot)
        main = path if record.main in (".", "") else path / record.main
        return InstalledModel(
            f"{component}@{slot}", (component,), record.version, "", path, main, tuple(record.files)
        )

    def model_for(self, component: str, slot: str) -> InstalledModel:
        """The model of `slot` (or the factory model), checked; ModelError if it cannot be used."""
        if slot == FACTORY:
            return self.store.require(factory_model_id(self.settings, component))
        record = self.component(component).record(slot)
        if record is None:
            raise ModelError(f"{component} slot {slot} holds no model")
        return self.slot_model(component, slot, record)

    def installed_version(self, component: str) -> str:
        cs = self.component(component)
        record = cs.record(cs.active)
        if record is not None:
            return record.version
        model_id = factory_model_id(self.settings, component)
        try:
            return self.store.catalog.get(model_id).version
        except ModelError:
            return "0"

    def inspect(self, *, full: bool = False) -> list[ActiveInfo]:
        """Read-only: the active slot of every component and whether it is complete and verified."""
        infos = []
        for name in COMPONENTS:
            cs = self.component(name)
            if cs.active == FACTORY:
                model_id = factory_model_id(self.settings, name)
                try:
                    problems = tuple(self.store.verify(model_id)) if full else ()
                    if not full:
                        self.store.require(model_id)
                except ModelError as exc:
                    problems = (exc.message,)
            else:
                problems = tuple(self.check_slot(name, cs.active, full=full))
            infos.append(ActiveInfo(name, cs.active, self.installed_version(name), problems))
        return infos

    def check_slot(self, component: str, slot: str, *, full: bool, record_stamps: bool = False) -> list[str]:
        """Problems of a slot against what state.json recorded for it (empty: complete, verified)."""
        record = self.component(component).record(slot)
        path = self.slot_dir(component, slot)
        if record is None:
            return [f"{component} slot {slot} holds no model"]
        manifest = Manifest.read(path)
        if manifest is None:
            return [f"{path} has no complete installation"]
        if manifest.version != record.version or {f.spec for f in manifest.files} != set(record.files):
            return [f"{path} holds other files than recorded for {component} {record.version}"]
        result = check_files(path, manifest, full=full)
        if result.changed and record_stamps and not result.problems:
            result.manifest.write(path)  # fresh stamps: the next start trusts these files without hashing
        return list(result.problems)

    # -- changes (the caller holds the lock, and saves) ------------------------------------------

    def inactive_slot(self, component: str) -> str:
        cs = self.component(component)
        if cs.active in SLOTS:
            return "b" if cs.active == "a" else "a"
        empty = [s for s in SLOTS if cs.slots[s] is None]
        return empty[0] if empty else "a"

    def release_slot(self, component: str, slot: str) -> None:
        """Forget a slot in state.json (saved first), then delete its files. Never the active one."""
        cs = self.component(component)
        assert slot != cs.active, "the active slot is never emptied"
        cs.slots[slot] = None
        if cs.previous == slot:
            cs.previous = None
        self.save()
        path = self.slot_dir(component, slot)
        if path.exists():
            shutil.rmtree(path)
            fsync_dir(path.parent)

    def fall_back(self, component: str, reason: str, code: str) -> str:
        """Make the previous slot (or the factory model) active again; returns what was done."""
        cs = self.component(component)
        bad = cs.active
        version = cs.record(bad).version if cs.record(bad) else "?"
        target = FACTORY
        if cs.previous in SLOTS and not self.check_slot(component, cs.previous, full=False):
            target = cs.previous
        cs.active, cs.previous, cs.trial = target, None, None
        note = (
            f"{component} {version} rolled back to {self.installed_version(component)} ({target}): {reason}"
        )
        cs.set_last("rolled_back", version, reason)
        cs.latest = self.installed_version(component)
        log.warning("%s [%s]", note, code)
        if bad != FACTORY:
            self.release_slot(component, bad)  # saves the state before deleting anything
        else:
            self.save()
        return note

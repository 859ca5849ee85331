"""The updater's on-disk state (`<ota dir>/state.json`): which slot each component runs, and why.

It is the single commit point of an update: a slot's files are installed and verified first, and
only then does a new state.json (temp file + fsync + rename) name it active. A power cut leaves
either the old state or the new one, and both point at a complete slot.

Per component:
    active     "factory" (the model store's model named in the settings), "a" or "b"
    previous   the slot to fall back to (None: the factory model)
    slots      what each slot holds (None: nothing usable), as recorded when it was installed
    trial      set when a new slot became active: turns it still has to answer, starts so far
    pending    an accepted update not finished yet (its envelope, to resume after a restart)
    serial     the highest manifest serial acted on: a manifest at or below it is a replay
    last_digest  the last manifest acted on (installed or failed): its re-delivery changes nothing
    latest / summary / last_*   what Home Assistant and the status topic show
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from speaker.models.catalog import FileSpec
from speaker.models.integrity import write_json_atomic
from speaker.ota.manifest import COMPONENTS

log = logging.getLogger(__name__)

FORMAT = 1
SLOTS = ("a", "b")
FACTORY = "factory"


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SlotRecord:
    version: str
    serial: int
    main: str
    digest: str  # of the manifest that filled it
    files: list[FileSpec]
    summary: str = ""
    installed_at: str = field(default_factory=now_text)


@dataclass
class Trial:
    turns_left: int
    boots: int = 0  # starts of the speaker since the switch


@dataclass
class Pending:
    slot: str
    version: str
    serial: int
    digest: str
    envelope: str
    phase: str = "accepted"  # accepted | downloading | staged | healthy


@dataclass
class ComponentState:
    active: str = FACTORY
    previous: str | None = None
    slots: dict[str, SlotRecord | None] = field(default_factory=lambda: dict.fromkeys(SLOTS))
    trial: Trial | None = None
    pending: Pending | None = None
    serial: int = 0
    last_digest: str = ""  # the last announcement acted on, so that its re-delivery is recognized
    latest: str | None = None
    summary: str = ""
    last_result: str = ""
    last_reason: str = ""
    last_version: str = ""
    last_at: str = ""

    def record(self, slot: str) -> SlotRecord | None:
        return None if slot == FACTORY else self.slots.get(slot)

    def set_last(self, result: str, version: str, reason: str = "") -> None:
        self.last_result, self.last_version, self.last_reason, self.last_at = (
            result,
            version,
            reason,
            now_text(),
        )


@dataclass
class OtaState:
    components: dict[str, ComponentState] = field(
        default_factory=lambda: {c: ComponentState() for c in COMPONENTS}
    )

    @staticmethod
    def path_in(root: Path) -> Path:
        return root / "state.json"

    @classmethod
    def load(cls, root: Path) -> OtaState:
        """The saved state; a missing file is a fresh state (every component on its factory model).

        The file is only ever replaced whole, so an unreadable one means outside damage: it is kept
        aside as state.json.damaged and every component goes back to its factory model.
        """
        path = cls.path_in(root)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("%s is unreadable (%s): every component falls back to its factory model", path, exc)
            try:
                os.replace(path, path.with_name("state.json.damaged"))
            except OSError:
                pass
            return cls()

    def save(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path_in(root), self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "components": {c: asdict(s) for c, s in self.components.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OtaState:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown state format {data.get('format')!r}")
        state = cls()
        for name, raw in data["components"].items():
            if name in COMPONENTS:
                state.components[name] = _component(raw)
        return state


def _component(raw: dict[str, Any]) -> ComponentState:
    slots: dict[str, SlotRecord | None] = dict.fromkeys(SLOTS)
    for slot, record in (raw.get("slots") or {}).items():
        if slot in SLOTS and record is not None:
            files = [FileSpec(f["path"], int(f["size"]), f["sha256"]) for f in record["files"]]
            slots[slot] = SlotRecord(**{**record, "files": files})
    trial = Trial(**raw["trial"]) if raw.get("trial") else None
    pending = Pending(**raw["pending"]) if raw.get("pending") else None
    state = ComponentState(
        active=raw.get("active", FACTORY),
        previous=raw.get("previous"),
        slots=slots,
        trial=trial,
        pending=pending,
        serial=int(raw.get("serial", 0)),
        last_digest=raw.get("last_digest", ""),
        latest=raw.get("latest"),
        summary=raw.get("summary", ""),
        last_result=raw.get("last_result", ""),
        last_reason=raw.get("last_reason", ""),
        last_version=raw.get("last_version", ""),
        last_at=raw.get("last_at", ""),
    )
    if state.active not in (FACTORY, *SLOTS) or (state.active != FACTORY and slots[state.active] is None):
        raise ValueError(f"active slot {state.active!r} holds nothing")
    return state

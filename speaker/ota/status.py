"""What the updater reports about itself: `speaker ota status` and the MQTT status topic."""

from __future__ import annotations

from typing import Any

from speaker.ota.manifest import COMPONENTS
from speaker.ota.slots import SlotManager, device_id


def status_report(slots: SlotManager, *, verify: bool = False) -> dict[str, Any]:
    """Per component: the active slot and version, rollback target, trial, update in progress, last
    result. With `verify`, every file of the active models is hashed again."""
    checks = {info.component: info for info in slots.inspect(full=verify)}
    components: dict[str, Any] = {}
    for name in COMPONENTS:
        cs = slots.component(name)
        installed = slots.installed_version(name)
        components[name] = {
            "active": cs.active,
            "installed_version": installed,
            "latest_version": cs.latest or installed,
            "previous": cs.previous,
            "trial": {"turns_left": cs.trial.turns_left, "boots": cs.trial.boots} if cs.trial else None,
            "pending": {"version": cs.pending.version, "phase": cs.pending.phase} if cs.pending else None,
            "release_summary": cs.summary,
            "last_result": cs.last_result,
            "last_version": cs.last_version,
            "last_reason": cs.last_reason,
            "last_at": cs.last_at,
            "verified": not checks[name].problems,
            "problems": list(checks[name].problems),
        }
    return {"device": device_id(slots.settings), "ota_dir": str(slots.root), "components": components}

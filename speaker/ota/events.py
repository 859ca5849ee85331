"""Typed events of the updater, on the speaker's EventBus (MQTT, logs, systemd status all listen).

- `OtaProgress`: while an update runs (phase, percentage), at most once per whole percent.
- `OtaResult`: how one announcement ended: installed, switched, confirmed, refused, failed,
  rolled_back, current (already installed); with the reason and its code.
- `OtaUpdateState`: one component's Home Assistant update-entity fields, emitted whenever one of
  them changes; `ha_state()` is the JSON the MQTT service publishes on the entity's state topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from speaker.events import Event

# Results, in the order an update goes through them.
INSTALLED = "installed"  # verified, health-checked, made active on disk
SWITCHED = "switched"  # the running loop now answers with it (between turns)
CONFIRMED = "confirmed"  # its first turns went well: the previous model is let go
REFUSED = "refused"  # not acted on (bad signature, expired, older, ...)
FAILED = "failed"  # accepted but not completed; the active model is untouched
ROLLED_BACK = "rolled_back"  # it was active and failed: the previous model is back
CURRENT = "current"  # already installed: nothing to do


@dataclass(frozen=True, kw_only=True)
class OtaProgress(Event):
    name: ClassVar[str] = "ota_progress"
    component: str
    version: str
    phase: str  # downloading | verifying | health_check | loading | switching
    update_percentage: float
    done_bytes: int = 0
    total_bytes: int = 0


@dataclass(frozen=True, kw_only=True)
class OtaResult(Event):
    name: ClassVar[str] = "ota_result"
    component: str
    version: str
    result: str
    reason: str = ""
    code: str = ""
    seconds: float = 0.0  # from the announcement to this result


@dataclass(frozen=True, kw_only=True)
class OtaUpdateState(Event):
    name: ClassVar[str] = "ota_state"
    component: str
    installed_version: str
    latest_version: str
    in_progress: bool = False
    update_percentage: float | None = None
    release_summary: str = ""
    last_result: str = ""
    last_reason: str = ""

    def ha_state(self) -> dict[str, Any]:
        """The payload of a Home Assistant MQTT `update` entity's state topic."""
        return {
            "installed_version": self.installed_version,
            "latest_version": self.latest_version,
            "in_progress": self.in_progress,
            "update_percentage": self.update_percentage,
            "release_summary": self.release_summary[:255] or None,
            "title": f"speaker {self.component} model",
        }

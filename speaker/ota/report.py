"""What the updater tells its listeners: progress, results, and Home Assistant's update-entity state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from speaker.events import EventBus
from speaker.ota.events import OtaProgress, OtaResult, OtaUpdateState
from speaker.ota.manifest import COMPONENTS
from speaker.ota.slots import SlotManager

# update_percentage at the start of each phase after the download (which takes 0..90)
PHASE_PERCENT = {
    "downloading": 0.0,
    "verifying": 90.0,
    "health_check": 92.0,
    "loading": 96.0,
    "switching": 99.0,
}


@dataclass(frozen=True)
class Outcome:
    result: str  # see events.py: installed, current, refused, failed, switched, ...
    component: str
    version: str
    reason: str = ""
    code: str = ""


class Reporter:
    def __init__(self, bus: EventBus, slots: SlotManager) -> None:
        self.bus = bus
        self.slots = slots
        self._progress: dict[str, float] = {}  # component -> update_percentage while it runs
        self._started = time.monotonic()

    def start(self) -> None:
        """An announcement arrived: results are timed from now."""
        self._started = time.monotonic()

    def progress(
        self,
        component: str,
        version: str,
        phase: str,
        percent: float | None = None,
        done: int = 0,
        total: int = 0,
    ) -> None:
        value = PHASE_PERCENT[phase] if percent is None else percent
        previous = self._progress.get(component)
        self._progress[component] = value
        if previous is not None and int(previous) == int(value) and phase == "downloading" and done < total:
            return  # at most one event per whole percent
        self.bus.emit(
            OtaProgress(
                component=component, version=version, phase=phase,
                update_percentage=round(value, 1), done_bytes=done, total_bytes=total,
            )
        )  # fmt: skip
        self.state(component)

    def switching(self, component: str) -> None:
        """Installed, loaded, waiting for the loop to be idle: still in progress for Home Assistant."""
        self.progress(component, self.slots.installed_version(component), "switching")

    def stop(self, component: str) -> None:
        self._progress.pop(component, None)

    def result(self, outcome: Outcome, *, state: bool = True) -> Outcome:
        self.stop(outcome.component)
        self.bus.emit(
            OtaResult(
                component=outcome.component, version=outcome.version, result=outcome.result,
                reason=outcome.reason, code=outcome.code, seconds=round(time.monotonic() - self._started, 3),
            )
        )  # fmt: skip
        if state and outcome.component in COMPONENTS:
            self.state(outcome.component)
        return outcome

    def state(self, component: str) -> None:
        self.bus.emit(self.update_state(component))

    def update_state(self, component: str) -> OtaUpdateState:
        cs = self.slots.component(component)
        installed = self.slots.installed_version(component)
        percent = self._progress.get(component)
        return OtaUpdateState(
            component=component,
            installed_version=installed,
            latest_version=cs.latest or installed,
            in_progress=percent is not None,
            update_percentage=None if percent is None else round(percent, 1),
            release_summary=cs.summary,
            last_result=cs.last_result,
            last_reason=cs.last_reason,
        )

"""Over-the-air updates inside `speaker run`: announcements in, engines swapped between turns.

    ota = OtaRuntime(settings, store, bus)
    ota.open()                                   # lock, recover: which slot each component runs
    speaker = build_speaker(settings, sink, bus=bus, models=ota.active_models())
    ota.attach(speaker.loop)                     # swap hook, trial watcher, worker thread
    ...
    ota.handle_manifest(payload, topic)          # from the MQTT service (any thread, never blocks)
    ...
    ota.close()

One worker thread does everything slow (download, health check in a child process, loading the
new engine) while the loop keeps answering; the loop itself only swaps engine objects when idle.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from speaker.app import prompts_to_warm
from speaker.engines import build_engine
from speaker.events import EventBus
from speaker.models import InstalledModel, ModelStore
from speaker.ota.errors import BUSY, TRIAL, OtaError
from speaker.ota.events import CONFIRMED, FAILED, REFUSED, ROLLED_BACK, SWITCHED, OtaUpdateState
from speaker.ota.health import run_health_check
from speaker.ota.manifest import COMPONENTS
from speaker.ota.report import Outcome
from speaker.ota.slots import SlotManager
from speaker.ota.state import FACTORY
from speaker.ota.status import status_report
from speaker.ota.trial import TrialWatcher, Watch
from speaker.ota.updater import HealthCheck, Updater
from speaker.pipeline.swap import EngineSwap, Swappable
from speaker.settings import Settings

log = logging.getLogger(__name__)

QUEUE_SIZE = 16
RETRY_FIRST_S = 30.0  # an update cut by the network is tried again after this, doubling each time
RETRY_MAX_S = 1800.0
_STOP = ("stop",)


class OtaRuntime:
    def __init__(
        self,
        settings: Settings,
        store: ModelStore,
        bus: EventBus,
        *,
        health: HealthCheck = run_health_check,
        retry_delay: float = 1.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.slots = SlotManager(settings, store)
        self.updater = Updater(self.slots, bus, health=health, retry_delay=retry_delay)
        self.watcher = TrialWatcher(self._decide)
        self.swap: EngineSwap | None = None
        self.retry_first = RETRY_FIRST_S
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._unsubscribe: Any = None
        self._retry_in: float | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def open(self) -> list[str]:
        """Take the OTA lock and recover the state, counting this start for models on trial.

        A start is withdrawn again by a clean close(): only starts that ended in a crash, a kill
        or a hang count, so a good model nobody talked to is not rolled back after some reboots.
        """
        notes = self.slots.open(count_boot=True)
        for note in notes:
            log.warning("at start-up: %s", note)
        return notes

    def active_models(self) -> dict[str, InstalledModel]:
        """The models of the active slots (components on their factory model are not listed)."""
        models = {c: self.slots.active_model(c) for c in COMPONENTS}
        return {c: m for c, m in models.items() if m is not None}

    def attach(self, loop: Swappable | None) -> None:
        """Start updating: engines are swapped by `loop` between turns; pending work is resumed.

        Without a loop, updates are installed on disk only and used from the next start.
        """
        if loop is not None:
            self.swap = EngineSwap(loop)
            loop.tick_hooks.append(self.swap)  # type: ignore[attr-defined]
        self._unsubscribe = self.bus.subscribe(self.watcher)
        for component, _note, code in self.slots.rollbacks:  # done by open(): reported now, to listeners
            cs = self.slots.component(component)
            self.updater.report.result(Outcome(ROLLED_BACK, component, cs.last_version, cs.last_reason, code))
        for component in COMPONENTS:
            cs = self.slots.component(component)
            if cs.trial is not None:  # started with a model still on trial: keep counting its turns
                record = cs.record(cs.active)
                self.watcher.watch(component, Watch(record.version if record else "?", cs.trial.turns_left))
            self.bus.emit(self.updater.report.update_state(component))
        self._thread = threading.Thread(target=self._work, name="ota", daemon=True)
        self._thread.start()
        self._queue.put(("resume",))

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker; an update in progress is left for the next start to resume."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)
            if self._thread.is_alive():  # it keeps the lock until the process ends
                log.info("an update is still running; it resumes at the next start")
                return
            self._thread = None
        self._clean_stop()
        self.slots.close()

    def _clean_stop(self) -> None:
        """A stop that was not a crash does not count against a model on trial (see open())."""
        if not self.slots.locked:
            return
        changed = False
        for component in COMPONENTS:
            trial = self.slots.component(component).trial
            if trial is not None and trial.boots > 0:
                trial.boots -= 1
                changed = True
        if changed:
            self.slots.save()

    # -- the boundary with the MQTT service ------------------------------------------------------

    def handle_manifest(self, payload: bytes, topic: str) -> None:
        """A manifest arrived (e.g. on a subscribed topic). Safe from any thread; never blocks."""
        if not payload:  # an empty retained message is how an operator clears a topic
            log.debug("%s: cleared", topic)
            return
        try:
            self._queue.put_nowait(("manifest", bytes(payload), topic))
        except queue.Full:
            reason = "too many announcements at once; this one was dropped (a retained one comes back)"
            self.updater.report.result(Outcome(REFUSED, "", "", reason, BUSY))

    def install_now(self, component: str) -> bool:
        """Try an unfinished update of `component` again now (Home Assistant's Install button),
        instead of at its next retry. False when none is waiting. Safe from any thread."""
        pending = self.slots.component(component).pending
        if pending is None:
            log.info("install %s: no update is waiting (updates install when announced)", component)
            return False
        log.info("install %s %s: trying the unfinished update again now", component, pending.version)
        self._retry_in = None  # if it fails again, the next retry starts from the first delay
        try:
            self._queue.put_nowait(("resume",))
        except queue.Full:
            log.warning("install %s: the updater is busy; it retries by itself", component)
            return False
        return True

    def status(self) -> dict[str, Any]:
        """The retained payload of the status topic (topics.status_topic): every component's state,
        the slot it runs, the last result and its reason."""
        return status_report(self.slots)

    def states(self) -> list[OtaUpdateState]:
        """Every component's Home Assistant update-entity state (to publish after a (re)connect)."""
        return [self.updater.report.update_state(c) for c in COMPONENTS]

    # -- the worker ------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._retry_in)
            except queue.Empty:
                item = ("resume",)
            if item == _STOP:
                return
            try:
                self._handle(item)
            except Exception:  # the updater must never take the speaker down
                log.exception("the updater failed on %s", item[0])

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "manifest":
            self.updater.apply(item[1], item[2], prepare=self._prepare, on_installed=self._installed)
            self._schedule_retry()
        elif kind == "resume":
            self._resume()
        elif kind == "turn":
            self._trial_turn(item[1])
        elif kind == "failed":
            self._roll_back(item[1], item[2], item[3])

    def _resume(self) -> None:
        """Finish updates a restart or a network cut interrupted (their envelopes are in state.json)."""
        for component in COMPONENTS:
            pending = self.slots.component(component).pending
            if pending is None:
                continue
            outcome = self.updater.apply(
                pending.envelope, prepare=self._prepare, on_installed=self._installed
            )
            if outcome.result == REFUSED:  # expired meanwhile, or its key is no longer trusted
                self.updater.abandon_pending(component, outcome.reason)
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        waiting = any(self.slots.component(c).pending for c in COMPONENTS)
        if not waiting:
            self._retry_in = None
        else:
            self._retry_in = min(RETRY_MAX_S, 2 * self._retry_in) if self._retry_in else self.retry_first
            log.info("an unfinished update is tried again in %.0f s", self._retry_in)

    # -- loading and swapping --------------------------------------------------------------------

    def load_engine(self, component: str, model: InstalledModel) -> Any:
        """The engine for `model`, loaded (and, for a language model, warmed) in this thread."""
        engine = build_engine(self.settings, self.store, component, model)
        try:
            engine.load()
            if component == "llm" and hasattr(engine, "warm"):
                for system in prompts_to_warm(self.settings):  # every mode answers at once after the switch
                    engine.warm([system])
        except OtaError:
            raise
        except Exception as exc:  # the engine library's own error types
            raise OtaError(f"cannot load {model.id}: {type(exc).__name__}: {exc}", code="ota_load") from exc
        return engine

    def _prepare(self, component: str, model: InstalledModel) -> Any:
        return self.load_engine(component, model) if self.swap is not None else None

    def _installed(self, component: str, engine: Any) -> None:
        if self.swap is None or engine is None:  # used from the next start: done for now
            self.updater.report.state(component)
            return
        version = self.slots.installed_version(component)
        self.updater.report.switching(component)

        def swapped(old: Any) -> None:  # on the loop's thread, between turns
            self.slots.component(component).set_last(SWITCHED, version)  # saved with the next change
            self.updater.report.result(Outcome(SWITCHED, component, version))
            turns = self.settings.ota.trial_turns
            if turns > 0:
                self.watcher.watch(component, Watch(version, turns, old))

        self.swap.offer(component, engine, swapped)

    # -- trial -----------------------------------------------------------------------------------

    def _decide(self, component: str, verdict: str, reason: str) -> None:
        """From the trial watcher (loop or turn thread): hand the decision to the worker."""
        if verdict == "failed":
            watch = self.watcher.stop(component)
            if watch is not None:
                self._queue.put(("failed", component, reason, watch))
        else:
            self._queue.put(("turn", component))

    def _trial_turn(self, component: str) -> None:
        cs = self.slots.component(component)
        if cs.trial is None:
            return
        cs.trial.turns_left -= 1
        if cs.trial.turns_left > 0:
            self.slots.save()
            return
        cs.trial = None
        version = self.slots.installed_version(component)
        cs.set_last(CONFIRMED, version)
        self.slots.save()
        self.watcher.stop(component)  # the old engine is let go here
        log.info("%s %s answered its first turns: confirmed", component, version)
        self.updater.report.result(Outcome(CONFIRMED, component, version))

    def _roll_back(self, component: str, reason: str, watch: Watch | None = None) -> None:
        cs = self.slots.component(component)
        if cs.trial is None or cs.active == FACTORY:
            return
        version = self.slots.installed_version(component)
        why = f"the first turns with {component} {version} failed: {reason}"
        note = self.slots.fall_back(component, why, TRIAL)
        self.updater.report.result(Outcome(ROLLED_BACK, component, version, why, TRIAL))
        old = watch.old_engine if watch is not None else None
        if old is None:  # started on trial: the previous model was never loaded in this run
            try:
                old = self.load_engine(component, self.slots.model_for(component, cs.active))
            except Exception as exc:
                log.error("%s; it is used from the next start (%s)", note, exc)
                self.updater.report.result(Outcome(FAILED, component, version, str(exc), TRIAL))
                return
        if self.swap is not None:
            self.swap.offer(component, old)

"""One announcement, start to finish: verify, check, download, stage, health-check, switch.

Every step is recorded in state.json before the next begins, so an update interrupted at any
moment (power cut, SIGKILL) resumes where it stopped when the same manifest is applied again:
finished files are not downloaded again, a passed health check is not run again.

`apply()` is synchronous and used as it is by `speaker ota apply`; inside `speaker run`, the
runtime (runtime.py) calls it from its worker thread and passes `prepare` (load the new engine
in the speaker) and `on_installed` (hand it to the voice loop between turns).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from speaker.errors import SpeakerError
from speaker.events import EventBus
from speaker.models import InstalledModel, install_files
from speaker.models.manifest import Manifest, check_files
from speaker.ota.errors import DISK_FULL, DOWNLOAD, HEALTH, LOAD, REPLAYED, OtaError
from speaker.ota.events import (
    CURRENT,
    FAILED,
    INSTALLED,
    REFUSED,
)
from speaker.ota.fetch import check_disk, fetch_files
from speaker.ota.health import HealthResult, run_health_check
from speaker.ota.manifest import COMPONENTS
from speaker.ota.policy import check_applicable, check_new
from speaker.ota.report import Outcome, Reporter
from speaker.ota.signing import SignedManifest, trusted_keys, verify
from speaker.ota.slots import SlotManager, device_id
from speaker.ota.state import FACTORY, SLOTS, Pending, SlotRecord, Trial
from speaker.ota.topics import topic_component

log = logging.getLogger(__name__)

Prepare = Callable[[str, InstalledModel], Any]  # (component, model) -> the loaded engine
OnInstalled = Callable[[str, Any], None]  # (component, engine from prepare)
HealthCheck = Callable[..., HealthResult]


def tree_size(path: Any) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


class Updater:
    def __init__(
        self,
        slots: SlotManager,
        bus: EventBus,
        *,
        health: HealthCheck = run_health_check,
        retry_delay: float = 1.0,
    ) -> None:
        self.slots = slots
        self.settings = slots.settings
        self.bus = bus
        self.device = device_id(self.settings)
        self.health = health
        self.retry_delay = retry_delay
        self.trusted = trusted_keys(self.settings.ota.trusted_keys)
        self.report = Reporter(bus, slots)

    # -- the whole thing -------------------------------------------------------------------------

    def apply(
        self,
        payload: bytes | str,
        topic: str = "",
        *,
        prepare: Prepare | None = None,
        on_installed: OnInstalled | None = None,
    ) -> Outcome:
        """Act on one announcement; never raises for a bad announcement or a failed update."""
        self.report.start()
        component, version = topic_component(topic), ""
        try:
            signed = verify(payload, self.trusted)
            component, version = signed.manifest.component, signed.manifest.version
            seen = self._seen(signed)
            if seen is not None:
                return seen
            check_applicable(signed.manifest, device=self.device)
            cs = self.slots.component(component)
            resume = cs.pending is not None and cs.pending.digest == signed.digest
            if not resume:
                floor = max(cs.serial, cs.pending.serial if cs.pending else 0)  # nor older than a pending one
                check_new(signed.manifest, last_serial=floor, installed_version=self.installed(component))
                self._accept(signed)
        except OtaError as exc:
            return self._refused(component, version, exc)
        return self._run(signed, prepare, on_installed)

    def _run(
        self, signed: SignedManifest, prepare: Prepare | None, on_installed: OnInstalled | None
    ) -> Outcome:
        m = signed.manifest
        cs = self.slots.component(m.component)
        assert cs.pending is not None
        slot = cs.pending.slot
        log.info(
            "%s: updating slot %s (%s)", m.label, slot, "resumed" if cs.pending.phase != "accepted" else "new"
        )
        engine = None
        try:
            model = self._stage(signed, slot)
            if cs.pending.phase != "healthy":
                self.report.progress(m.component, m.version, "health_check")
                result = self.health(
                    m.component, model, self.settings, timeout=self.settings.ota.health_timeout_s
                )
                if not result.ok:
                    raise OtaError(f"{m.label} failed its health check: {result.reason}", code=HEALTH)
                log.info("%s: healthy in %.1f s %s", m.label, result.seconds, result.detail)
                cs.pending.phase = "healthy"
                self.slots.save()
            if prepare is not None:
                self.report.progress(m.component, m.version, "loading")
                try:
                    engine = prepare(m.component, model)
                except SpeakerError as exc:
                    raise OtaError(
                        f"{m.label} passed its health check, but: {exc.message}", code=LOAD
                    ) from exc
            self._commit(signed, slot)
        except OtaError as exc:
            return self._failed(signed, exc)
        # With on_installed, the entity state is its to say: still in progress until the loop switches
        outcome = self.report.result(Outcome(INSTALLED, m.component, m.version), state=on_installed is None)
        if on_installed is not None:
            on_installed(m.component, engine)
        return outcome

    # -- steps -----------------------------------------------------------------------------------

    def _seen(self, signed: SignedManifest) -> Outcome | None:
        """A retained announcement delivered again (reconnect, restart): say so and change nothing."""
        m = signed.manifest
        if m.component not in COMPONENTS:
            return None
        cs = self.slots.component(m.component)
        active = cs.record(cs.active)
        if active is not None and signed.digest == active.digest:
            log.info("%s is already installed", m.label)
            return self.report.result(Outcome(CURRENT, m.component, m.version, "already installed"))
        if signed.digest == cs.last_digest:
            reason = f"{m.label} was already tried: {cs.last_reason}"
            return self.report.result(Outcome(REFUSED, m.component, m.version, reason, REPLAYED))
        return None

    def installed(self, component: str) -> str:
        return self.slots.installed_version(component)

    def _accept(self, signed: SignedManifest) -> None:
        """Check the disk, then record the update as pending and empty the slot it goes to."""
        m = signed.manifest
        slot = self.slots.inactive_slot(m.component)
        staging = self.slots.staging_dir(m.component)
        shutil.rmtree(staging, ignore_errors=True)  # leftovers of an announcement this one replaces
        reclaim = tree_size(self.slots.slot_dir(m.component, slot))
        check_disk(m, staging, reclaimable=reclaim, keep_free=self.settings.ota.min_free_mb * 1_000_000)
        cs = self.slots.component(m.component)
        cs.pending = Pending(slot, m.version, m.serial, signed.digest, signed.envelope)
        cs.latest, cs.summary = m.version, m.summary
        self.slots.release_slot(m.component, slot)  # state.json first, then the old files go
        self.report.state(m.component)

    def _stage(self, signed: SignedManifest, slot: str) -> InstalledModel:
        """The update's files, verified, in `slot` (downloading only what is not there yet)."""
        m = signed.manifest
        cs = self.slots.component(m.component)
        assert cs.pending is not None
        slot_dir = self.slots.slot_dir(m.component, slot)
        staging = self.slots.staging_dir(m.component)
        record = SlotRecord(m.version, m.serial, m.main, signed.digest, [f.spec for f in m.files], m.summary)
        model = self.slots.slot_model(m.component, slot, record)
        if cs.pending.phase in ("staged", "healthy") and _installed_intact(slot_dir, record):
            return model
        if cs.pending.phase != "downloading":
            cs.pending.phase = "downloading"
            self.slots.save()
        else:  # resumed: the disk may have filled up meanwhile
            check_disk(m, staging, reclaimable=0, keep_free=self.settings.ota.min_free_mb * 1_000_000)

        def progress(done: int, total: int) -> None:
            fraction = done / total if total else 1.0
            self.report.progress(m.component, m.version, "downloading", 90.0 * fraction, done, total)

        progress(0, m.total_size)
        fetch_files(
            m, staging, installed=slot_dir, progress=progress,
            timeout=self.settings.ota.download_timeout_s, retry_delay=self.retry_delay,
        )  # fmt: skip
        self.report.progress(m.component, m.version, "verifying")
        sources = ", ".join(sorted({urlsplit(f.url).netloc for f in m.files}))
        try:
            install_files(
                staging, record.files, slot_dir, model_id=f"{m.component}-{m.version}",
                version=m.version, source=sources,
            )  # fmt: skip
        except (SpeakerError, OSError) as exc:
            raise OtaError(f"{m.label}: cannot install into slot {slot}: {exc}", code=DOWNLOAD) from exc
        shutil.rmtree(staging, ignore_errors=True)
        cs.pending.phase = "staged"
        self.slots.save()
        return model

    def _commit(self, signed: SignedManifest, slot: str) -> None:
        """The switch: one atomic state.json write makes the slot active and keeps the old one."""
        m = signed.manifest
        cs = self.slots.component(m.component)
        cs.previous = cs.active if cs.active in SLOTS else None
        cs.active = slot
        cs.slots[slot] = SlotRecord(
            m.version, m.serial, m.main, signed.digest, [f.spec for f in m.files], m.summary
        )
        turns = self.settings.ota.trial_turns
        cs.trial = Trial(turns_left=turns) if turns > 0 else None
        cs.pending = None
        cs.serial = max(cs.serial, m.serial)
        cs.last_digest = signed.digest
        cs.latest, cs.summary = m.version, m.summary
        cs.set_last(INSTALLED, m.version)
        self.slots.save()
        self.report.stop(m.component)
        log.info("%s is active (slot %s; previous: %s)", m.label, slot, cs.previous or FACTORY)

    # -- endings ---------------------------------------------------------------------------------

    def _refused(self, component: str, version: str, exc: OtaError) -> Outcome:
        log.warning("update refused [%s]: %s", exc.code, exc.message)
        known = component in COMPONENTS
        if known:
            self.slots.component(component).set_last(REFUSED, version, exc.message)
            self.slots.save()
        return self.report.result(Outcome(REFUSED, component, version, exc.message, exc.code), state=known)

    def _failed(self, signed: SignedManifest, exc: OtaError) -> Outcome:
        """Retry later after a network or disk problem; give up on this announcement otherwise."""
        m = signed.manifest
        cs = self.slots.component(m.component)
        self.report.stop(m.component)
        if exc.code in (DOWNLOAD, DISK_FULL):
            reason = f"{exc.message} (it resumes when announced again or at the next start)"
            cs.set_last(FAILED, m.version, reason)
            self.slots.save()
        else:
            reason = exc.message
            slot = cs.pending.slot if cs.pending else None
            cs.pending = None
            cs.serial = max(cs.serial, m.serial)
            cs.last_digest = signed.digest
            cs.latest = None
            cs.set_last(FAILED, m.version, reason)
            if slot is not None and slot != cs.active:
                self.slots.release_slot(m.component, slot)  # saves
            else:
                self.slots.save()
            shutil.rmtree(self.slots.staging_dir(m.component), ignore_errors=True)
        log.error("update failed [%s]: %s", exc.code, reason)
        return self.report.result(Outcome(FAILED, m.component, m.version, reason, exc.code))

    def abandon_pending(self, component: str, reason: str) -> None:
        """Drop an unfinished update that can no longer be resumed (e.g. it expired meanwhile)."""
        cs = self.slots.component(component)
        if cs.pending is None:
            return
        slot, cs.pending, cs.latest = cs.pending.slot, None, None
        self.slots.release_slot(component, slot)
        shutil.rmtree(self.slots.staging_dir(component), ignore_errors=True)
        log.warning("%s: unfinished update dropped: %s", component, reason)
        self.report.state(component)


def _installed_intact(slot_dir: Any, record: SlotRecord) -> bool:
    manifest = Manifest.read(slot_dir)
    if manifest is None or {f.spec for f in manifest.files} != set(record.files):
        return False
    return not check_files(slot_dir, manifest, full=False).problems

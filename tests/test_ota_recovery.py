"""Self-healing at start-up and the speaker-side commands: damaged slots, models that never finish
their trial, updates interrupted by the network, a damaged state file, `speaker ota status | apply`.

The wake word model (pocketsphinx, a folder of 11 files, health check under a second) is the model
updated here: llm updates are covered elsewhere and cost more."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from models_fixtures.loopback import LoopbackServer, Route
from ota_fixtures.device import Device, Operator, config_file, device_settings

from speaker.cli import main
from speaker.events import EventBus, EventLog
from speaker.models import ModelStore
from speaker.ota import errors
from speaker.ota.events import OtaResult
from speaker.ota.runtime import OtaRuntime
from speaker.ota.serve import FileServer
from speaker.ota.slots import SlotManager
from speaker.ota.state import OtaState
from speaker.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def operator() -> Operator:
    return Operator.new()


@pytest.fixture(scope="module")
def wake_http(store: ModelStore) -> Iterator[FileServer]:
    with FileServer(store.require("pocketsphinx-en-us").path, "127.0.0.1", 0) as http:
        yield http


@pytest.fixture(scope="module")
def installed(
    store: ModelStore, operator: Operator, wake_http: FileServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """An OTA directory where wake 6.0.0 is in slot a and 7.0.0 (on trial) in slot b."""
    root = tmp_path_factory.mktemp("installed") / "ota"
    device = Device(device_settings(root, operator), store)
    folder = store.require("pocketsphinx-en-us").path
    for version in ("6.0.0", "7.0.0"):
        manifest = operator.folder_manifest("wake", version, folder, wake_http.url(""))
        assert device.updater.apply(operator.sign(manifest)).result == "installed"
    device.close()
    return root


def copy_of(installed: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ota"
    shutil.copytree(installed, root)
    return root


def start(settings: Settings, store: ModelStore) -> tuple[OtaRuntime, EventLog]:
    """What `speaker run` does first: open (recover), then attach (report, resume)."""
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    runtime = OtaRuntime(settings, store, bus)
    runtime.open()
    runtime.attach(None)
    return runtime, log


def results(log: EventLog) -> list[tuple[str, str, str]]:
    return [(e.component, e.version, e.result) for e in log.events if isinstance(e, OtaResult)]


def test_a_damaged_active_slot_falls_back_to_the_previous_one(
    installed: Path, operator: Operator, store: ModelStore, tmp_path: Path
) -> None:
    root = copy_of(installed, tmp_path)
    settings = device_settings(root, operator)
    target = root / "wake" / "b" / "en-us" / "mdef"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF
    target.write_bytes(bytes(data))  # a flipped bit on the disk
    runtime, log = start(settings, store)
    runtime.close()
    assert results(log) == [("wake", "7.0.0", "rolled_back")]
    cs = runtime.slots.component("wake")
    assert (cs.active, cs.previous, cs.slots["b"]) == ("a", None, None)
    assert "damaged" in cs.last_reason and "mdef" in cs.last_reason
    assert not (root / "wake" / "b").exists()
    model = runtime.active_models()["wake"]
    assert model.version == "6.0.0" and model.main == root / "wake" / "a"


def test_a_model_that_keeps_the_speaker_from_finishing_its_trial_is_rolled_back(
    installed: Path, operator: Operator, store: ModelStore, tmp_path: Path
) -> None:
    root = copy_of(installed, tmp_path)
    settings = device_settings(root, operator, trial_boots=2)
    for _ in range(3):  # clean stops (nobody talked to it): not held against the new model
        runtime, log = start(settings, store)
        runtime.close()
        assert results(log) == [] and runtime.slots.component("wake").trial.boots == 0  # type: ignore[union-attr]
    for boot in (1, 2):  # started, then died (crash, kill, hang) before answering its trial turns
        crashed = OtaRuntime(settings, store, EventBus())
        crashed.open()
        crashed.slots.close()  # what the kernel does for a dead process: the lock goes, nothing else
        assert crashed.slots.component("wake").trial.boots == boot  # type: ignore[union-attr]
    runtime, log = start(settings, store)
    runtime.close()
    assert results(log) == [("wake", "7.0.0", "rolled_back")]
    cs = runtime.slots.component("wake")
    assert (cs.active, cs.trial) == ("a", None)
    assert "stopped unexpectedly 2 times" in cs.last_reason


def serve_folder(server: LoopbackServer, folder: Path, status: int) -> list[Route]:
    """Every file of a model folder on the loopback server, answering `status` for now."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return [server.add(p.relative_to(folder).as_posix(), p.read_bytes(), status=status) for p in files]


def test_an_update_cut_by_the_network_is_finished_at_the_next_start(
    operator: Operator, store: ModelStore, tmp_path: Path
) -> None:
    settings = device_settings(tmp_path / "ota", operator)
    folder = store.require("pocketsphinx-en-us").path
    with LoopbackServer() as server:
        routes = serve_folder(server, folder, status=503)  # the file server is down
        manifest = operator.folder_manifest("wake", "6.0.0", folder, server.base_url)
        device = Device(settings, store)
        outcome = device.updater.apply(operator.sign(manifest))
        device.close()
        assert (outcome.result, outcome.code) == ("failed", errors.DOWNLOAD)
        assert "resumes" in outcome.reason and "503" in outcome.reason
        assert OtaState.load(settings.ota.dir).components["wake"].pending is not None  # type: ignore[arg-type]
        for route in routes:
            route.status = 200  # back up
        runtime, log = start(settings, store)  # no new announcement: the start resumes the old one
        found = wait_for(log, lambda r: bool(r))
        runtime.close()
    assert found == [("wake", "6.0.0", "installed")]
    assert runtime.slots.component("wake").active == "a"


def test_damaged_bytes_kept_from_an_interrupted_download_are_fetched_again(
    operator: Operator, store: ModelStore, tmp_path: Path
) -> None:
    """After a power cut, the unflushed tail of a partial download can hold anything: resuming from
    it fails the checksum, and the file is then fetched once more from the start."""
    settings = device_settings(tmp_path / "ota", operator)
    folder = store.require("pocketsphinx-en-us").path
    with LoopbackServer() as server:
        routes = serve_folder(server, folder, status=503)
        manifest = operator.folder_manifest("wake", "6.0.0", folder, server.base_url)
        device = Device(settings, store)
        assert device.updater.apply(operator.sign(manifest)).code == errors.DOWNLOAD
        part = device.slots.staging_dir("wake") / "en-us.lm.bin.part"
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"\0" * 1_000_000)  # what the disk held after the power came back
        for route in routes:
            route.status = 200
        outcome = device.updater.apply(operator.sign(manifest))
        device.close()
        assert outcome.result == "installed", outcome
        size = (folder / "en-us.lm.bin").stat().st_size
        assert [r.range for r in server.requests("en-us.lm.bin")][-2:] == ["bytes=1000000-", None]
        assert server.served("en-us.lm.bin") <= size + (size - 1_000_000) + 1
    assert device.slots.check_slot("wake", "a", full=True) == []


def wait_for(log: EventLog, done: Callable[[list[tuple[str, str, str]]], bool], timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = results(log)
        if done(found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"not done within {timeout} s: {results(log)}")


def test_an_unfinished_update_that_expired_meanwhile_is_dropped_at_start(
    operator: Operator, store: ModelStore, tmp_path: Path
) -> None:
    settings = device_settings(tmp_path / "ota", operator)
    folder = store.require("pocketsphinx-en-us").path
    with LoopbackServer() as server:
        serve_folder(server, folder, status=503)
        manifest = operator.folder_manifest(
            "wake", "6.0.0", folder, server.base_url, expires_in=timedelta(seconds=2)
        )
        device = Device(settings, store)
        assert device.updater.apply(operator.sign(manifest)).code == errors.DOWNLOAD
        device.close()
        time.sleep(max(0.0, (manifest.expires_at() - datetime.now(UTC)).total_seconds()) + 0.1)
        runtime, log = start(settings, store)
        found = wait_for(log, lambda r: bool(r))
        runtime.close()
    assert found == [("wake", "6.0.0", "refused")]
    cs = runtime.slots.component("wake")
    assert cs.pending is None and cs.active == "factory" and "expired" in cs.last_reason
    assert not (settings.ota.dir / "wake" / "staging").exists()  # type: ignore[operator]


def test_a_damaged_state_file_means_factory_models_and_is_kept_aside(
    installed: Path, operator: Operator, store: ModelStore, tmp_path: Path
) -> None:
    root = copy_of(installed, tmp_path)
    (root / "state.json").write_text('{"format": 1, "components": {"wake": {"active": "b"', encoding="utf-8")
    slots = SlotManager(device_settings(root, operator), store)
    slots.open()
    slots.close()
    assert all(slots.component(c).active == "factory" for c in ("llm", "tts", "asr", "wake"))
    assert (root / "state.json.damaged").exists()
    assert OtaState.load(root).components["wake"].active == "factory"


def test_status_and_apply_from_the_command_line(
    installed: Path,
    operator: Operator,
    store: ModelStore,
    wake_http: FileServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = copy_of(installed, tmp_path)
    settings = device_settings(root, operator)
    config = str(config_file(tmp_path / "c.yaml", settings))
    assert main(["--config", config, "ota", "status"]) == 0
    out = capsys.readouterr().out
    assert "wake       7.0.0 (b), previous a, on trial (3 turns to answer)" in out
    assert "last: installed 7.0.0" in out
    assert main(["--config", config, "ota", "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["components"]["wake"]["verified"] and report["components"]["llm"]["active"] == "factory"

    older = tmp_path / "older.json"
    folder = store.require("pocketsphinx-en-us").path
    older.write_bytes(operator.sign(operator.folder_manifest("wake", "6.5.0", folder, wake_http.url(""))))
    assert main(["--config", config, "ota", "apply", str(older)]) == 1
    assert "not newer than the installed version 7.0.0" in capsys.readouterr().err

    holder = SlotManager(settings, store)  # a running `speaker run` holds the lock
    holder.open()
    try:
        assert main(["--config", config, "ota", "apply", str(older)]) == 2
        assert "applies updates itself" in capsys.readouterr().err
    finally:
        holder.close()

    (root / "wake" / "b" / "en-us" / "means").write_bytes(b"damaged")
    assert main(["--config", config, "ota", "status", "--verify"]) == 1
    assert "DAMAGED" in capsys.readouterr().out
    assert main(["--config", config, "ota", "apply", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err

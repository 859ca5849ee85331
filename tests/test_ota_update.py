"""Updates end to end on the speaker side: real model files, real HTTP servers on loopback, the real
health check. One OTA directory per module: SmolLM2 is installed as llm 1.0.0 through a server
that drops the connection at 30, 60 and 90 %; every refusal and failure after that must leave it
active and intact."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from models_fixtures.build import payload, sha
from models_fixtures.loopback import LoopbackServer
from ota_fixtures.device import (
    GEMMA,
    SMOLLM,
    Device,
    Operator,
    assert_one_verified_slot_each,
    config_file,
    device_settings,
    model_file,
    publish_dir,
)

from speaker.models import ModelStore
from speaker.ota import errors
from speaker.ota.events import OtaProgress, OtaResult, OtaUpdateState
from speaker.ota.health import child_environment, run_health_check
from speaker.ota.manifest import ManifestFile
from speaker.ota.serve import FileServer
from speaker.ota.state import OtaState

pytestmark = pytest.mark.slow


@dataclasses.dataclass
class V1:
    device: Device
    operator: Operator
    server: LoopbackServer
    size: int
    outcome: Any
    root: Path


@pytest.fixture(scope="module")
def v1(store: ModelStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[V1]:
    """SmolLM2 installed as llm 1.0.0, downloaded through three cuts."""
    root = tmp_path_factory.mktemp("ota-update")
    operator = Operator.new()
    settings = device_settings(root / "ota", operator)
    body = model_file(store, SMOLLM).read_bytes()
    with LoopbackServer() as server:
        server.add("smollm.gguf", body, cut_after=int(len(body) * 0.3), cuts=3)
        device = Device(settings, store)
        manifest = operator.manifest("llm", "1.0.0", [(model_file(store, SMOLLM), server.url("smollm.gguf"))])
        outcome = device.updater.apply(operator.sign(manifest), "speaker/ota/fleet/llm")
        yield V1(device, operator, server, len(body), outcome, root)
        device.close()


def results(device: Device) -> list[OtaResult]:
    return [e for e in device.events.events if isinstance(e, OtaResult)]


def test_a_download_cut_at_30_60_and_90_percent_resumes_and_installs(v1: V1, store: ModelStore) -> None:
    assert v1.outcome.result == "installed", v1.outcome
    ranges = [r.range for r in v1.server.requests("smollm.gguf")]
    third = int(v1.size * 0.3)
    assert ranges == [None, f"bytes={third}-", f"bytes={2 * third}-", f"bytes={3 * third}-"]
    served = v1.server.served("smollm.gguf")
    assert v1.size <= served <= 1.05 * v1.size, f"re-fetched {served - v1.size} bytes"
    cs = v1.device.slots.component("llm")
    assert (cs.active, cs.previous, cs.record("a").version) == ("a", None, "1.0.0")
    assert cs.trial is not None and cs.trial.turns_left == 3  # the next `speaker run` counts them
    assert assert_one_verified_slot_each(v1.device.settings, store)["llm"] == "a:1.0.0"
    progress = [e for e in v1.device.events.events if isinstance(e, OtaProgress)]
    phases = [p.phase for p in progress]
    assert phases.index("downloading") < phases.index("verifying") < phases.index("health_check")
    downloading = [p.update_percentage for p in progress if p.phase == "downloading"]
    assert downloading == sorted(downloading) and downloading[-1] == 90.0 and len(downloading) > 10
    last = [e for e in v1.device.events.events if isinstance(e, OtaUpdateState)][-1]
    assert last.ha_state() == {
        "installed_version": "1.0.0",
        "latest_version": "1.0.0",
        "in_progress": False,
        "update_percentage": None,
        "release_summary": None,
        "title": "speaker llm model",
    }


def refusal_cases(op: Operator, url: str, model: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (announcement, expected refusal code), all for a newer llm unless said otherwise."""
    newer = op.manifest("llm", "5.0.0", [(model, url)])
    envelope = op.sign(newer).decode()
    stranger = Operator.new()
    return {
        "bad signature": (envelope.replace("5.0.0", "6.0.0").encode(), errors.TAMPERED),
        "wrong key": (stranger.sign(newer), errors.UNTRUSTED),
        "unsigned": (newer.to_json().encode(), errors.UNSIGNED),
        "older version": (op.sign(op.manifest("llm", "0.9.0", [(model, url)])), errors.NOT_NEWER),
        "same version": (op.sign(op.manifest("llm", "1.0.0", [(model, url)])), errors.NOT_NEWER),
        "expired": (
            op.sign(op.manifest("llm", "5.0.0", [(model, url)], expires_in=timedelta(seconds=-1))),
            errors.EXPIRED,
        ),
        "replayed serial": (op.sign(op.manifest("llm", "5.0.0", [(model, url)], serial=5)), errors.REPLAYED),
        "unknown component": (
            op.sign(op.manifest("radio", "5.0.0", [(model, url)])),
            errors.UNKNOWN_COMPONENT,
        ),
        "other device": (
            op.sign(op.manifest("llm", "5.0.0", [(model, url)], device="attic")),
            errors.OTHER_DEVICE,
        ),
        "newer firmware": (
            op.sign(op.manifest("llm", "5.0.0", [(model, url)], min_firmware="99.0")),
            errors.INCOMPATIBLE,
        ),
        "garbage": (b'{"hello": "world"', errors.MALFORMED),
    }


def test_every_refusal_names_its_reason_and_changes_nothing(v1: V1, store: ModelStore) -> None:
    url = v1.server.url("smollm.gguf")
    cases = refusal_cases(v1.operator, url, model_file(store, SMOLLM))
    before = v1.device.snapshot()
    requests = len(v1.server.requests("smollm.gguf"))
    for name, (announcement, code) in cases.items():
        outcome = v1.device.updater.apply(announcement, "speaker/ota/fleet/llm")
        assert (outcome.result, outcome.code) == ("refused", code), (name, outcome)
        assert outcome.reason, name
        assert v1.device.snapshot() == before, name
    assert len(v1.server.requests("smollm.gguf")) == requests  # nothing was downloaded
    assert OtaState.load(v1.device.slots.root).components["llm"].last_result == "refused"
    assert_one_verified_slot_each(v1.device.settings, store)


def failed_update(v1: V1, announcement: bytes) -> Any:
    before = v1.device.snapshot()
    outcome = v1.device.updater.apply(announcement, "speaker/ota/fleet/llm")
    assert v1.device.snapshot() == before
    cs = v1.device.slots.component("llm")
    assert cs.pending is None and cs.slots["b"] is None and not v1.device.slots.slot_dir("llm", "b").exists()
    assert not v1.device.slots.staging_dir("llm").exists()  # no .part to resume wrong bytes from
    return outcome


def test_a_sha256_mismatch_fails_and_the_active_model_stays(v1: V1, store: ModelStore) -> None:
    model = model_file(store, SMOLLM)
    manifest = v1.operator.manifest("llm", "2.0.0", [(model, v1.server.url("smollm.gguf"))])
    wrong = dataclasses.replace(
        manifest, files=(dataclasses.replace(manifest.files[0], sha256=sha(b"something else")),)
    )
    announcement = v1.operator.sign(wrong)
    outcome = failed_update(v1, announcement)
    assert (outcome.result, outcome.code) == ("failed", errors.INTEGRITY)
    assert sha(b"something else") in outcome.reason
    again = v1.device.updater.apply(announcement, "speaker/ota/fleet/llm")  # retained, delivered again
    assert (again.result, again.code) == ("refused", errors.REPLAYED) and "already tried" in again.reason
    assert_one_verified_slot_each(v1.device.settings, store)


@pytest.mark.parametrize("how", ["announced", "unannounced"])
def test_a_server_sending_more_than_the_manifest_says_is_stopped(v1: V1, store: ModelStore, how: str) -> None:
    body = payload(3_000_000, b"model")
    extra = body + payload(2_000_000, b"extra")
    route = f"big-{how}.bin"
    v1.server.add(route, extra, no_length=how == "unannounced")
    manifest = v1.operator.manifest("llm", "2.0.1", [(model_file(store, SMOLLM), v1.server.url(route))])
    exact = ManifestFile("big.bin", len(body), sha(body), v1.server.url(route))
    outcome = failed_update(
        v1, v1.operator.sign(dataclasses.replace(manifest, files=(exact,), main="big.bin"))
    )
    assert (outcome.result, outcome.code) == ("failed", errors.INTEGRITY)
    assert str(len(body)) in outcome.reason
    if how == "unannounced":
        assert "sent more" in outcome.reason
    else:
        assert f"announces {len(extra)} bytes" in outcome.reason  # refused from the headers


def test_a_model_that_fails_its_health_check_is_not_switched_to(
    v1: V1, store: ModelStore, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + payload(4_000_000, b"noise"))  # a header, then nothing a model is made of
    v1.server.add("broken.gguf", broken.read_bytes())
    manifest = v1.operator.manifest("llm", "3.0.0", [(broken, v1.server.url("broken.gguf"))])
    outcome = failed_update(v1, v1.operator.sign(manifest))
    assert (outcome.result, outcome.code) == ("failed", errors.HEALTH)
    assert "health check" in outcome.reason and "broken.gguf" in outcome.reason
    cs = v1.device.slots.component("llm")
    assert (cs.last_result, cs.last_version) == ("failed", "3.0.0")
    assert_one_verified_slot_each(v1.device.settings, store)


def test_a_health_check_that_crashes_or_hangs_only_costs_the_child(store: ModelStore) -> None:
    settings = device_settings(Path("/nonexistent"), Operator.new())
    model = store.require(SMOLLM)
    children: list[int] = []

    def crash(pid: int) -> None:
        children.append(pid)
        os.kill(pid, signal.SIGSEGV)

    crashed = run_health_check("llm", model, settings, timeout=60, on_spawn=crash)
    assert not crashed.ok and "crashed" in crashed.reason and "SIGSEGV" in crashed.reason
    hung = run_health_check("llm", model, settings, timeout=0.3, on_spawn=children.append)
    assert not hung.ok and "hung" in hung.reason and hung.seconds < 5
    for pid in children:  # both children are gone, none left behind
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_gemma_as_llm_2_goes_to_the_other_slot_keeping_the_first(
    v1: V1, store: ModelStore, tmp_path: Path
) -> None:
    served = publish_dir(store, tmp_path / "www", GEMMA)
    with FileServer(tmp_path / "www", "127.0.0.1", 0) as http:
        manifest = v1.operator.manifest(
            "llm", "2.1.0", [(served[GEMMA], http.url(served[GEMMA].name))], summary="Gemma 3 270M"
        )
        announcement = v1.operator.sign(manifest)
        outcome = v1.device.updater.apply(announcement, "speaker/ota/device/test-speaker/llm")
        assert outcome.result == "installed", outcome
        again = v1.device.updater.apply(announcement, "speaker/ota/fleet/llm")
    assert again.result == "current"
    cs = v1.device.slots.component("llm")
    assert (cs.active, cs.previous) == ("b", "a")
    assert (cs.record("a").version, cs.record("b").version) == ("1.0.0", "2.1.0")
    active = v1.device.slots.active_model("llm")
    assert active is not None and active.main.name == served[GEMMA].name
    assert assert_one_verified_slot_each(v1.device.settings, store)["llm"] == "b:2.1.0"
    state = v1.device.updater.report.update_state("llm")
    assert (state.installed_version, state.release_summary) == ("2.1.0", "Gemma 3 270M")


def test_a_disk_too_small_is_refused_before_downloading(v1: V1, store: ModelStore, tmp_path: Path) -> None:
    """The OTA directory is a 40 MB tmpfs, mounted in a private mount namespace (unshare), so the
    speaker process sees a small disk while nothing outside the test changes."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to give the speaker a small disk")
    ota_dir = tmp_path / "small-ota"
    ota_dir.mkdir()
    settings = device_settings(ota_dir, v1.operator, min_free_mb=4)
    manifest = v1.operator.manifest("llm", "7.0.0", [(model_file(store, SMOLLM), v1.server.url("tiny.gguf"))])
    v1.server.add("tiny.gguf", model_file(store, SMOLLM).read_bytes())
    announcement = tmp_path / "m.json"
    announcement.write_bytes(v1.operator.sign(manifest))
    config = config_file(tmp_path / "c.yaml", settings)
    command = [
        "unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
        'mount -t tmpfs -o size=40m tmpfs "$0" && exec "$@"', str(ota_dir),
        sys.executable, "-m", "speaker", "--config", str(config), "ota", "apply", str(announcement),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=child_environment(), timeout=120)
    assert "mount" not in done.stderr.split("speaker")[0], f"could not mount a tmpfs: {done.stderr}"
    assert done.returncode == 1, done.stderr
    assert "not enough disk space" in done.stderr and "98.4 MB" in done.stderr, done.stderr
    assert v1.server.requests("tiny.gguf") == []

"""Power-cut safety: a real `speaker ota apply` process is SIGKILLed at random moments of updates and
started again; after every kill the OTA directory must hold exactly one complete, verified model per
component (what the next start would run), and the interrupted update must finish on a later run.

The updates alternate SmolLM2 and Gemma 3 as llm 1.0.0, 2.0.0, 3.0.0, ... so that both slots get
written while the other one is active. Downloads resume across kills (the bytes served are counted),
and a health check that already passed is not run again: that keeps the whole test near a minute.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from models_fixtures.loopback import LoopbackServer
from ota_fixtures.device import (
    GEMMA,
    SMOLLM,
    Operator,
    assert_one_verified_slot_each,
    config_file,
    device_settings,
    model_file,
)

from speaker.models import ModelStore
from speaker.ota.health import child_environment
from speaker.ota.manifest import parse_version
from speaker.ota.state import OtaState

pytestmark = pytest.mark.slow

KILLS = 21
KILLS_PER_UPDATE = 7
SEED = 5


def phase_at_kill(root: Path) -> str:
    pending = OtaState.load(root).components["llm"].pending
    return pending.phase if pending else "between updates"


def test_sigkill_at_random_moments_never_leaves_a_broken_model(store: ModelStore, tmp_path: Path) -> None:
    operator = Operator.new()
    settings = device_settings(tmp_path / "ota", operator)
    config = config_file(tmp_path / "speaker.yaml", settings)
    files = {m: model_file(store, m) for m in (SMOLLM, GEMMA)}
    rng = random.Random(SEED)
    env = child_environment()
    apply = [sys.executable, "-m", "speaker", "--config", str(config), "ota", "apply"]
    factory = assert_one_verified_slot_each(settings, store, full=True)  # before anything

    kills, phases, installed = 0, Counter[str](), [factory["llm"].split(":")[1]]
    with LoopbackServer() as server:
        for name, path in files.items():
            server.add(name, path.read_bytes())
        update = 0
        while kills < KILLS:
            update += 1
            model = SMOLLM if update % 2 else GEMMA
            version = f"{update}.0.0"
            manifest = operator.manifest("llm", version, [(files[model], server.url(model))])
            announcement = tmp_path / f"llm-{version}.json"
            announcement.write_bytes(operator.sign(manifest))
            command = [*apply, str(announcement)]
            served_before = server.served(model)
            for _ in range(KILLS_PER_UPDATE):
                process = subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                size = files[model].stat().st_size
                downloading = server.served(model) - served_before < size
                if downloading and rng.random() < 0.5:  # at a random byte of the download
                    target = served_before + rng.uniform(0.02, 0.98) * size
                    due = lambda m=model, t=target: server.served(m) >= t  # noqa: E731
                else:  # at a random moment: start-up, download, install, health check, switch
                    start = time.monotonic()
                    delay = rng.uniform(0.2, 3.5)
                    due = lambda s=start, d=delay: time.monotonic() - s >= d  # noqa: E731
                if kill_when(process, due, deadline=60):
                    break  # done before its kill: on to the next update
                kills += 1
                phases[phase_at_kill(settings.ota.dir)] += 1
                active = assert_one_verified_slot_each(settings, store, full=False)
                running = active["llm"].split(":")[1]
                assert running in (installed[-1], version), f"llm {running} after a kill during {version}"
                assert_llm_verified(settings, store)
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            installed.append(version)
            assert assert_one_verified_slot_each(settings, store, full=False)["llm"].endswith(f":{version}")
            assert_llm_verified(settings, store)
            # resumed, not restarted: each kill may lose what was in flight, not the file so far
            refetched = server.served(model) - served_before - files[model].stat().st_size
            assert refetched <= 0.25 * files[model].stat().st_size, f"{refetched} bytes fetched twice"
    print(f"\n{kills} kills over {update} updates; phase at each kill: {dict(phases)}")
    assert len(phases) >= 2, phases  # the kills landed in different phases of the updates
    assert parse_version(installed[-1]) == (update,)
    assert_one_verified_slot_each(settings, store, full=True)


def kill_when(process: subprocess.Popen[bytes], due: Callable[[], bool], deadline: float) -> bool:
    """SIGKILL `process` as soon as `due()`; True if it finished (successfully) before that."""
    end = time.monotonic() + deadline
    while process.poll() is None:
        if due() or time.monotonic() > end:
            process.send_signal(signal.SIGKILL)
            process.communicate()
            return False
        time.sleep(0.005)
    _, err = process.communicate()
    assert process.returncode == 0, err.decode()
    return True


def assert_llm_verified(settings: object, store: ModelStore) -> None:
    """The language model's active slot, hashed again in full."""
    from speaker.ota.slots import SlotManager

    slots = SlotManager(settings, store)  # type: ignore[arg-type]
    slots.load()
    cs = slots.component("llm")
    if cs.active != "factory":
        assert slots.check_slot("llm", cs.active, full=True) == []

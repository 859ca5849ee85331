"""Running a staged model's health check in a child process, so that its crash or hang is harmless.

The child (healthcheck.py) loads the model and runs a smoke inference. The parent only waits:
a child that exits with a failure, dies from a signal, prints nonsense or takes longer than the
timeout (it is killed) makes the update fail with that reason; the speaker itself is unaffected.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import speaker
from speaker.models import InstalledModel
from speaker.settings import Settings

log = logging.getLogger(__name__)

# The sections a health check needs to build an engine exactly as the speaker would.
SECTIONS = ("wake", "asr", "llm", "tts")


@dataclass(frozen=True)
class HealthResult:
    ok: bool
    reason: str = ""
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


def settings_data(settings: Settings) -> dict[str, Any]:
    """The engine sections of the settings as plain JSON data (what config_loader.build reads back)."""
    return json.loads(json.dumps({s: asdict(getattr(settings, s)) for s in SECTIONS}, default=str))


def child_environment() -> dict[str, str]:
    """The child imports this very `speaker` package, however the parent found it."""
    env = dict(os.environ)
    package_root = str(Path(speaker.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def run_health_check(
    component: str,
    model: InstalledModel,
    settings: Settings,
    *,
    timeout: float,
    on_spawn: Callable[[int], None] | None = None,
) -> HealthResult:
    """Load `model` as `component` in a child process and run its smoke inference."""
    request = {
        "component": component,
        "model": {"path": str(model.path), "main": str(model.main), "version": model.version},
        "settings": settings_data(settings),
    }
    started = time.monotonic()
    command = [sys.executable, "-m", "speaker.ota.healthcheck"]
    try:
        child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(),
            text=True,
        )
    except OSError as exc:
        return HealthResult(False, f"cannot start the health check: {exc}")
    if on_spawn is not None:
        on_spawn(child.pid)
    try:
        out, err = child.communicate(json.dumps(request), timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return HealthResult(
            False, f"the health check hung: no answer within {timeout:.0f} s, stopped", _since(started)
        )
    except BaseException:  # Ctrl-C, shutdown: the child must not outlive the decision
        child.kill()
        child.wait()
        raise
    return _result(child.returncode, out, err, _since(started))


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def _result(code: int, out: str, err: str, seconds: float) -> HealthResult:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return HealthResult(False, f"the model crashed the health check ({name})", seconds)
    answer: dict[str, Any] = {}
    for line in reversed(out.strip().splitlines()):
        try:
            answer = json.loads(line)
            break
        except json.JSONDecodeError:
            continue
    if code == 0 and answer.get("ok") is True:
        return HealthResult(True, "", seconds, answer.get("detail") or {})
    reason = answer.get("reason") if isinstance(answer.get("reason"), str) else ""
    if not reason:
        tail = " | ".join(err.strip().splitlines()[-3:])
        reason = f"the health check exited with status {code}" + (f": {tail}" if tail else "")
    return HealthResult(False, reason, seconds)

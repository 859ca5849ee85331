"""`speaker doctor`: every check the speaker needs to work, each as Findings with a fix.

Modules: `audio` (microphone, level meter, speaker), `models` (present, verified), `resources`
(disk, memory against what the configured models need), `board` (CPU temperature, under-voltage
and throttling where the Pi exposes them), `broker` (MQTT reachable, credentials accepted),
`service` (the systemd unit), `runner` (all of them in order, for the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Finding:
    """One line of the report. `fail` means the speaker cannot work until it is fixed."""

    check: str  # what was checked: "microphone", "model", "broker", ...
    status: Status
    message: str
    fix: str = ""

    @property
    def blocking(self) -> bool:
        return self.status == "fail"

    def line(self) -> str:
        label = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "--"}[self.status]
        text = f"{label:<5} {self.check:<12} {self.message}"
        return f"{text}  -> fix: {self.fix}" if self.fix and self.status in ("warn", "fail") else text


def megabytes(n: float | None) -> str:
    if n is None:
        return "? MB"
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"

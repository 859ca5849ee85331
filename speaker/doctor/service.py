"""Doctor: the systemd service, when there is one: running, restarted, what it last said."""

from __future__ import annotations

import shutil
import subprocess

from speaker.doctor import Finding

UNIT = "speaker.service"


def check_service(systemctl: str = "systemctl") -> Finding:
    exe = shutil.which(systemctl)
    if exe is None:
        return Finding("service", "skip", "no systemd here")
    try:
        done = subprocess.run(
            [exe, "show", UNIT, "--property=LoadState,ActiveState,SubState,NRestarts,StatusText"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Finding("service", "skip", f"cannot ask systemd: {exc}")
    props = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    if done.returncode != 0 or not props:
        return Finding("service", "skip", "systemd is not running here (a container?)")
    if props.get("LoadState") != "loaded":
        return Finding("service", "skip", "not installed as a service (scripts/install-pi.sh installs it)")
    state = f"{props.get('ActiveState')} ({props.get('SubState')})"
    said = f"; status: {props['StatusText']}" if props.get("StatusText") else ""
    restarts = int(props.get("NRestarts") or 0)
    logs = "journalctl -u speaker -b shows why"
    if props.get("ActiveState") == "failed":
        return Finding("service", "fail", f"{state}{said}", f"{logs}; then sudo systemctl restart speaker")
    if restarts:
        return Finding("service", "warn", f"{state}, restarted {restarts} time(s){said}", logs)
    return Finding("service", "ok", f"{state}{said}")

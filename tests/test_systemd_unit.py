"""systemd/speaker.service: valid for systemd, hardened, and starting the CLI as it really is."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from speaker.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "speaker.service"


def systemd_analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.fail("systemd-analyze is missing: apt-get install -y systemd (make test installs it)")
    return exe


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file-system root with systemd's own units and the speaker's command, to verify against."""
    root = tmp_path_factory.mktemp("root")
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    exe = root / "opt/speaker/.venv/bin/speaker"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    return root


def verify(root: Path, unit_text: str) -> subprocess.CompletedProcess[str]:
    (root / "etc/systemd/system/speaker.service").write_text(unit_text)
    return subprocess.run(
        [systemd_analyze(), "verify", f"--root={root}", "/etc/systemd/system/speaker.service"],
        capture_output=True,
        text=True,
    )


def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(root: Path) -> None:
    done = verify(root, UNIT.read_text())
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr
    # and it does catch a mistake: a misspelt directive is reported
    broken = verify(root, UNIT.read_text().replace("WatchdogSec=", "WatchDogSec="))
    assert "Unknown key 'WatchDogSec'" in broken.stdout + broken.stderr


def test_hardening_keeps_the_exposure_low(root: Path) -> None:
    (root / "etc/systemd/system/speaker.service").write_text(UNIT.read_text())
    done = subprocess.run(
        [systemd_analyze(), "security", "--offline=yes", f"--root={root}", "--threshold=25",
         "/etc/systemd/system/speaker.service"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    summary = [line for line in done.stdout.splitlines() if "Overall exposure" in line]
    assert done.returncode == 0, summary or done.stderr  # 2.5 or less on systemd's 0..10 scale


def service_section() -> dict[str, list[str]]:
    """Every KEY=VALUE of the unit (systemd allows a key more than once, e.g. Environment=)."""
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_unit_is_a_watched_notify_service_for_a_dedicated_user() -> None:
    v = service_section()
    expected = {
        "Type": "notify",
        "Restart": "on-failure",
        "User": "speaker",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "StateDirectory": "speaker",
        "ReadWritePaths": "/var/lib/speaker",
        "DeviceAllow": "char-alsa rw",
    }
    assert {k: v.get(k, [""])[0] for k in expected} == expected
    assert "audio" in v["SupplementaryGroups"][0].split()
    assert int(v["WatchdogSec"][0]) >= 10
    # the models live in the only writable place
    assert "SPEAKER_MODELS_DIR=/var/lib/speaker/models" in v["Environment"]


def test_execstart_is_a_command_line_the_cli_accepts() -> None:
    argv = shlex.split(service_section()["ExecStart"][0])
    assert argv[0] == "/opt/speaker/.venv/bin/speaker"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run" and args.wait_for_device and args.config == "/etc/speaker/speaker.yaml"

"""scripts/install-pi.sh: shellcheck-clean, its dry run shows every step, and it is idempotent.

There is no Raspberry Pi here: the steps that need one (apt, the service user, building
llama.cpp, fetching models, systemctl) are checked through --dry-run; the steps that lay out
files (code, settings, unit, command) really run, under --root in a temporary directory, twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from speaker.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install-pi.sh"


def install(*args: str, script: Path = SCRIPT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
    )


def test_shellcheck_passes() -> None:
    exe = shutil.which("shellcheck")
    if exe is None:
        pytest.fail("shellcheck is missing: apt-get install -y shellcheck (make test installs it)")
    done = subprocess.run([exe, str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(
    ("board", "cpu_flags"),
    [
        ("pi5", r"-DGGML_NATIVE=OFF\ -DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16"),
        ("pi4", r"-DGGML_NATIVE=OFF\ -DGGML_CPU_ARM_ARCH=armv8-a"),
        ("pi3", r"-DGGML_NATIVE=OFF\ -DGGML_CPU_ARM_ARCH=armv8-a"),
    ],
)
def test_dry_run_prints_every_step_and_changes_nothing(board: str, cpu_flags: str) -> None:
    user_before = subprocess.run(["getent", "passwd", "speaker"], capture_output=True).returncode
    touched = [Path(p) for p in ("/opt/speaker", "/etc/speaker", "/etc/systemd/system/speaker.service")]
    before = [p.exists() for p in touched]
    done = install("--dry-run", "--board", board, "--profile", "pi4-2gb")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    steps = [
        "apt-get install -y -q --no-install-recommends",
        "useradd --system --user-group" if user_before != 0 else "user speaker: exists",
        "python3 -m venv /opt/speaker/.venv",
        f"env CMAKE_ARGS={cpu_flags} CMAKE_BUILD_PARALLEL_LEVEL=",
        "--no-binary llama-cpp-python llama-cpp-python\\>=0.3.0",
        "pip install -q --upgrade -e /opt/speaker",
        "install -D -m 0644",  # the settings
        "/opt/speaker/.venv/bin/speaker models fetch",
        "install -D -m 0644 "
        + str(ROOT / "systemd/speaker.service")
        + " /etc/systemd/system/speaker.service",
        "systemctl daemon-reload",
        "systemctl enable speaker.service",
        "systemctl restart speaker.service",
        "speaker doctor --no-meter --quick",
    ]
    position = 0
    for step in steps:
        found = out.find(step, position)
        assert found >= 0, f"step {step!r} missing (or out of order) in:\n{out}"
        position = found
    assert f"board: {board}, profile: pi4-2gb" in out
    # nothing was done
    assert [p.exists() for p in touched] == before
    assert subprocess.run(["getent", "passwd", "speaker"], capture_output=True).returncode == user_before


def test_bad_options_are_refused_clearly() -> None:
    done = install("--dry-run", "--profile", "pi9-64gb")
    assert done.returncode != 0 and "no profile 'pi9-64gb'" in done.stderr and "pi4-2gb" in done.stderr
    done = install("--frobnicate")
    assert done.returncode == 2 and "unknown option --frobnicate" in done.stderr and "usage:" in done.stderr
    done = install("--dry-run", "--board", "pi2")
    assert done.returncode != 0 and "unknown board 'pi2'" in done.stderr


def source_copy(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache", "out"),
    )
    return src


def test_files_are_laid_out_and_a_second_run_upgrades_in_place(tmp_path: Path) -> None:
    if shutil.which("rsync") is None:
        pytest.fail("rsync is missing: apt-get install -y rsync (make test installs it)")
    src, root = source_copy(tmp_path), tmp_path / "root"
    script = src / "scripts" / "install-pi.sh"
    first = install("--root", str(root), "--profile", "pi-zero-2w", script=script)
    assert first.returncode == 0, first.stderr

    app = root / "opt/speaker"
    assert (app / "speaker/cli/run_cmd.py").is_file() and (app / "pyproject.toml").is_file()
    assert not (app / "tests").exists() and not (app / ".git").exists()
    unit = root / "etc/systemd/system/speaker.service"
    assert unit.read_bytes() == (src / "systemd/speaker.service").read_bytes()
    settings = load_settings(root / "etc/speaker/speaker.yaml")  # valid, and the profile's
    assert settings.models.dir == Path("/var/lib/speaker/models")
    assert settings.llm.context_tokens == 512
    command = root / "usr/local/bin/speaker"
    assert os.access(command, os.X_OK) and "/opt/speaker/.venv/bin/speaker" in command.read_text()
    assert (root / "var/lib/speaker/models").is_dir()
    assert oct((root / "etc/default/speaker").stat().st_mode & 0o777) == "0o640"

    # The owner edits the settings; a file is left over from an older version; the code changes.
    conf = root / "etc/speaker/speaker.yaml"
    conf.write_text(conf.read_text() + "\nwake:\n  phrase: hey speaker\n")
    edited = conf.read_bytes()
    (app / "speaker/old_module.py").write_text("# removed in this version\n")
    changed = src / "speaker/__init__.py"
    changed.write_text(changed.read_text() + "# the next version\n")
    (src / "systemd/speaker.service").write_text(
        (src / "systemd/speaker.service").read_text().replace("RestartSec=5", "RestartSec=7")
    )

    second = install("--root", str(root), "--profile", "pi4-2gb", script=script)
    assert second.returncode == 0, second.stderr
    assert conf.read_bytes() == edited and "speaker.yaml: kept (yours)" in second.stdout
    assert load_settings(conf).wake.phrase == "hey speaker"
    assert not (app / "speaker/old_module.py").exists()
    assert (app / "speaker/__init__.py").read_text().endswith("# the next version\n")
    assert "RestartSec=7" in unit.read_text() and "speaker.service: installed" in second.stdout

    third = install("--root", str(root), script=script)  # nothing left to do
    assert third.returncode == 0, third.stderr
    for what in ("/opt/speaker: unchanged", "speaker.service: unchanged", "bin/speaker: unchanged"):
        assert what in third.stdout, third.stdout

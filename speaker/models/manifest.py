"""What was installed in a model directory, and a cheap way to tell that it is still intact.

Each model directory holds `.speaker-model.json`: the model id and version, every file with its
size and sha256, and per file a *stamp* (size, mtime_ns, ctime_ns, inode, device) taken right after
its sha256 was last checked. At start-up a file whose stamp is unchanged is trusted without reading
it; any write to the file (even one that restores the mtime) changes its ctime and so forces a full
re-hash. `verify` ignores stamps and re-hashes everything.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from speaker.models.catalog import FileSpec
from speaker.models.integrity import sha256_file, write_json_atomic

log = logging.getLogger(__name__)

MANIFEST_NAME = ".speaker-model.json"
FORMAT = 1

Stamp = tuple[int, int, int, int, int]


def stamp_of(st: os.stat_result) -> Stamp:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


@dataclass(frozen=True)
class InstalledFile:
    path: str
    size: int
    sha256: str
    stamp: Stamp | None = None  # None: must be re-hashed before it is trusted

    @property
    def spec(self) -> FileSpec:
        return FileSpec(self.path, self.size, self.sha256)


@dataclass(frozen=True)
class Manifest:
    id: str
    version: str
    files: tuple[InstalledFile, ...]
    source: str = ""  # which source delivered it, for people reading the file
    installed_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @staticmethod
    def path_in(model_dir: Path) -> Path:
        return model_dir / MANIFEST_NAME

    @classmethod
    def read(cls, model_dir: Path) -> Manifest | None:
        """The manifest of `model_dir`; None when there is none (or it cannot be read as one)."""
        path = cls.path_in(model_dir)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = tuple(
                InstalledFile(f["path"], int(f["size"]), f["sha256"], _stamp(f.get("stamp")))
                for f in data["files"]
            )
            return cls(
                data["id"], data["version"], files, data.get("source", ""), data.get("installed_at", "")
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s is unreadable (%s); treating the model as not installed", path, exc)
            return None

    def write(self, model_dir: Path) -> None:
        data = {
            "format": FORMAT,
            "id": self.id,
            "version": self.version,
            "source": self.source,
            "installed_at": self.installed_at,
            "files": [
                {
                    "path": f.path,
                    "size": f.size,
                    "sha256": f.sha256,
                    "stamp": list(f.stamp) if f.stamp else None,
                }
                for f in self.files
            ],
        }
        write_json_atomic(self.path_in(model_dir), data)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)


def _stamp(value: object) -> Stamp | None:
    if isinstance(value, list) and len(value) == 5 and all(isinstance(v, int) for v in value):
        return (value[0], value[1], value[2], value[3], value[4])
    return None


@dataclass(frozen=True)
class CheckResult:
    problems: tuple[str, ...]  # one sentence per damaged or missing file
    rehashed: tuple[str, ...]  # paths whose sha256 was computed during this check
    manifest: Manifest  # with stamps refreshed (good files) or cleared (bad ones)
    changed: bool  # whether `manifest` differs from the one checked (worth writing back)


def check_files(model_dir: Path, manifest: Manifest, *, full: bool) -> CheckResult:
    """Check every file of `manifest`; `full=False` trusts files whose stamp has not changed."""
    problems: list[str] = []
    rehashed: list[str] = []
    files: list[InstalledFile] = []
    for f in manifest.files:
        path = model_dir / f.path
        try:
            st = path.stat()
        except FileNotFoundError:
            problems.append(f"{path}: the file is missing")
            files.append(replace(f, stamp=None))
            continue
        stamp = stamp_of(st)
        if st.st_size != f.size:
            problems.append(f"{path}: size is {st.st_size} bytes, expected {f.size}")
            files.append(replace(f, stamp=None))
        elif not full and f.stamp == stamp:
            files.append(f)
        else:
            actual = sha256_file(path)
            rehashed.append(f.path)
            if actual == f.sha256:
                files.append(replace(f, stamp=stamp))
            else:
                problems.append(f"{path}: sha256 is {actual}, expected {f.sha256}")
                files.append(replace(f, stamp=None))
    checked = replace(manifest, files=tuple(files))
    return CheckResult(tuple(problems), tuple(rehashed), checked, checked != manifest)

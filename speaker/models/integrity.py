"""Checksums and crash-safe file writes shared by the store, its sources and the downloader.

The rule everywhere: bytes go to a temporary name beside the target, are checked (size, sha256),
flushed to disk, and only then `os.replace`d to their final name. A power cut leaves either the
old file, or no file, under the final name; never half of a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from speaker.errors import SpeakerError

CHUNK = 1 << 20
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

# (label, bytes done, bytes expected or None). Called often; keep it cheap.
ProgressFn = Callable[[str, int, int | None], None]


class IntegrityError(SpeakerError):
    """Bytes that do not match what was promised: wrong size or wrong sha256."""

    code = "integrity"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_name(path: Path) -> Path:
    """The temporary name used while `path` is being written (same directory: same filesystem)."""
    return path.with_name(path.name + ".part")


def copy_verified(
    source: BinaryIO,
    dest: Path,
    *,
    size: int | None,
    sha256: str | None,
    label: str = "",
    progress: ProgressFn | None = None,
) -> tuple[int, str]:
    """Stream `source` into `dest` through a temp file; returns (size, sha256) of what was written.

    With `size` given, a source that holds more or fewer bytes is refused before the final name
    is touched; with `sha256` given, so is one with other content.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(dest)
    digest = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            while block := source.read(CHUNK):
                done += len(block)
                if size is not None and done > size:
                    raise IntegrityError(f"{label or dest.name}: more than the expected {size} bytes")
                digest.update(block)
                out.write(block)
                if progress:
                    progress(label, done, size)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        check_size_and_hash(label or dest.name, done, actual, size, sha256)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dest.parent)
    return done, actual


def check_size_and_hash(
    what: str, size: int, sha256: str, expected_size: int | None, expected_sha256: str | None
) -> None:
    if expected_size is not None and size != expected_size:
        raise IntegrityError(f"{what}: size is {size} bytes, expected {expected_size}")
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise IntegrityError(f"{what}: sha256 is {sha256}, expected {expected_sha256}")


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = temp_name(path)
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)

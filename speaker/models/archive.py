"""Models published as one archive (vosk's .zip files): download, check, unpack safely.

The archive's pinned sha256 is the root of trust: an archive without one is refused, whatever
else the catalog says. Unpacking streams each member through a verified temp file; absolute
paths, '..', links and devices are refused, so an archive cannot write outside its model.
"""

from __future__ import annotations

import logging
import tarfile
import urllib.parse
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from speaker.errors import ModelError
from speaker.models.catalog import ArchiveSource, FileSpec, ModelSpec, is_safe_relpath
from speaker.models.download import download
from speaker.models.integrity import ProgressFn, copy_verified

log = logging.getLogger(__name__)

# Used when the catalog gives no archive size: a hard stop far above any model this device can run.
MAX_ARCHIVE_SIZE = 4 << 30


def fetch_archive(
    source: ArchiveSource,
    model: ModelSpec,
    wanted: list[FileSpec],
    files_dir: Path,
    downloads_dir: Path,
    progress: ProgressFn | None = None,
) -> list[FileSpec]:
    """Download and unpack `source` into `files_dir`; returns the files unpacked.

    With `wanted` given (the catalog lists the files) only those are unpacked, each checked against
    its own sha256; otherwise every regular file is unpacked and its size and sha256 recorded.
    """
    if source.sha256 is None:
        raise ModelError(
            f"refusing to download {source.url}: the catalog pins no sha256 for this archive, so its "
            f"content could not be checked. Add the archive's sha256 (and size) to the archive source "
            f"of '{model.id}' in the catalog (models.yaml), then fetch again.",
            code="model_unpinned",
        )
    name = PurePosixPath(urllib.parse.urlsplit(source.url).path).name or "archive"
    archive = downloads_dir / name
    if not archive.exists():
        download(
            source.url,
            archive,
            sha256=source.sha256,
            size=source.size,
            max_size=MAX_ARCHIVE_SIZE,
            progress=progress,
            label=f"{model.id}: {name}",
        )
    by_path = {f.path: f for f in wanted}
    unpacked: list[FileSpec] = []
    for rel, stream, size in _members(archive, source.strip_components):
        expected = by_path.get(rel)
        if wanted and expected is None:
            continue  # not part of the model as the catalog defines it
        with stream:
            got_size, got_sha = copy_verified(
                stream, files_dir / rel, size=expected.size if expected else size,
                sha256=expected.sha256 if expected else None, label=f"{model.id}: {rel}", progress=progress,
            )  # fmt: skip
        unpacked.append(FileSpec(rel, got_size, got_sha))
    missing = sorted(set(by_path) - {f.path for f in unpacked})
    if missing:
        raise ModelError(f"{model.id}: {source.url} does not contain {', '.join(missing)}")
    if not unpacked:
        raise ModelError(f"{model.id}: {source.url} holds no files")
    return unpacked


def _strip(name: str, strip: int, archive: Path) -> str | None:
    parts = PurePosixPath(name).parts
    if len(parts) <= strip:
        return None
    rel = "/".join(parts[strip:])
    if not is_safe_relpath(rel) or PurePosixPath(name).is_absolute():
        raise ModelError(f"{archive.name}: unsafe member name {name!r}; refusing to unpack it")
    return rel


def _members(archive: Path, strip: int) -> Iterator[tuple[str, IO[bytes], int]]:
    """(path after stripping, open stream, size) for each regular file of a zip or tar archive."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000):
                    raise ModelError(f"{archive.name}: {info.filename} is not a regular file; refusing it")
                rel = _strip(info.filename, strip, archive)
                if rel is not None:
                    yield rel, zf.open(info), info.file_size
    elif tarfile.is_tarfile(archive):
        with _open_tar(archive) as tf:
            for member in tf:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ModelError(f"{archive.name}: {member.name} is not a regular file; refusing it")
                rel = _strip(member.name, strip, archive)
                stream = tf.extractfile(member)
                if rel is not None and stream is not None:
                    yield rel, stream, member.size
    else:
        raise ModelError(f"{archive.name} is neither a zip nor a tar archive")


@contextmanager
def _open_tar(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(archive, "r:*") as tf:
            yield tf
    except tarfile.TarError as exc:
        raise ModelError(f"{archive.name}: damaged archive: {exc}") from exc

"""Getting an update's files into staging: free disk first, then resumable, size-capped downloads.

The downloader is the model store's (speaker.models.download): each file goes to `<path>.part`,
resumes with Range after a cut or a restart, stops at the manifest's size and is kept only when
its sha256 matches. This module adds the disk check and one progress figure for the whole update.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from speaker.errors import SpeakerError
from speaker.models.download import download
from speaker.models.integrity import IntegrityError, sha256_file, temp_name
from speaker.ota.errors import DISK_FULL, DOWNLOAD, INTEGRITY, OtaError
from speaker.ota.manifest import UpdateManifest

log = logging.getLogger(__name__)

# (bytes of the update on disk so far, bytes of the whole update)
UpdateProgress = Callable[[int, int], None]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def present_bytes(manifest: UpdateManifest, staging: Path) -> int:
    """Bytes of the update already in staging (finished files and partial downloads)."""
    total = 0
    for f in manifest.files:
        for candidate in (staging / f.path, temp_name(staging / f.path)):
            try:
                total += min(candidate.stat().st_size, f.size)
                break
            except FileNotFoundError:
                continue
    return total


def check_disk(manifest: UpdateManifest, staging: Path, *, reclaimable: int, keep_free: int) -> None:
    """Refuse the update before any download when its files would not fit (keeping `keep_free`)."""
    needed = manifest.total_size - present_bytes(manifest, staging)
    where = staging
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    if free + reclaimable - needed < keep_free:
        raise OtaError(
            f"not enough disk space for {manifest.label}: it needs {_mb(needed)} more, {_mb(free)} are free "
            f"on the disk holding {where}"
            + (f" (+{_mb(reclaimable)} from the old slot)" if reclaimable else "")
            + f", and {_mb(keep_free)} must stay free (ota.min_free_mb). "
            "Free some space, then announce it again.",
            code=DISK_FULL,
        )


def fetch_files(
    manifest: UpdateManifest,
    staging: Path,
    *,
    installed: Path | None = None,
    progress: UpdateProgress | None = None,
    timeout: float = 30.0,
    retry_delay: float = 1.0,
) -> None:
    """Download every file of `manifest` into `staging`, verified; resumes whatever is there.

    A file already intact in `installed` (moved there by an install that a crash interrupted)
    is not downloaded again.
    """
    total = manifest.total_size
    done_before = 0
    for f in manifest.files:
        target = staging / f.path
        if _intact(target, f.size, f.sha256) or (
            installed is not None and _intact(installed / f.path, f.size, f.sha256)
        ):
            done_before += f.size
            if progress:
                progress(done_before, total)
            continue

        def on_bytes(_label: str, done: int, _size: int | None, base: int = done_before) -> None:
            if progress:
                progress(base + done, total)

        label = f"{manifest.label}: {f.path}"
        options = {"sha256": f.sha256, "size": f.size, "progress": on_bytes, "label": label}
        options |= {"timeout": timeout, "retry_delay": retry_delay}
        resumed = temp_name(target).exists()
        try:
            try:
                download(f.url, target, **options)  # type: ignore[arg-type]
            except IntegrityError:
                if not resumed:
                    raise
                # A power cut can leave the kept bytes damaged (written, never flushed): the
                # downloader dropped them; one fresh attempt tells that from a bad file.
                log.warning("%s: the bytes kept from an interrupted download were bad; starting over", label)
                download(f.url, target, **options)  # type: ignore[arg-type]
        except IntegrityError as exc:  # the message starts with the label: "<component> <version>: <path>"
            raise OtaError(exc.message, code=INTEGRITY) from exc
        except SpeakerError as exc:
            raise OtaError(exc.message, code=DOWNLOAD) from exc
        except OSError as exc:  # the disk filled up or went read-only under us
            raise OtaError(f"{manifest.label}: cannot write {target}: {exc.strerror}", code=DOWNLOAD) from exc
        done_before += f.size


def _intact(path: Path, size: int, sha256: str) -> bool:
    try:
        if path.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    return sha256_file(path) == sha256

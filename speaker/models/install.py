"""Install a verified set of files into a directory, crash-safely.

This is the one step that touches a model's final directory; the store uses it for
`<root>/<model-id>/`, and an A/B updater can use it for an inactive slot. The caller has already
checked every staged file's sha256. Order matters for power cuts:
  1. the old manifest goes first, so a half-updated directory never counts as installed;
  2. each staged file is `os.replace`d into place (atomic per file, same filesystem);
  3. files the old manifest listed and the new one does not are removed;
  4. the new manifest (with fresh stamps) is written last, atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from speaker.errors import ModelError
from speaker.models.catalog import FileSpec
from speaker.models.integrity import fsync_dir
from speaker.models.manifest import InstalledFile, Manifest, stamp_of


def install_files(
    staged_dir: Path,
    files: Sequence[FileSpec],
    dest: Path,
    *,
    model_id: str,
    version: str,
    source: str = "",
) -> Manifest:
    """Move `files` from `staged_dir` into `dest` and record them in dest's manifest.

    A file absent from `staged_dir` must already be in `dest` with the right content (the caller
    kept it after checking it); its size is checked here as a last guard.
    """
    dest.mkdir(parents=True, exist_ok=True)
    old = Manifest.read(dest)
    Manifest.path_in(dest).unlink(missing_ok=True)
    fsync_dir(dest)
    installed: list[InstalledFile] = []
    for f in files:
        staged = staged_dir / f.path
        target = dest / f.path
        if staged.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            fsync_dir(target.parent)
        try:
            st = target.stat()
        except FileNotFoundError as exc:
            raise ModelError(f"{model_id}: {f.path} is neither staged nor installed") from exc
        if st.st_size != f.size:
            raise ModelError(f"{model_id}: {target} has {st.st_size} bytes, expected {f.size}")
        installed.append(InstalledFile(f.path, f.size, f.sha256, stamp_of(st)))
    if old is not None:
        keep = {f.path for f in files}
        for stale in old.files:
            if stale.path not in keep:
                (dest / stale.path).unlink(missing_ok=True)
    manifest = Manifest(model_id, version, tuple(installed), source)
    manifest.write(dest)
    return manifest

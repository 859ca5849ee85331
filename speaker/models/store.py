"""The model store: which catalog models are on this device, fetching them, and checking them.

Layout under the store's root:
    <root>/<model-id>/                  the model's files, as the engine opens them
    <root>/<model-id>/.speaker-model.json   what was installed: files, sha256, verification stamps
    <root>/.staging/<model-id>/         a fetch in progress (verified files, downloads, .part files)
    <root>/.staging/<model-id>.lock     held while a fetch of that model runs
A model counts as installed only when its manifest exists, and the manifest is written last.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from speaker.errors import ModelError, SpeakerError
from speaker.models.catalog import Catalog, FileSpec, ModelSpec, load_catalog
from speaker.models.install import install_files
from speaker.models.integrity import ProgressFn
from speaker.models.manifest import CheckResult, Manifest, check_files
from speaker.models.sources import Staging, stage_files

if TYPE_CHECKING:
    from speaker.settings import Settings

log = logging.getLogger(__name__)

STAGING_DIR = ".staging"
State = Literal["installed", "missing", "partial", "outdated", "corrupt"]


@dataclass(frozen=True)
class InstalledModel:
    """A model whose files are present and match their checksums."""

    id: str
    kinds: tuple[str, ...]
    version: str
    language: str
    path: Path  # the model's directory
    main: Path  # the file (or directory) the engine opens
    files: tuple[FileSpec, ...]

    @property
    def kind(self) -> str:
        return self.kinds[0]

    def file(self, relative: str) -> Path:
        return self.path / relative


@dataclass(frozen=True)
class ModelStatus:
    id: str
    kinds: tuple[str, ...]
    language: str
    version: str  # the catalog's
    installed_version: str | None
    default: bool
    state: State
    size: int | None  # bytes installed, or expected when not installed (None: not known yet)
    path: Path
    problems: tuple[str, ...] = ()


def fetch_command(model_id: str) -> str:
    return f"speaker models fetch {model_id}"


class ModelStore:
    def __init__(self, root: Path, catalog: Catalog) -> None:
        self.root = Path(root)
        self.catalog = catalog

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelStore:
        return cls(settings.models_dir, load_catalog(settings.catalog_path))

    def model_dir(self, model_id: str) -> Path:
        return self.root / model_id

    def _staging(self, model_id: str) -> Staging:
        return Staging(self.root / STAGING_DIR / model_id)

    # -- reading ---------------------------------------------------------------------------------

    def require(self, model_id: str) -> InstalledModel:
        """The installed model, checked cheaply (stamps); a ModelError says how to fix anything else.

        An intact model older than the catalog's entry is still returned (with a warning): a device
        keeps talking with the model it has until the newer one is fetched.
        """
        spec = self.catalog.get(model_id)
        status = self._status(spec)
        fix = fetch_command(spec.id)
        if status.state == "missing":
            raise ModelError(
                f"model '{spec.id}' is not installed (looked in {status.path}); fetch it with: {fix}",
                code="model_missing",
            )
        if status.state == "partial":
            raise ModelError(
                f"model '{spec.id}' is not installed: an earlier fetch was interrupted; "
                f"resume it with: {fix}",
                code="model_missing",
            )
        if status.state == "corrupt":
            raise ModelError(
                f"model '{spec.id}' is damaged: {'; '.join(status.problems)}. Repair it with: {fix} "
                f"(add --force to download every file again)",
                code="model_corrupt",
            )
        if status.state == "outdated":
            log.warning(
                "model '%s' is out of date (%s); update it with: %s", spec.id, status.problems[0], fix
            )
        manifest = Manifest.read(status.path)
        assert manifest is not None  # installed implies a manifest
        return self._installed(spec, manifest)

    def status(self) -> list[ModelStatus]:
        """One row per catalog model (stamps-based check: fast unless files changed)."""
        return [self._status(spec) for spec in self.catalog]

    def state(self, model_id: str) -> ModelStatus:
        return self._status(self.catalog.get(model_id))

    def verify(self, model_id: str) -> list[str]:
        """Re-hash every file of an installed model; returns the problems (empty: all good)."""
        spec = self.catalog.get(model_id)
        dest = self.model_dir(spec.id)
        manifest = Manifest.read(dest)
        if manifest is None:
            return [f"model '{spec.id}' is not installed; fetch it with: {fetch_command(spec.id)}"]
        return list(self._check(dest, manifest, full=True).problems)

    def _status(self, spec: ModelSpec) -> ModelStatus:
        dest = self.model_dir(spec.id)
        manifest = Manifest.read(dest)
        if manifest is None:
            state: State = "partial" if self._staging(spec.id).dir.exists() else "missing"
            return ModelStatus(
                spec.id,
                spec.kinds,
                spec.language,
                spec.version,
                None,
                spec.default,
                state,
                spec.total_size,
                dest,
            )
        problems = self._check(dest, manifest, full=False).problems
        reason = _outdated(spec, manifest)
        state = "corrupt" if problems else "outdated" if reason else "installed"
        if reason:
            problems = (reason, *problems)
        return ModelStatus(
            spec.id, spec.kinds, spec.language, spec.version, manifest.version, spec.default, state,
            manifest.total_size, dest, problems,
        )  # fmt: skip

    def _check(self, dest: Path, manifest: Manifest, *, full: bool, locked: bool = False) -> CheckResult:
        result = check_files(dest, manifest, full=full)
        if result.rehashed:
            log.debug("%s: re-hashed %s", dest.name, ", ".join(result.rehashed))
        if result.changed:
            self._save_stamps(dest, manifest, result.manifest, locked=locked)
        return result

    def _save_stamps(self, dest: Path, checked: Manifest, updated: Manifest, *, locked: bool) -> None:
        """Record new stamps, unless a fetch holds the model or replaced the manifest meanwhile."""
        try:
            with nullcontext() if locked else _exclusive(self._lock_path(dest.name), dest.name):
                if Manifest.read(dest) == checked:
                    updated.write(dest)
        except ModelError:
            log.debug("%s: a fetch is running; verification stamps not recorded", dest.name)
        except OSError as exc:  # a read-only store still works, it just re-hashes next time
            log.warning("cannot record verification stamps in %s: %s", dest, exc)

    def _lock_path(self, model_id: str) -> Path:
        return self.root / STAGING_DIR / f"{model_id}.lock"

    def _installed(self, spec: ModelSpec, manifest: Manifest) -> InstalledModel:
        dest = self.model_dir(spec.id)
        main = dest if spec.main in (".", "") else dest / spec.main
        files = tuple(f.spec for f in manifest.files)
        return InstalledModel(spec.id, spec.kinds, manifest.version, spec.language, dest, main, files)

    # -- fetching --------------------------------------------------------------------------------

    def fetch(
        self, model_id: str, *, progress: ProgressFn | None = None, force: bool = False
    ) -> InstalledModel:
        """Install (or repair, or update) a model; a no-op for an intact one unless `force`.

        Re-running after an interruption resumes: verified files and partial downloads are kept in
        the staging directory until the model is installed.
        """
        spec = self.catalog.get(model_id)
        dest = self.model_dir(spec.id)
        staging = self._staging(spec.id)
        with _exclusive(self._lock_path(spec.id), spec.id):
            keep: set[str] = set()
            manifest = Manifest.read(dest)
            if force:
                shutil.rmtree(staging.dir, ignore_errors=True)
            elif manifest is not None and not _outdated(spec, manifest):
                result = self._check(dest, manifest, full=False, locked=True)
                if not result.problems:
                    log.info("%s %s is already installed and intact", spec.id, spec.version)
                    return self._installed(spec, result.manifest)
                if spec.files:  # repair: keep the files that are still good
                    keep = {f.path for f in result.manifest.files if f.stamp is not None}
            try:
                files, used = stage_files(spec, staging, keep, progress)
            except BaseException:
                _remove_empty_dirs(staging.dir)  # nothing to resume: do not report a partial fetch
                raise
            install_files(staging.files_dir, files, dest, model_id=spec.id, version=spec.version, source=used)
            shutil.rmtree(staging.dir, ignore_errors=True)
        log.info("%s %s installed in %s (from %s)", spec.id, spec.version, dest, used)
        return self.require(spec.id)

    def fetch_defaults(
        self, *, progress: ProgressFn | None = None, force: bool = False
    ) -> list[InstalledModel]:
        """Fetch every default model; tries them all, then raises one error naming each failure."""
        installed, failures = [], []
        for spec in self.catalog.defaults():
            try:
                installed.append(self.fetch(spec.id, progress=progress, force=force))
            except SpeakerError as exc:
                failures.append(exc.message)
        if failures:
            raise ModelError("; ".join(failures))
        return installed


def _outdated(spec: ModelSpec, manifest: Manifest) -> str | None:
    if manifest.id != spec.id or manifest.version != spec.version:
        return f"installed version {manifest.version}, the catalog wants {spec.version}"
    if spec.files and {f.spec for f in manifest.files} != set(spec.files):
        return "the installed files or checksums differ from the catalog's"
    return None


def _remove_empty_dirs(top: Path) -> None:
    if not top.is_dir():
        return
    for path in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True) + [top]:
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


@contextmanager
def _exclusive(lock_path: Path, model_id: str) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ModelError(f"another fetch of '{model_id}' is running; wait for it to finish") from exc
        yield

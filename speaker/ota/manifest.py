"""The update manifest: what an operator announces for one component, and how it is checked.

A manifest is a small JSON object (it travels inside a signed envelope, see `signing.py`):

    {
      "format": 1,
      "component": "llm",                    # llm | tts | asr | wake
      "version": "2.0.0",                    # dotted numbers; must be newer than the installed one
      "serial": 1732460000123,               # grows with every manifest the operator signs
      "expires": "2025-01-01T00:00:00Z",     # refused after this moment
      "min_firmware": "0.1.0",               # refused by older firmware
      "device": null,                        # null: every speaker; else one device id
      "main": "gemma-3-270m-q4_k_m.gguf",    # what the engine opens: one of the files, a folder, "."
      "summary": "Gemma 3 270M",             # release summary shown in Home Assistant
      "files": [{"path": "...", "size": 253113024, "sha256": "...", "url": "http://..."}]
    }
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from speaker.models.catalog import FileSpec, is_safe_relpath
from speaker.models.integrity import SHA256_RE
from speaker.ota.errors import MALFORMED, OtaError

FORMAT = 1
COMPONENTS = ("llm", "tts", "asr", "wake")
VERSION_RE = re.compile(r"^\d{1,9}(\.\d{1,9}){0,3}$")
MAX_FILES = 256
MAX_SUMMARY = 1000


def parse_version(text: str) -> tuple[int, ...]:
    """'2.0.10' -> (2, 0, 10); trailing zeros do not count, so '2.0' equals '2.0.0'."""
    if not isinstance(text, str) or not VERSION_RE.match(text):
        raise ValueError(f"a version is 1 to 4 dotted numbers (like 2.0.1), got {text!r}")
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def newer(candidate: str, than: str) -> bool:
    """Whether version `candidate` is strictly newer than `than` (an unparsable `than` counts as oldest)."""
    try:
        current = parse_version(than)
    except ValueError:
        current = (-1,)
    return parse_version(candidate) > current


def parse_time(text: str) -> datetime:
    """An ISO 8601 moment with a time zone ('Z' accepted), as an aware UTC datetime."""
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 time, got {text!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from exc
    if moment.tzinfo is None:
        raise ValueError(f"the time {text!r} has no time zone (add Z for UTC)")
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ManifestFile:
    path: str  # relative to the slot directory
    size: int
    sha256: str
    url: str

    @property
    def spec(self) -> FileSpec:
        return FileSpec(self.path, self.size, self.sha256)


@dataclass(frozen=True)
class UpdateManifest:
    component: str
    version: str
    serial: int
    expires: str
    files: tuple[ManifestFile, ...]
    min_firmware: str = "0"
    device: str | None = None
    main: str = "."
    summary: str = ""

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def label(self) -> str:
        return f"{self.component} {self.version}"

    def expires_at(self) -> datetime:
        return parse_time(self.expires)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "component": self.component,
            "version": self.version,
            "serial": self.serial,
            "expires": self.expires,
            "min_firmware": self.min_firmware,
            "device": self.device,
            "main": self.main,
            "summary": self.summary,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256, "url": f.url} for f in self.files],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> UpdateManifest:
        """Parse and check every field; anything wrong is an OtaError(MALFORMED) naming the field."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise OtaError(f"the manifest is not valid JSON: {exc}", code=MALFORMED) from exc
        try:
            return cls.from_dict(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise OtaError(f"the manifest is not valid: {exc}", code=MALFORMED) from exc

    @classmethod
    def from_dict(cls, data: Any) -> UpdateManifest:
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        known = {"format", "component", "version", "serial", "expires", "min_firmware", "device", "main"}
        unknown = set(data) - known - {"summary", "files"}
        if unknown:
            raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
        if data.get("format") != FORMAT:
            raise ValueError(f"format must be {FORMAT}, got {data.get('format')!r}")
        component = _text(data, "component")  # an unknown component is refused later, by name
        version = _text(data, "version", parse_version)
        serial = data.get("serial")
        if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
            raise ValueError(f"serial must be a whole number >= 0, got {serial!r}")
        expires = _text(data, "expires", parse_time)
        min_firmware = _text(data, "min_firmware", parse_version)
        device = data.get("device")
        if device is not None and (not isinstance(device, str) or not device.strip()):
            raise ValueError(f"device must be null or a device id, got {device!r}")
        summary = data.get("summary", "")
        if not isinstance(summary, str) or len(summary) > MAX_SUMMARY:
            raise ValueError(f"summary must be text of at most {MAX_SUMMARY} characters")
        files = _files(data.get("files"))
        main = _text(data, "main")
        _check_main(main, [f.path for f in files])
        return cls(component, version, serial, expires, files, min_firmware, device, main, summary)


def _text(data: dict[str, Any], key: str, check: Callable[[str], object] | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be non-empty text, got {value!r}")
    if check is not None:
        try:
            check(value)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from exc
    return value


def _files(raw: Any) -> tuple[ManifestFile, ...]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_FILES:
        raise ValueError(f"files must list 1 to {MAX_FILES} files")
    files: list[ManifestFile] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or set(entry) != {"path", "size", "sha256", "url"}:
            raise ValueError(f"files[{i}] must have exactly path, size, sha256 and url")
        path, size, sha256, url = entry["path"], entry["size"], entry["sha256"], entry["url"]
        if not isinstance(path, str) or not is_safe_relpath(path) or path.split("/")[0].startswith("."):
            raise ValueError(f"files[{i}].path must be a relative path inside the model, got {path!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"files[{i}].size must be a whole number of bytes, got {size!r}")
        if not isinstance(sha256, str) or not SHA256_RE.match(sha256):
            raise ValueError(f"files[{i}].sha256 must be 64 lowercase hex digits")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"files[{i}].url must be an http:// or https:// URL, got {url!r}")
        if path in (f.path for f in files):
            raise ValueError(f"files[{i}].path {path!r} is listed twice")
        files.append(ManifestFile(path, size, sha256, url))
    return tuple(files)


def _check_main(main: str, paths: list[str]) -> None:
    if main in (".", ""):
        return
    if not is_safe_relpath(main):
        raise ValueError(f"main must be a relative path inside the model, got {main!r}")
    if main not in paths and not any(p.startswith(main.rstrip("/") + "/") for p in paths):
        raise ValueError(f"main {main!r} is neither one of the files nor a folder of them")

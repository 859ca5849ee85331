"""A test model catalog: two files, an entry builder and a loopback server holding them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from models_fixtures.build import file_entry, payload
from models_fixtures.loopback import LoopbackServer
from speaker.models import Catalog, load_catalog

A = payload(300_000, b"a")
B = payload(700_000, b"b")
FILES = {"a.bin": A, "sub/b.bin": B}


def entry(
    model_id: str, files: dict[str, bytes], sources: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": model_id,
        "kinds": ["asr", "wake"],
        "language": "en",
        "version": "1.0",
        "description": "a test model",
        "license": "MIT",
        "default": False,
        "main": next(iter(files), "."),
        "files": [file_entry(path, body) for path, body in files.items()],
        "sources": sources,
    }
    data.update(extra)
    return data


def write_catalog(path: Path, *models: dict[str, Any]) -> Catalog:
    path.write_text(yaml.safe_dump({"models": list(models)}, sort_keys=False))
    return load_catalog(path)


@contextlib.contextmanager
def model_server() -> Iterator[LoopbackServer]:
    """A loopback HTTP server serving the files of model "m1" (FILES) under m1/."""
    with LoopbackServer() as srv:
        for path, body in FILES.items():
            srv.add(f"m1/{path}", body)
        yield srv

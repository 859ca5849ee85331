"""The file format of wake models and of the phone recognizer: numpy arrays in an .npz (no
pickles) beside a JSON header, stored as the bytes of an array named "header"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def write(path: Path, arrays: dict[str, np.ndarray], header: dict[str, Any]) -> Path:
    """Write the arrays and the header to `path` at once: a reader sees the old file or the new."""
    stored = dict(arrays, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        np.savez_compressed(out, **stored)
    tmp.replace(path)
    return path


def read(path: Path) -> tuple[dict[str, np.ndarray], Any]:
    """The arrays (the header's left out) and the decoded header. A file that is not such an .npz
    raises OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError or EOFError."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return arrays, json.loads(bytes(arrays.pop("header")).decode())

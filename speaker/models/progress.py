"""Show download and copy progress: a tqdm bar on a terminal, a plain line now and then elsewhere.

`ProgressPrinter` is a `ProgressFn` (label, done, total); a new label starts a new bar or line.
Logs and journald get one line every `interval` seconds instead of a bar redrawn a hundred times.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from tqdm import tqdm


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class ProgressPrinter:
    def __init__(
        self, stream: TextIO | None = None, *, tty: bool | None = None, interval: float = 5.0
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self._label: str | None = None
        self._bar: Any = None
        self._last_print = 0.0

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if label != self._label:
            self.close()
            self._label = label
            if self.tty:
                self._bar = tqdm(
                    total=total, initial=done, desc=label, unit="B", unit_scale=True,
                    unit_divisor=1024, file=self.stream, leave=True, dynamic_ncols=True,
                )  # fmt: skip
            else:  # small files print one line, when done
                self._last_print = time.monotonic()
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
        elif time.monotonic() - self._last_print >= self.interval or (total is not None and done >= total):
            self._line(label, done, total)

    def _line(self, label: str, done: int, total: int | None) -> None:
        if total:
            text = f"{label}: {_mb(done)} of {_mb(total)} ({100 * done // total}%)"
        else:
            text = f"{label}: {_mb(done)}"
        print(text, file=self.stream, flush=True)
        self._last_print = time.monotonic()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._label = None

    def __enter__(self) -> ProgressPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""A stand-in for systemd's notify socket: a real unix datagram socket that records what it got."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Message:
    at: float  # time.monotonic() when it arrived
    text: str

    @property
    def fields(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.text.splitlines() if "=" in line)


class NotifySocket:
    """Bound at a short path (unix socket paths are limited to 108 bytes), or an abstract name."""

    def __init__(self, abstract: bool = False) -> None:
        self._dir: str | None = None
        if abstract:
            self.address = f"@speaker-test-{os.getpid()}-{id(self)}"
            bind_to = "\0" + self.address[1:]
        else:
            self._dir = tempfile.mkdtemp(prefix="sd-", dir="/tmp")
            self.address = bind_to = str(Path(self._dir) / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(bind_to)
        self.sock.settimeout(0.1)
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append(Message(time.monotonic(), data.decode("utf-8")))

    def snapshot(self) -> list[Message]:
        with self._lock:
            return list(self.messages)

    def with_field(self, key: str, since: float = 0.0) -> list[Message]:
        return [m for m in self.snapshot() if key in m.fields and m.at >= since]

    def statuses(self) -> list[str]:
        return [m.fields["STATUS"] for m in self.snapshot() if "STATUS" in m.fields]

    def wait_for(self, test: Callable[[Message], bool], timeout: float = 10.0, since: float = 0.0) -> Message:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for message in self.snapshot():
                if message.at >= since and test(message):
                    return message
            time.sleep(0.02)
        raise AssertionError(
            f"no such notify message within {timeout} s; got {[m.text for m in self.snapshot()]}"
        )

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self.sock.close()
        if self._dir is not None:
            Path(self.address).unlink(missing_ok=True)
            os.rmdir(self._dir)


def longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest time without a ping between `start` and `end` (the edges count)."""
    inside = [t for t in times if start <= t <= end]
    edges = [start, *inside, end]
    return max(b - a for a, b in zip(edges, edges[1:], strict=False))

"""systemd's notify protocol, spoken directly: READY=1, STATUS=..., WATCHDOG=1, STOPPING=1.

Each message is one datagram of newline-separated KEY=VALUE lines sent to the unix socket named
by $NOTIFY_SOCKET (a leading '@' names Linux's abstract namespace). Outside systemd the variable
is unset and every call quietly does nothing, so the same code runs in a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping, MutableMapping

log = logging.getLogger(__name__)

ENV_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class SystemdNotifier:
    def __init__(self, address: str | None = None, *, watchdog_usec: int | None = None) -> None:
        self.address = address or None
        # systemd restarts the service when no WATCHDOG=1 came for this long (None: no watchdog)
        self.watchdog_interval = watchdog_usec / 1e6 if watchdog_usec else None
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._warned = False

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, *, unset: bool = False
    ) -> SystemdNotifier:
        """From NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID; `unset` removes them from os.environ
        so that child processes (model health checks, tools) do not talk to systemd in our name."""
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        if address is not None and not address.startswith(("/", "@")):
            log.warning("NOTIFY_SOCKET=%s is not a unix socket path; not notifying systemd", address)
            address = None
        usec = None
        raw, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
        if raw and (not pid or pid == str(os.getpid())):  # a watchdog set for another process is not ours
            try:
                usec = int(raw)
            except ValueError:
                log.warning("WATCHDOG_USEC=%r is not a number; watchdog not pinged", raw)
        if unset and isinstance(env, MutableMapping):
            for name in ENV_VARS:
                env.pop(name, None)
        return cls(address, watchdog_usec=usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """One datagram of KEY=VALUE lines; False when not under systemd or when sending failed."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        payload = "\n".join(lines).encode("utf-8")
        try:
            with self._lock:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.sendto(payload, target)
        except OSError as exc:  # systemd gone or the socket replaced: the speaker goes on regardless
            if not self._warned:
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *([f"STATUS={_line(status)}"] if status else []))

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={_line(text)}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for more start-up (or shutdown) time: loading models on a small board is slow."""
        return self.send(f"EXTEND_TIMEOUT_USEC={int(seconds * 1e6)}")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *([f"STATUS={_line(status)}"] if status else []))

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def _line(text: str) -> str:
    """STATUS is one line: newlines would start new KEY=VALUE pairs."""
    return " ".join(text.split())[:200]

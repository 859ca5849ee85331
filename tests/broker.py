"""A real mosquitto broker for the tests: started on a free loopback port, stopped and restarted."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_mosquitto() -> str:
    import pytest

    exe = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if exe is None:
        pytest.fail("mosquitto is not installed (apt-get install mosquitto; `make test` does it)")
    return exe


class Broker:
    """mosquitto on 127.0.0.1:<port>. `config` is extra mosquitto.conf text (auth, ACLs)."""

    def __init__(self, directory: Path, config: str = "allow_anonymous true\n") -> None:
        self.directory = directory
        self.port = free_port()
        self.extra = config
        self.log = directory / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Broker:
        exe = require_mosquitto()
        conf = self.directory / "mosquitto.conf"
        # As root, mosquitto would switch to its own user, who cannot read the test's files.
        user = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{user}listener {self.port} 127.0.0.1\npersistence false\nlog_dest file {self.log}\n"
            f"log_type all\n{self.extra}",
            encoding="utf-8",
        )
        self._proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(
                    f"mosquitto exited at start: {err} {self.log.read_text() if self.log.exists() else ''}"
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening within 10 s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Recorder:
    """A paho client that keeps every message it receives: (topic, payload, retain, monotonic time)."""

    def __init__(self, port: int, topics: tuple[str, ...] = ("#",), **auth: str) -> None:
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self._cond = threading.Condition()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"recorder-{free_port()}")
        if auth:
            self.client.username_pw_set(auth["username"], auth.get("password"))
        self.client.reconnect_delay_set(1, 1)
        self.topics = topics
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self.connected.set()
        self.connected = threading.Event()  # set once the subscriptions are acknowledged
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        if not self.connected.wait(15):
            self.close()
            raise AssertionError(f"the test's MQTT recorder could not subscribe on port {port} within 15 s")

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._cond:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain), time.monotonic()))
            self._cond.notify_all()

    def on(self, topic: str) -> list[bytes]:
        with self._cond:
            return [p for t, p, _, _ in self.messages if t == topic]

    def wait_for(
        self, topic: str, payload: bytes | None = None, timeout: float = 10.0, after: int = 0
    ) -> bytes:
        """The first message on `topic` (equal to `payload` if given) among those after index `after`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, p, _, _ in self.messages[after:]:
                    if t == topic and (payload is None or p == payload):
                        return p
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = sorted({t for t, *_ in self.messages})
                    raise AssertionError(
                        f"no message {payload!r} on {topic} within {timeout} s; topics seen: {seen}"
                    )
                self._cond.wait(remaining)

    def mark(self) -> int:
        with self._cond:
            return len(self.messages)

    def json(self, topic: str) -> list[dict]:
        return [json.loads(p) for p in self.on(topic) if p]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(port: int, messages: list[tuple[str, bytes | str]], retain: bool = False, **auth: str) -> None:
    """Publish (QoS 1) and wait until the broker has every message."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"pub-{free_port()}")
    if auth:
        client.username_pw_set(auth["username"], auth.get("password"))
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(t, p, qos=1, retain=retain) for t, p in messages]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


@contextlib.contextmanager
def running_broker(directory: Path, config: str = "allow_anonymous true\n") -> Iterator[Broker]:
    broker = Broker(directory, config).start()
    try:
        yield broker
    finally:
        broker.stop()


def make_certificates(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a broker certificate for 127.0.0.1/localhost (openssl)."""
    import pytest

    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed (apt-get install openssl)")
    d = directory
    paths = {n: d / f"{n}" for n in ("ca.key", "ca.crt", "broker.key", "broker.csr", "broker.crt", "san.ext")}
    paths["san.ext"].write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", str(paths["ca.key"]), "-out", str(paths["ca.crt"]))  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", str(paths["broker.key"]), "-out", str(paths["broker.csr"]))  # fmt: skip
    run("x509", "-req", "-in", str(paths["broker.csr"]), "-CA", str(paths["ca.crt"]),
        "-CAkey", str(paths["ca.key"]), "-CAcreateserial", "-days", "2",
        "-extfile", str(paths["san.ext"]), "-out", str(paths["broker.crt"]))  # fmt: skip
    for key in ("broker.key", "ca.key"):
        paths[key].chmod(0o644)  # mosquitto may run as another user
    return paths


def password_file(directory: Path, users: dict[str, str]) -> Path:
    path = directory / "passwd"
    path.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
    subprocess.run(["mosquitto_passwd", "-U", str(path)], check=True, capture_output=True)
    return path

"""The operator's side: describe model files as a manifest, sign it, publish it retained on the broker.

This talks to the broker with paho-mqtt directly: an operator's laptop or the household's Home
Assistant box does not run the speaker's own MQTT service.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from speaker.errors import SpeakerError
from speaker.models.integrity import sha256_file
from speaker.ota.manifest import ManifestFile, UpdateManifest, format_time

DURATION_RE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    match = DURATION_RE.match(text.strip())
    if not match:
        raise SpeakerError(f"a duration is a number and a unit (s, m, h, d), like 30d; got {text!r}")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def serial_now() -> int:
    """Milliseconds since 1970: grows with every manifest signed on a clock that is roughly right."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class LocalFile:
    source: Path  # on the operator's disk
    path: str  # in the manifest (relative to the slot)
    url: str


def collect_files(files: list[Path], dirs: list[Path], urls: list[str]) -> list[LocalFile]:
    """Pair files with URLs: one URL per file, or one base URL ending in '/' for all of them.

    `dirs` add every file under each directory (hidden ones excepted), with paths relative to it
    (for models that are a folder, like pocketsphinx's); they need a base URL.
    """
    entries: list[tuple[Path, str]] = [(f, f.name) for f in files]
    for folder in dirs:
        if not folder.is_dir():
            raise SpeakerError(f"not a directory: {folder}")
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = f.relative_to(folder)
            if not any(part.startswith(".") for part in relative.parts):  # .git, .DS_Store, ...
                entries.append((f, relative.as_posix()))
    if not entries:
        raise SpeakerError("give the model's files with --file PATH (or a folder with --dir)")
    for source, _ in entries:
        if not source.is_file():
            raise SpeakerError(f"file not found: {source}")
    for url in urls:
        if not url.lower().startswith(("http://", "https://")):
            raise SpeakerError(f"--url must be an http:// or https:// URL, got {url!r}")
    if len(urls) == 1 and urls[0].endswith("/"):
        return [LocalFile(s, p, urls[0] + urllib.parse.quote(p)) for s, p in entries]
    if len(urls) != len(entries) or dirs:
        raise SpeakerError(
            f"{len(entries)} file(s) but {len(urls)} URL(s): give one --url per --file, in order, "
            "or one base URL ending in '/'"
        )
    return [LocalFile(s, p, u) for (s, p), u in zip(entries, urls, strict=True)]


def build_manifest(
    component: str,
    version: str,
    files: list[LocalFile],
    *,
    serial: int,
    expires_in: timedelta,
    min_firmware: str,
    device: str | None = None,
    main: str | None = None,
    summary: str = "",
    on_file: Callable[[str], None] | None = None,
) -> UpdateManifest:
    """Hash every file and describe the update; the manifest's own checks apply (ValueError -> error)."""
    described = []
    for f in files:
        if on_file:
            on_file(f.path)
        described.append(ManifestFile(f.path, f.source.stat().st_size, sha256_file(f.source), f.url))
    if main is None:
        main = files[0].path if len(files) == 1 else "."
    manifest = UpdateManifest(
        component=component,
        version=version,
        serial=serial,
        expires=format_time(datetime.now(UTC) + expires_in),
        files=tuple(described),
        min_firmware=min_firmware,
        device=device,
        main=main,
        summary=summary,
    )
    try:
        return UpdateManifest.from_dict(manifest.to_dict())  # the very checks a speaker applies
    except ValueError as exc:
        raise SpeakerError(f"the manifest would be refused by every speaker: {exc}") from exc


@dataclass(frozen=True)
class Broker:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    cafile: Path | None = None

    @classmethod
    def parse(cls, text: str, **options: Any) -> Broker:
        """'host', 'host:port', 'mqtt://user:pass@host:port' or 'mqtts://...' (TLS, port 8883)."""
        if "://" not in text:
            text = f"mqtt://{text}"
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise SpeakerError(
                f"the broker is host[:port] or mqtt(s)://[user:pass@]host[:port]; got {text!r}"
            )
        tls = parts.scheme == "mqtts" or bool(options.get("tls"))
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise SpeakerError(f"bad broker port in {text!r}") from exc
        return cls(
            parts.hostname,
            port,
            options.get("username") or (urllib.parse.unquote(parts.username) if parts.username else None),
            options.get("password") or (urllib.parse.unquote(parts.password) if parts.password else None),
            tls,
            options.get("cafile"),
        )

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class OperatorClient:
    """A short MQTT session: read what is retained on a topic, publish a retained message."""

    def __init__(self, broker: Broker, timeout: float = 10.0) -> None:
        self.broker = broker
        self.timeout = timeout
        self._client: Any = None

    def __enter__(self) -> OperatorClient:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"speaker-ota-{os.getpid()}")
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set(ca_certs=str(self.broker.cafile) if self.broker.cafile else None)
        connected = threading.Event()
        outcome: dict[str, Any] = {}

        def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            outcome["reason"] = reason
            connected.set()

        client.on_connect = on_connect
        try:
            client.connect(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise SpeakerError(f"cannot reach the MQTT broker at {self.broker}: {exc}") from exc
        client.loop_start()
        if not connected.wait(self.timeout):
            client.loop_stop()
            raise SpeakerError(f"the MQTT broker at {self.broker} did not answer within {self.timeout:.0f} s")
        reason = outcome["reason"]
        if reason.is_failure:
            client.loop_stop()
            raise SpeakerError(f"the MQTT broker at {self.broker} refused the connection: {reason}")
        self._client = client
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def retained(self, topic: str, grace: float = 0.5) -> bytes | None:
        """The message retained on `topic`, if any (it arrives right after the subscription)."""
        got: list[bytes] = []
        subscribed = threading.Event()

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            if message.topic == topic and message.retain:
                got.append(bytes(message.payload))

        def on_subscribe(*_args: Any) -> None:
            subscribed.set()

        self._client.on_message = on_message
        self._client.on_subscribe = on_subscribe
        self._client.subscribe(topic, qos=1)
        subscribed.wait(self.timeout)
        deadline = time.monotonic() + grace
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        self._client.unsubscribe(topic)
        return got[-1] if got else None

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(self.timeout)
        if not info.is_published():
            raise SpeakerError(f"the MQTT broker at {self.broker} did not confirm the message on {topic}")


def retained_serial(payload: bytes | None) -> int | None:
    """The serial of a retained envelope (not verified: only used to choose a higher one)."""
    if not payload:
        return None
    try:
        manifest = json.loads(json.loads(payload)["manifest"])
        return int(manifest["serial"])
    except (ValueError, KeyError, TypeError):
        return None

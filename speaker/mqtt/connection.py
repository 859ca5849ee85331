"""Where the broker is and how to log in: from the settings, a URL (--mqtt) or $SPEAKER_MQTT_URL.

    mqtt://user:password@host:1883
    mqtts://user:password@host:8883?ca=/etc/ssl/ca.pem&cert=client.pem&key=client.key&insecure=1

A URL overrides host, port, user name, password and TLS from the config; certificate paths come
from the config unless the URL names them. User names and passwords may be %-encoded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from speaker.errors import MqttError
from speaker.identity import device_id_from_host
from speaker.settings import MqttSettings

ENV_URL = "SPEAKER_MQTT_URL"
SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}
_QUERY_KEYS = {"ca", "cert", "key", "insecure", "client_id"}


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_certs: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    tls_insecure: bool = False
    client_id: str = "speaker"
    device_id: str = "speaker"

    def describe(self) -> str:
        """The broker as a URL without the password, for logs and messages."""
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def resolve(
    settings: MqttSettings,
    url: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    device_id: str | None = None,
) -> Connection | None:
    """The connection to make, or None when no broker is configured (MQTT off).

    `url` (from --mqtt) wins over $SPEAKER_MQTT_URL, which wins over `mqtt.url` and `mqtt.host`.
    `device_id`: the speaker's id (speaker.identity.device_id); default: mqtt.device_id or the host.
    """
    env = os.environ if env is None else env
    url = url or env.get(ENV_URL) or settings.url
    fields: dict[str, object] = {
        "host": settings.host,
        "port": settings.port,
        "username": settings.username,
        "password": settings.password,
        "tls": settings.tls,
        "ca_certs": settings.ca_certs,
        "certfile": settings.certfile,
        "keyfile": settings.keyfile,
        "tls_insecure": settings.tls_insecure,
        "client_id": settings.client_id,
    }
    if url:
        fields.update(parse_url(url))
    if not fields["host"]:
        return None
    if fields["password"] is None and settings.password_file is not None:
        fields["password"] = _read_password(settings.password_file)
    if fields["password"] is not None and not fields["username"]:
        raise MqttError("an MQTT password is set but no user name; add it (mqtt://USER:PASSWORD@host)")
    if fields["keyfile"] is not None and fields["certfile"] is None:
        raise MqttError("mqtt.keyfile is set without mqtt.certfile (the client certificate)")
    if not fields["tls"] and (fields["ca_certs"] is not None or fields["certfile"] is not None):
        raise MqttError("MQTT certificates are set but TLS is off: set mqtt.tls: true or use an mqtts:// URL")
    for key in ("ca_certs", "certfile", "keyfile"):
        path = fields[key]
        if path is not None and not Path(str(path)).is_file():
            raise MqttError(f"MQTT TLS {key} not found: {path}")
    device_id = device_id or settings.device_id or device_id_from_host()
    if fields["port"] is None:
        fields["port"] = 8883 if fields["tls"] else 1883
    fields["client_id"] = fields["client_id"] or f"speaker-{device_id}"
    return Connection(device_id=device_id, **fields)  # type: ignore[arg-type]


def parse_url(url: str) -> dict[str, object]:
    """The connection fields a broker URL sets; MqttError says what is wrong with a bad one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise MqttError(f"bad MQTT URL {_safe(url)}: {exc}") from exc
    if parts.scheme not in SCHEMES:
        raise MqttError(
            f"bad MQTT URL {_safe(url)}: the scheme must be mqtt:// or mqtts:// (e.g. mqtt://host:1883)"
        )
    if not parts.hostname:
        raise MqttError(f"bad MQTT URL {_safe(url)}: no host (e.g. mqtt://user:pass@192.168.1.10:1883)")
    if parts.path not in ("", "/"):
        raise MqttError(f"bad MQTT URL {_safe(url)}: unexpected path {parts.path!r}")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - _QUERY_KEYS
    if unknown:
        raise MqttError(
            f"bad MQTT URL {_safe(url)}: unknown option(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(_QUERY_KEYS))}"
        )
    fields: dict[str, object] = {
        "host": parts.hostname,
        "port": port,
        "tls": SCHEMES[parts.scheme],
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password is not None else None,
    }
    paths = {"ca": "ca_certs", "cert": "certfile", "key": "keyfile"}
    for key, field in paths.items():
        if key in query:
            fields[field] = Path(query[key][-1]).expanduser()
    if "insecure" in query:
        fields["tls_insecure"] = query["insecure"][-1].lower() in ("", "1", "true", "yes")
    if "client_id" in query:
        fields["client_id"] = query["client_id"][-1]
    return fields


def _read_password(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise MqttError(f"cannot read the MQTT password file {path}: {exc.strerror}") from exc


def _safe(url: str) -> str:
    """The URL with its password replaced, so it can be shown."""
    return repr(re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url))

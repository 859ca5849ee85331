"""Doctor: the MQTT broker is reachable and accepts our credentials.

The broker is given as a URL, mqtt://USER:PASSWORD@HOST:PORT (mqtts:// for TLS), on the command
line (--mqtt) or in SPEAKER_MQTT_URL. `check_broker` takes the parts, so that the speaker's own
MQTT settings can be checked with it the same way.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from speaker.doctor import Finding
from speaker.errors import ConfigError

ENV_URL = "SPEAKER_MQTT_URL"
REJECTED = {4, 5, 134, 135}  # MQTT 3.1.1 bad credentials / not authorized, and their MQTT 5 codes


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    def __str__(self) -> str:
        """The URL with the password hidden, for messages and logs."""
        user = f"{self.username}{':***' if self.password else ''}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def broker_url(given: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The URL to check: --mqtt, else $SPEAKER_MQTT_URL, else None."""
    env = os.environ if environ is None else environ
    return given or env.get(ENV_URL) or None


def parse_broker_url(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ConfigError(f"not a broker URL: {url!r}; expected mqtt://USER:PASSWORD@HOST:PORT")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ConfigError(f"bad port in broker URL {url!r}") from exc
    return BrokerAddress(
        parts.hostname,
        port,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        tls,
    )


def check_broker(url: str | None, *, timeout: float = 5.0) -> Finding:
    if not url:
        return Finding(
            "broker",
            "skip",
            f"no broker given (--mqtt mqtt://USER:PASSWORD@HOST:1883, or {ENV_URL}); MQTT is optional",
        )
    try:
        address = parse_broker_url(url)
    except ConfigError as exc:
        return Finding("broker", "fail", exc.message, "write it as mqtt://USER:PASSWORD@HOST:PORT")
    return check_broker_address(address, timeout=timeout)


REACH = "check the broker runs (sudo systemctl status mosquitto) and the host and port are right"
CREDENTIALS = "check the user name and password in the URL (mosquitto_passwd) and the broker's ACL"


def check_broker_address(address: BrokerAddress, *, timeout: float = 5.0) -> Finding:
    """Connect, wait for the broker's answer to our credentials, disconnect."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"speaker-doctor-{os.getpid()}", protocol=mqtt.MQTTv311
    )
    client.connect_timeout = timeout
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    answers: list[object] = []
    client.on_connect = lambda client, userdata, flags, reason, props: answers.append(reason)
    failed = _connect(client, address, timeout)
    if failed is not None:
        return failed
    where = f"{address.host}:{address.port}"
    deadline = time.monotonic() + timeout
    try:
        while not answers and time.monotonic() < deadline:
            if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS and not answers:
                why = f"{where} closed the connection during the MQTT handshake"
                return Finding("broker", "fail", why, "is it an MQTT port? a TLS-only broker needs mqtts://")
    finally:
        client.disconnect()
    if not answers:
        why = f"{where} accepted the connection but did not answer as an MQTT broker"
        return Finding("broker", "fail", why, "is it an MQTT port?")
    reason = answers[0]
    if getattr(reason, "is_failure", False):
        if getattr(reason, "value", None) in REJECTED:
            who = f"user {address.username!r}" if address.username else "anonymous clients"
            return Finding("broker", "fail", f"{where} refused {who}: {reason}", CREDENTIALS)
        return Finding("broker", "fail", f"{where} refused the connection: {reason}", REACH)
    who = f" as {address.username!r}" if address.username else ""
    return Finding("broker", "ok", f"{address} reachable, connected{who}")


def _connect(client: object, address: BrokerAddress, timeout: float) -> Finding | None:
    where = f"{address.host}:{address.port}"
    try:
        client.connect(address.host, address.port, keepalive=10)  # type: ignore[attr-defined]
    except socket.gaierror:
        return Finding("broker", "fail", f"cannot resolve {address.host!r}", "check the host name in the URL")
    except ConnectionRefusedError:
        return Finding("broker", "fail", f"nothing listens on {where} (connection refused)", REACH)
    except TimeoutError:
        return Finding(
            "broker", "fail", f"no answer from {where} in {timeout:.0f} s", f"{REACH}; a firewall?"
        )
    except ssl.SSLError as exc:
        fix = "check it is the broker's TLS port and its certificate is trusted here"
        return Finding("broker", "fail", f"TLS with {where} failed: {exc.reason or exc}", fix)
    except OSError as exc:
        return Finding("broker", "fail", f"cannot reach {where}: {exc.strerror or exc}", REACH)
    return None

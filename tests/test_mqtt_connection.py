"""Where the broker is: config, --mqtt URL, $SPEAKER_MQTT_URL; bad URLs say what is wrong."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from speaker.errors import MqttError
from speaker.mqtt.connection import ENV_URL, device_id_from_host, parse_url, resolve
from speaker.settings import MqttSettings


def test_no_broker_means_mqtt_is_off() -> None:
    assert resolve(MqttSettings(), env={}) is None


def test_url_gives_host_port_credentials_and_tls() -> None:
    conn = resolve(MqttSettings(device_id="den"), "mqtts://home%40ha:p%3Ass@broker.lan:8884", env={})
    assert conn is not None
    assert (conn.host, conn.port, conn.tls) == ("broker.lan", 8884, True)
    assert (conn.username, conn.password) == ("home@ha", "p:ss")  # %-encoded in the URL
    assert conn.client_id == "speaker-den" and conn.device_id == "den"
    assert "p:ss" not in conn.describe() and conn.describe() == "mqtts://home@ha@broker.lan:8884"


def test_default_ports_follow_tls() -> None:
    assert resolve(MqttSettings(), "mqtt://b", env={}).port == 1883  # type: ignore[union-attr]
    assert resolve(MqttSettings(), "mqtts://b", env={}).port == 8883  # type: ignore[union-attr]


def test_flag_beats_environment_beats_config() -> None:
    settings = MqttSettings(host="from-config", url="mqtt://from-config-url")
    assert resolve(settings, env={}).host == "from-config-url"  # type: ignore[union-attr]
    assert resolve(settings, env={ENV_URL: "mqtt://from-env"}).host == "from-env"  # type: ignore[union-attr]
    assert resolve(settings, "mqtt://from-flag", env={ENV_URL: "mqtt://x"}).host == "from-flag"  # type: ignore[union-attr]
    assert resolve(MqttSettings(host="h", port=1999), env={}).port == 1999  # type: ignore[union-attr]


def test_url_options_name_certificates(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    conn = resolve(MqttSettings(), f"mqtts://h?ca={ca}&insecure=1&client_id=kitchen-speaker", env={})
    assert (
        conn is not None and conn.ca_certs == ca and conn.tls_insecure and conn.client_id == "kitchen-speaker"
    )


def test_password_file_keeps_the_secret_out_of_the_config(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    conn = resolve(MqttSettings(host="h", username="speaker", password_file=secret), env={})
    assert conn is not None and conn.password == "s3cret"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://broker:1883", "scheme must be mqtt:// or mqtts://"),
        ("mqtt://", "no host"),
        ("mqtt://broker:99999", "bad MQTT URL"),
        ("mqtt://broker/some/path", "unexpected path"),
        ("mqtt://broker?cafile=x", "unknown option(s) cafile"),
    ],
)
def test_bad_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(MqttError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_url(url)


def test_password_is_never_shown_in_errors() -> None:
    with pytest.raises(MqttError) as err:
        parse_url("http://user:hunter2@broker")
    assert "hunter2" not in err.value.message and "***" in err.value.message


def test_inconsistent_settings_are_errors(tmp_path: Path) -> None:
    with pytest.raises(MqttError, match="password is set but no user name"):
        resolve(MqttSettings(host="h", password="x"), env={})
    with pytest.raises(MqttError, match="not found"):
        resolve(MqttSettings(host="h", tls=True, ca_certs=tmp_path / "missing.pem"), env={})
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(MqttError, match="TLS is off"):
        resolve(MqttSettings(host="h", ca_certs=ca), env={})
    with pytest.raises(MqttError, match="cannot read the MQTT password file"):
        resolve(MqttSettings(host="h", username="u", password_file=tmp_path / "nope"), env={})


def test_device_id_is_a_safe_topic_level() -> None:
    assert device_id_from_host("Living-Room.Speaker #2") == "living-room_speaker_2"
    assert device_id_from_host("###") == "speaker"


def test_settings_reject_wildcards_and_bad_ranges() -> None:
    with pytest.raises(ValueError, match="base_topic"):
        MqttSettings(base_topic="speaker/#")
    with pytest.raises(ValueError, match="port"):
        MqttSettings(port=70000)
    with pytest.raises(ValueError, match="reconnect_min_s"):
        replace(MqttSettings(), reconnect_min_s=10.0, reconnect_max_s=1.0)


def test_the_cli_reports_a_bad_broker_url_before_loading_anything(capsys: pytest.CaptureFixture[str]) -> None:
    from speaker.cli import main

    assert main(["run", "--mqtt", "http://user:secret@broker", "--input", "missing.wav"]) == 2
    err = capsys.readouterr().err
    assert "bad MQTT URL" in err and "secret" not in err and "Traceback" not in err
    assert main(["ask", "hello", "--mqtt", "mqtt://broker:99999"]) == 2
    assert "Port out of range" in capsys.readouterr().err


def test_a_broken_devices_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from speaker.cli import main

    devices = tmp_path / "devices.yaml"
    devices.write_text("devices:\n  - {name: lamp, type: light}\n")
    config = tmp_path / "c.yaml"
    config.write_text(f"home:\n  devices_file: {devices}\n")
    assert main(["--config", str(config), "home"]) == 2
    err = capsys.readouterr().err
    assert "a light needs command_topic" in err and str(devices) in err and "Traceback" not in err

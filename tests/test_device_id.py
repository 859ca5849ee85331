"""One id per speaker: its MQTT topics, its Home Assistant device and the device-specific updates it
accepts all use the same one, whichever of mqtt.device_id and ota.device_id names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from speaker.errors import ConfigError
from speaker.events import EventBus
from speaker.identity import device_id, device_id_from_host
from speaker.ota.slots import device_id as ota_device_id
from speaker.services import Services
from speaker.settings import Settings, load_settings


def settings_with(tmp_path: Path, *, mqtt: str | None = None, ota: str | None = None) -> Settings:
    path = tmp_path / "speaker.yaml"
    text = "mqtt:\n  url: mqtt://127.0.0.1:1883\n" + (f"  device_id: '{mqtt}'\n" if mqtt else "")
    text += f"ota:\n  device_id: '{ota}'\n" if ota else ""
    path.write_text(text + f"controls:\n  state_file: {tmp_path / 'c.json'}\n", encoding="utf-8")
    return load_settings(path)


def ids(settings: Settings) -> tuple[str, str, str]:
    """(MQTT's topics and Home Assistant node, the updater's, the rule's); the broker is not contacted."""
    services = Services.from_settings(settings, EventBus())
    assert services.connection is not None and services.bridge is not None
    assert services.mqtt.root == f"speaker/{services.connection.device_id}"
    return services.bridge.device.device_id, ota_device_id(settings), device_id(settings)


@pytest.mark.parametrize(("mqtt", "ota"), [("den", None), (None, "den"), ("den", "den")])
def test_either_setting_names_the_speaker_everywhere(
    tmp_path: Path, mqtt: str | None, ota: str | None
) -> None:
    assert ids(settings_with(tmp_path, mqtt=mqtt, ota=ota)) == ("den", "den", "den")


def test_without_either_it_is_the_host_name_made_topic_safe(tmp_path: Path) -> None:
    host = device_id_from_host()
    assert ids(settings_with(tmp_path)) == (host, host, host)
    assert device_id_from_host("Kitchen-Pi.local") == "kitchen-pi_local"


def test_two_different_ids_or_a_bad_one_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mqtt.device_id 'den' and ota.device_id 'hall' differ"):
        settings_with(tmp_path, mqtt="den", ota="hall")
    for bad in ("kitchen/pi", "den+1", "my speaker", "den#"):
        with pytest.raises(ConfigError, match="letters, digits"):
            settings_with(tmp_path, ota=bad)
        with pytest.raises(ConfigError, match="letters, digits"):
            settings_with(tmp_path, mqtt=bad)

"""The device registry: devices.yaml, Home Assistant discovery and Zigbee2MQTT imports, state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speaker.errors import ConfigError
from speaker.home.devices import StateSource, state_word, value_of
from speaker.home.devices_file import Home, load_devices
from speaker.home.hass_import import DiscoveryError, import_config
from speaker.home.registry import DeviceRegistry
from speaker.home.z2m_import import import_devices

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

HA_CONFIGS = {
    # ESPHome: abbreviated keys, a base topic, JSON schema, an area
    "homeassistant/light/hall/ceiling/config": {
        "~": "esphome/hall", "name": "Ceiling light", "uniq_id": "hall-ceiling", "schema": "json",
        "cmd_t": "~/light/ceiling/command", "stat_t": "~/light/ceiling/state", "brightness": True,
        "dev": {"ids": ["e8db84"], "name": "Hall", "sa": "Hallway"},
    },
    # Tasmota: a relay, state read from a JSON telemetry topic by template
    "homeassistant/switch/AABBCC_RL_1/config": {
        "name": "Coffee Maker", "uniq_id": "AABBCC_RL_1", "cmd_t": "cmnd/tasmota_1/POWER",
        "stat_t": "tele/tasmota_1/STATE", "val_tpl": "{{value_json.POWER}}", "pl_on": "ON", "pl_off": "OFF",
        "dev": {"cns": [["mac", "AABBCC"]]},
    },
    "homeassistant/climate/study/thermostat/config": {
        "name": "Study thermostat", "unique_id": "study-thermostat",
        "temperature_command_topic": "home/study/target/set", "temperature_state_topic": "home/study/target",
        "current_temperature_topic": "home/study/climate",
        "current_temperature_template": "{{ value_json.temp }}",
        "mode_command_topic": "home/study/mode/set", "modes": ["off", "heat"],
        "device": {"identifiers": ["study-trv"], "suggested_area": "Study"},
    },
    "homeassistant/cover/shelly/garage/config": {
        "name": "Garage door", "unique_id": "shelly-garage",
        "command_topic": "shellies/garage/roller/0/command",
        "state_topic": "shellies/garage/roller/0", "payload_open": "open", "payload_close": "close",
        "payload_stop": "stop",
    },
    "homeassistant/lock/front/config": {
        "name": "Front door", "unique_id": "front-lock", "command_topic": "home/front/lock/set",
        "state_topic": "home/front/lock",
    },
    "homeassistant/sensor/office/temp/config": {
        "name": "Office temperature", "unique_id": "office-temp", "device_class": "temperature",
        "state_topic": "home/office/sensor", "value_template": "{{ value_json.temperature }}",
        "unit_of_measurement": "°C", "device": {"identifiers": ["office"], "suggested_area": "Office"},
    },
}  # fmt: skip


def imported(topic: str) -> object:
    return import_config(topic, json.dumps(HA_CONFIGS[topic]).encode())


def test_the_example_devices_file_loads_every_kind() -> None:
    home = load_devices(ROOT / "config" / "devices.example.yaml")
    kinds = {d.kind for d in home.devices}
    assert kinds == {"light", "switch", "climate", "cover", "lock", "sensor"}
    light = next(d for d in home.devices if d.name == "living room light")
    assert light.commands["on"].payload == '{"state": "ON"}'  # `on:` is a YAML boolean, read as the command
    assert light.commands["brightness"].render(light.command_value("brightness", 50)) == (
        '{"state": "ON", "brightness": 127}'
    )
    assert home.rooms["living room"] == ("客厅", "lounge")
    shipped = load_devices(ROOT / "config" / "devices.yaml")
    assert shipped.devices == () and "客厅" in shipped.rooms["living room"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: lamp, type: lamp, command_topic: a}", "devices[0].type: must be one of"),
        ("{name: lamp, type: light}", "a light needs command_topic"),
        ("{name: t, type: sensor}", "a sensor needs state_topic"),
        ("{name: lamp, type: light, command_topic: a/#}", "must not contain wildcards"),
        ("{name: lamp, type: light, command_topic: a, payloads: {blink: X}}", "unknown command(s) blink"),
        ("{name: lamp, type: light, command_topic: a, payloads: {on: ON}}", "quote them"),
        (
            "{name: t, type: climate, commands: {temperature: {topic: a, payload: warm}}}",
            "must contain {value}",
        ),
        ("{name: lamp, type: light, command_topic: a, colour: red}", "unknown setting"),
    ],
)
def test_bad_device_entries_are_named_with_the_fix(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text(f"devices:\n  - {entry}\n")
    with pytest.raises(ConfigError) as err:
        load_devices(path)
    assert message in err.value.message and str(path) in err.value.message


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text("devices:\n  - {name: lamp, type: light, command_topic: a}\n"
                    "  - {name: Lamp, type: light, command_topic: b}\n")  # fmt: skip
    with pytest.raises(ConfigError, match="two devices have the id 'lamp'"):
        load_devices(path)


def test_home_assistant_discovery_becomes_devices() -> None:
    hall = imported("homeassistant/light/hall/ceiling/config")
    assert (hall.name, hall.room, hall.kind, hall.source) == (
        "hall ceiling light",
        "hallway",
        "light",
        "homeassistant",
    )
    assert hall.commands["on"].topic == "esphome/hall/light/ceiling/command"  # ~ expanded
    assert hall.commands["on"].payload == '{"state": "ON"}'  # JSON schema
    assert hall.states["state"] == StateSource("esphome/hall/light/ceiling/state", "state")

    coffee = imported("homeassistant/switch/AABBCC_RL_1/config")
    assert coffee.name == "coffee maker" and coffee.commands["off"].payload == "OFF"
    assert coffee.states["state"] == StateSource("tele/tasmota_1/STATE", "POWER")  # from the template

    study = imported("homeassistant/climate/study/thermostat/config")
    assert study.room == "study" and study.commands["temperature"].render(21) == "21"
    assert study.commands["off"].payload == "off" and study.commands["on"].payload == "heat"
    assert study.states["current_temperature"] == StateSource("home/study/climate", "temp")

    garage = imported("homeassistant/cover/shelly/garage/config")
    assert garage.commands["open"].payload == "open" and garage.commands["stop"].payload == "stop"
    lock = imported("homeassistant/lock/front/config")
    assert lock.commands["unlock"].payload == "UNLOCK"  # Home Assistant's default
    office = imported("homeassistant/sensor/office/temp/config")
    assert office.kind == "sensor" and office.states == {
        "temperature": StateSource("home/office/sensor", "temperature")
    }


def test_discovery_it_cannot_use_is_skipped_or_refused_with_a_reason() -> None:
    template_light = {"name": "x", "schema": "template", "command_topic": "a", "command_on_template": "on"}
    assert import_config("homeassistant/light/x/config", json.dumps(template_light).encode()) is None
    assert import_config("homeassistant/binary_sensor/door/config", b'{"name": "door"}') is None
    with pytest.raises(DiscoveryError, match="not JSON"):
        import_config("homeassistant/light/x/config", b"{not json")
    with pytest.raises(DiscoveryError, match="expected a JSON object"):
        import_config("homeassistant/light/x/config", b"[1, 2]")
    with pytest.raises(DiscoveryError, match="no name"):
        import_config("homeassistant/switch/x/config", b'{"command_topic": "a"}')


def test_zigbee2mqtt_device_list_becomes_devices() -> None:
    devices = {d.name: d for d in import_devices((DATA / "z2m_bridge_devices.json").read_bytes())}
    assert set(devices) == {
        "kitchen ceiling light", "bedroom sensor", "coffee plug", "bedroom radiator", "front door lock",
        "living room blinds",
    }  # fmt: skip
    light = devices["kitchen ceiling light"]
    assert light.room == "kitchen" and light.brightness_max == 254
    assert light.commands["on"].topic == "zigbee2mqtt/kitchen/ceiling light/set"
    assert (
        light.commands["brightness"].render(light.command_value("brightness", 100)) == '{"brightness": 254}'
    )
    sensor = devices["bedroom sensor"]
    assert sensor.kind == "sensor" and set(sensor.states) == {"temperature", "humidity", "pressure"}
    radiator = devices["bedroom radiator"]
    assert radiator.commands["temperature"].render(21.5) == '{"occupied_heating_setpoint": 21.5}'
    assert radiator.states["current_temperature"].field == "local_temperature"
    assert devices["front door lock"].commands["lock"].payload == '{"state": "LOCK"}'
    assert devices["living room blinds"].commands["close"].payload == '{"state": "CLOSE"}'
    with pytest.raises(DiscoveryError, match="expected a JSON list"):
        import_devices(b'{"devices": []}')


def test_registry_prefers_the_config_and_finds_rooms_in_names() -> None:
    home = load_devices(ROOT / "config" / "devices.example.yaml")
    registry = DeviceRegistry(Home(home.rooms, home.devices))
    z2m = import_devices((DATA / "z2m_bridge_devices.json").read_bytes())
    changes: list[int] = []
    registry.on_change(lambda: changes.append(1))
    registry.replace_imported("zigbee2mqtt", z2m)
    names = [d.name for d in registry.devices()]
    assert names.count("front door") == 1 and "front door lock" in names  # different names: both
    blinds = registry.get("z2m_living_room_blinds_cover")
    assert blinds is not None and blinds.room == "living room"  # "living room blinds" names its room
    configured = DeviceRegistry(home)
    configured.put_imported(imported("homeassistant/lock/front/config"))  # type: ignore[arg-type]
    fronts = [d for d in configured.devices() if d.name == "front door"]
    assert len(fronts) == 1 and fronts[0].source == "config"  # the config wins over an import
    assert changes == [1]


def test_state_values_are_read_from_plain_and_json_payloads() -> None:
    plain, field = StateSource("t"), StateSource("t", "POWER")
    assert value_of(b"ON", "state", plain) == "ON"
    assert value_of(b'{"state": "OFF", "brightness": 3}', "state", plain) == "OFF"
    assert value_of(b'{"POWER": "ON"}', "state", field) == "ON"
    assert value_of(b'{"a": {"b": 21.5}}', "temperature", StateSource("t", "a.b")) == 21.5
    assert value_of(b'{"other": 1}', "state", plain) is None
    with pytest.raises(ValueError):
        value_of(b"\xff\xfe", "state", plain)
    assert [state_word(v) for v in ("ON", "off", True, "LOCKED", "UNLOCK", "open", "closing", "blue")] == [
        "on", "off", "on", "locked", "unlocked", "open", "closing", None,
    ]  # fmt: skip

"""The speaker as a Home Assistant device, on a real mosquitto: discovery, commands, bad input, ACLs.

These run the speaker's services (controls, device registry, MQTT) without the voice models; the
spoken end-to-end runs are in test_mqtt_e2e.py.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from broker import ROOT, Broker, Recorder, password_file, publish

from speaker.events import EventBus, EventLog, TurnDone
from speaker.services import Services
from speaker.settings import load_settings

REQUIRED = {  # what Home Assistant's MQTT discovery needs per component, beyond name/unique_id/device
    "select": {"command_topic", "options"},
    "number": {"command_topic"},
    "switch": {"command_topic"},
    "sensor": {"state_topic"},
    "update": {"state_topic"},
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with Broker(tmp_path_factory.mktemp("broker")) as b:
        yield b


def start_services(tmp_path: Path, url: str, device: str, extra: str = "") -> tuple[Services, EventLog]:
    config = tmp_path / f"{device}.yaml"
    config.write_text(
        f"mqtt:\n  url: {url}\n  device_id: {device}\n  device_name: Test speaker\n"
        f"  reconnect_max_s: 2\n{extra}"
        f"home:\n  devices_file: {ROOT / 'config' / 'devices.example.yaml'}\n"
        f"controls:\n  state_file: {tmp_path / f'{device}-controls.json'}\n",
        encoding="utf-8",
    )
    bus = EventBus()
    log = EventLog()
    bus.subscribe(log)
    services = Services.from_settings(load_settings(config), bus)
    services.start()
    assert services.wait_ready(10), "the services did not connect to the test broker"
    return services, log


def wait_until(check: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_discovery_payloads_are_what_home_assistant_requires(broker: Broker, tmp_path: Path) -> None:
    services, _ = start_services(tmp_path, broker.url, "den")
    try:
        recorder = Recorder(broker.port, ("homeassistant/+/den/+/config", "speaker/den/#"))
        time.sleep(0.5)  # retained messages arrive at once
        configs = {t: p for t, p, retained, _ in recorder.messages if t.endswith("/config")}
        assert all(r for t, _, r, _ in recorder.messages if t.endswith("/config")), "configs must be retained"
        components = {t.split("/")[1] for t in configs}
        assert components == {"select", "number", "switch", "sensor", "update"}
        updates = [t for t in configs if t.split("/")[1] == "update"]
        assert sorted(t.split("/")[3] for t in updates) == [
            "model_asr",
            "model_llm",
            "model_tts",
            "model_wake",
        ]
        states = {t: p for t, p, *_ in recorder.messages if not t.endswith("/config")}
        unique_ids = set()
        for topic, payload in configs.items():
            config = json.loads(payload)  # valid JSON, or this fails
            component = topic.split("/")[1]
            assert REQUIRED[component] <= set(config), (topic, sorted(config))
            assert config["availability_topic"] == "speaker/den/availability"
            assert (
                config["device"]["identifiers"] == ["speaker_den"]
                and config["device"]["name"] == "Test speaker"
            )
            unique_ids.add(config["unique_id"])
            state_topic = config.get("state_topic")
            if state_topic:
                assert state_topic in states or component == "sensor" or component == "select", state_topic
            for key in ("command_topic", "state_topic"):
                assert key not in config or re.fullmatch(r"speaker/den/[a-z_/]+", config[key])
        assert len(unique_ids) == len(configs)
        select = json.loads(configs["homeassistant/select/den/mode/config"])
        assert select["options"] == ["knowledge", "empathy", "life_tips", "inspiration"]
        assert states["speaker/den/availability"] == b"online"
        assert states["speaker/den/volume"] == b"80" and states["speaker/den/mute"] == b"OFF"
        llm = json.loads(states["speaker/den/update/llm"])
        assert llm["installed_version"] == "0.1.2" and llm["latest_version"] == "0.1.2"
        assert llm["title"] == "smollm2-135m-instruct-q4_1"
        recorder.close()
    finally:
        services.close()


def test_home_assistant_restarting_gets_everything_again(broker: Broker, tmp_path: Path) -> None:
    services, _ = start_services(tmp_path, broker.url, "hall")
    try:
        recorder = Recorder(broker.port, ("homeassistant/number/hall/volume/config",))
        recorder.wait_for("homeassistant/number/hall/volume/config")
        mark = recorder.mark()
        publish(broker.port, [("homeassistant/status", "online")])
        assert (
            json.loads(recorder.wait_for("homeassistant/number/hall/volume/config", after=mark))["max"] == 100
        )
        recorder.close()
    finally:
        services.close()


def test_commands_from_home_assistant_work(broker: Broker, tmp_path: Path) -> None:
    services, log = start_services(tmp_path, broker.url, "study")
    modes: list[str] = []
    services.bridge.on_mode = modes.append  # where the dialog router plugs in
    recorder = Recorder(broker.port, ("speaker/study/#",))
    try:
        recorder.connected.wait(5)
        publish(broker.port, [("speaker/study/volume/set", "35"), ("speaker/study/mute/set", "ON"),
                              ("speaker/study/mode/set", "inspiration")])  # fmt: skip
        assert wait_until(lambda: modes == ["inspiration"])
        assert services.controls.volume == 35 and services.controls.muted
        recorder.wait_for("speaker/study/volume", b"35")
        recorder.wait_for("speaker/study/mute", b"ON")
        recorder.wait_for("speaker/study/mode", b"inspiration")  # the select shows the mode
        assert [e.mode for e in log.named("mode_requested")] == ["inspiration"]  # type: ignore[attr-defined]
        wake = services.wrap_wake(_AlwaysWakes())
        assert wake.process(None) is None  # type: ignore[arg-type]  # muted: no wake word at all
        publish(broker.port, [("speaker/study/mute/set", "OFF")])
        assert wait_until(lambda: not services.controls.muted)
        assert wake.process(None) is not None  # type: ignore[arg-type]
        services.bridge.publish_update("llm", latest_version="0.2.0", in_progress=True, update_percentage=40)
        assert wait_until(lambda: json.loads(recorder.on("speaker/study/update/llm")[-1]).get("in_progress"))
        update = json.loads(recorder.on("speaker/study/update/llm")[-1])
        assert update == {
            "installed_version": "0.1.2", "latest_version": "0.2.0", "title": "smollm2-135m-instruct-q4_1",
            "in_progress": True, "update_percentage": 40,
        }  # fmt: skip
        services.bus.emit(
            TurnDone(transcript="turn off the kitchen light", reply="Turning off the kitchen light.")
        )
        turn = json.loads(recorder.wait_for("speaker/study/turn"))
        assert turn["transcript"] == "turn off the kitchen light" and turn["reply"].startswith("Turning off")
        assert turn["mode"] == "inspiration"
        assert (
            json.loads(recorder.wait_for("speaker/study/last_transcript"))["text"]
            == "turn off the kitchen light"
        )
    finally:
        recorder.close()
        services.close()


class _AlwaysWakes:
    phrase = "hey computer"

    def process(self, frame: object) -> object:
        return object()

    def reset(self) -> None:
        pass


def test_turns_are_not_published_when_privacy_asks(broker: Broker, tmp_path: Path) -> None:
    services, _ = start_services(tmp_path, broker.url, "quiet", extra="  publish_turns: false\n")
    recorder = Recorder(broker.port, ("speaker/quiet/#", "homeassistant/sensor/quiet/+/config"))
    try:
        recorder.connected.wait(5)
        services.bus.emit(TurnDone(transcript="a secret", reply="shh"))
        time.sleep(0.5)
        seen = " ".join(p.decode() for _, p, *_ in recorder.messages)
        assert "secret" not in seen and "shh" not in seen
        assert recorder.on("homeassistant/sensor/quiet/last_transcript/config") in (
            [],
            [b""],
        )  # none or removed
        assert recorder.on("speaker/quiet/volume") == [b"80"]  # the rest works as usual
    finally:
        recorder.close()
        services.close()


def _garbage_topic(pattern: str) -> list[str]:
    """Concrete topics for a subscription (wildcards filled in)."""
    if pattern.endswith("/+/+/+/config"):
        return [pattern.replace("+/+/+", "switch/node/junk")]
    if pattern.endswith("/+/+/config"):
        return [pattern.replace("+/+", "light/junk"), pattern.replace("+/+", "lock/junk")]
    return [pattern.replace("+", "junk").replace("#", "junk/more")]


def test_bad_payloads_on_every_subscribed_topic_are_logged_and_ignored(
    broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    services, _ = start_services(tmp_path, broker.url, "garbage")
    try:
        _garbage_is_logged_and_ignored(services, broker, caplog)
    finally:
        services.close()


def _garbage_is_logged_and_ignored(
    services: Services, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    registry = services.registry
    publish(broker.port, [("home/kitchen/light/state", "ON"), ("home/bedroom/thermostat/current", "20.5")])
    kitchen, thermostat = registry.get("kitchen_light"), registry.get("bedroom_thermostat")
    assert kitchen is not None and thermostat is not None
    assert wait_until(lambda: registry.state(kitchen, "state") is not None)
    assert wait_until(lambda: registry.state(thermostat, "current_temperature") is not None)
    before = ({d.id for d in registry.devices()}, services.controls.volume, services.controls.muted)
    wrong_types = json.dumps({"name": 5, "command_topic": ["a"]}).encode()
    bad = [b"{not json", b'{"state": [1, 2], "brightness": {"x": 1}}', b"[]", b"123", b'"ON"',
           b"\xff\xfe\x00", b"", b"x" * (1024 * 1024), wrong_types, b"-1e999", b"NaN",
           b"[" * 50000]  # fmt: skip
    topics = [t for pattern in services.mqtt.subscriptions() for t in _garbage_topic(pattern)]
    assert len(topics) >= 15, topics  # commands, HA status, discovery, Zigbee2MQTT, device states
    # a good message last: once it is handled, so is everything before it (one worker, in order)
    last = ("home/bedroom/thermostat/current", "21.5")
    with caplog.at_level("WARNING"):
        publish(broker.port, [(t, p) for t in topics for p in bad] + [last])
        assert wait_until(lambda: registry.state(thermostat, "current_temperature").value == 21.5, 30)  # type: ignore[union-attr]
    assert services.mqtt._worker.is_alive() and services.mqtt.connected
    assert ({d.id for d in registry.devices()}, services.controls.volume, services.controls.muted) == before
    assert registry.state(kitchen, "state").value == "ON"  # type: ignore[union-attr]
    warnings = caplog.text
    assert "ignored a 1048576-byte message" in warnings
    assert "volume must be a number" in warnings and "mute must be ON or OFF" in warnings
    assert "unknown dialog mode" in warnings and "not a usable discovery config" in warnings
    assert "not a Zigbee2MQTT device list" in warnings and "is not a state" in warnings
    assert "Traceback" not in warnings
    publish(broker.port, [("speaker/garbage/volume/set", "55")])  # and it still does its job
    assert wait_until(lambda: services.controls.volume == 55)


def acl_broker_config(directory: Path) -> str:
    """config/mosquitto/ as shipped, with the test's own port, files and no persistence."""
    shipped = (ROOT / "config" / "mosquitto" / "mosquitto.conf").read_text()
    acl = directory / "speaker.acl"
    acl.write_text((ROOT / "config" / "mosquitto" / "speaker.acl").read_text())
    passwd = password_file(directory, {"speaker": "sp-pass", "homeassistant": "ha-pass", "viewer": "v-pass"})
    kept = [line for line in shipped.splitlines() if not line.startswith(("listener", "persistence"))]
    text = "\n".join(kept).replace("/etc/mosquitto/speaker.passwd", str(passwd))
    return text.replace("/etc/mosquitto/speaker.acl", str(acl)) + "\n"


def test_the_example_broker_config_keeps_strangers_from_driving_the_speaker(tmp_path: Path) -> None:
    with Broker(tmp_path, acl_broker_config(tmp_path)) as secure:
        url = f"mqtt://speaker:sp-pass@127.0.0.1:{secure.port}"
        services, _ = start_services(tmp_path, url, "locked")
        try:
            reasons: list[object] = []
            anonymous = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="stranger")
            anonymous.on_connect = lambda client, userdata, flags, reason, props: reasons.append(reason)
            anonymous.connect("127.0.0.1", secure.port)
            anonymous.loop_start()
            try:
                assert wait_until(lambda: reasons)
                assert reasons[0].is_failure and "not authorized" in str(reasons[0]).lower()  # type: ignore[attr-defined]
                anonymous.publish("speaker/locked/volume/set", "5")  # goes nowhere
            finally:
                anonymous.loop_stop()
            publish(secure.port, [("speaker/locked/volume/set", "6")], username="viewer", password="v-pass")
            time.sleep(0.5)
            assert services.controls.volume == 80  # the read-only user was ignored by the broker
            publish(
                secure.port,
                [("speaker/locked/volume/set", "7")],
                username="homeassistant",
                password="ha-pass",
            )
            assert wait_until(lambda: services.controls.volume == 7)  # Home Assistant may
        finally:
            services.close()


def test_a_one_shot_ask_beside_the_running_speaker_leaves_it_online(broker: Broker, tmp_path: Path) -> None:
    running, log = start_services(tmp_path, broker.url, "shared")
    recorder = Recorder(broker.port, ("speaker/shared/availability", "home/#"))
    try:
        recorder.wait_for("speaker/shared/availability", b"online")
        settings = load_settings(tmp_path / "shared.yaml")
        once = Services.from_settings(settings, EventBus(), device=False)  # what `speaker ask` builds
        once.start()
        assert once.wait_ready(10) and once.bridge is None
        assert once.skill_context("en").publish("home/kitchen/light/set", "OFF", False, 0)  # type: ignore[misc]
        once.close()
        recorder.wait_for("home/kitchen/light/set", b"OFF")
        time.sleep(0.5)
        assert recorder.on("speaker/shared/availability")[-1] == b"online"  # no "offline" from ask
        assert running.mqtt.connected and not log.named("mqtt_disconnected")  # not pushed off
    finally:
        recorder.close()
        running.close()

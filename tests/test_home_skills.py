"""Local intents for the home, in English and Chinese, on the example devices (no LLM, no broker).

The broker is replaced by a recorder of what would be published; the real broker is in
test_mqtt_e2e.py. Every test asserts the exact topic and payload a device would receive.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from skills import SkillContext, SkillSet, default_skills
from skills.lang import duration_en, duration_zh, number_en, number_zh
from skills.phrases import grammar
from speaker.controls import Controls
from speaker.events import EventBus, EventLog
from speaker.home.devices_file import load_devices
from speaker.home.registry import DeviceRegistry
from speaker.settings import ControlsSettings
from speaker.timers import TimerService

ROOT = Path(__file__).resolve().parent.parent


class Home:
    """The example home, a recorder standing in for the broker, and the skills."""

    def __init__(self, tmp_path: Path, online: bool = True, broker: bool = True) -> None:
        self.registry = DeviceRegistry(load_devices(ROOT / "config" / "devices.example.yaml"))
        self.sent: list[tuple[str, str]] = []
        self.online = online
        self.bus = EventBus()
        self.events = EventLog()
        self.bus.subscribe(self.events)
        self.controls = Controls(
            ControlsSettings(volume=50), bus=self.bus, state_file=tmp_path / "controls.json"
        )
        self.rang: list[str] = []
        self.timers = TimerService(lambda timer: self.rang.append(timer.label))
        self.now = 0.0
        self.skills: SkillSet = default_skills(confirm_timeout_s=20.0)
        self.skills.skills[0].skill.clock = lambda: self.now  # type: ignore[attr-defined]
        self.context = SkillContext(
            devices=self.registry,
            publish=self._publish if broker else None,
            emit=self.bus.emit,
            controls=self.controls,
            timers=self.timers,
        )

    def _publish(self, topic: str, payload: str, retain: bool, qos: int) -> bool:
        if self.online:
            self.sent.append((topic, payload))
        return self.online

    def say(self, text: str) -> tuple[str | None, str]:
        self.sent.clear()
        matched = self.skills.handle(text, self.context)
        return (matched[1].intent, matched[1].text) if matched else (None, "")


@pytest.fixture()
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("Turn off the kitchen light.", [("home/kitchen/light/set", "OFF")]),
        ("turn the kitchen lamp on please", [("home/kitchen/light/set", "ON")]),  # an alias
        ("Switch on the coffee machine", [("home/kitchen/coffee/set", "ON")]),
        ("set the kitchen light to fifty percent", [("home/kitchen/light/brightness/set", "128")]),
        (
            "Set the living room light to 100%",
            [("zigbee2mqtt/living_room_light/set", '{"state": "ON", "brightness": 254}')],
        ),
        ("set the bedroom to twenty one degrees", [("home/bedroom/thermostat/target/set", "21")]),
        ("Set the bedroom thermostat to 19.5 degrees", [("home/bedroom/thermostat/target/set", "19.5")]),
        ("open the garage door", [("home/garage/door/set", "OPEN")]),
        ("close the garage door", [("home/garage/door/set", "CLOSE")]),
        ("turn off the bedroom heating", [("home/bedroom/thermostat/mode/set", "off")]),
        ("把客厅大灯打开", [("zigbee2mqtt/living_room_light/set", '{"state": "ON"}')]),
        ("关掉厨房的灯", [("home/kitchen/light/set", "OFF")]),  # room + kind, no alias needed
        ("打开 咖啡机", [("home/kitchen/coffee/set", "ON")]),  # vosk's spaced words
        ("把卧室调到二十一度", [("home/bedroom/thermostat/target/set", "21")]),
        ("把厨房灯的亮度调到百分之三十", [("home/kitchen/light/brightness/set", "76")]),
        ("把车库门打开", [("home/garage/door/set", "OPEN")]),  # "on" for a cover opens it
    ],
)
def test_commands_publish_exactly_the_device_payload(home: Home, said: str, expected: list) -> None:
    intent, reply = home.say(said)
    assert home.sent == expected, (said, intent, reply)
    assert intent is not None and intent.startswith("device_")
    assert 0 < len(reply) < 60  # acknowledged in a few words
    events = home.events.named("device_command")
    assert [(e.topic, e.payload) for e in events] == expected  # type: ignore[attr-defined]


def test_acknowledgements_name_the_device_in_the_language_spoken(home: Home) -> None:
    assert home.say("turn off the kitchen light")[1] == "Turning off the kitchen light."
    assert home.say("把客厅大灯打开")[1] == "好的，打开客厅大灯。"
    assert home.say("set the bedroom to 21 degrees")[1] == "Setting the bedroom thermostat to 21 degrees."


def test_a_room_and_everything_in_it(home: Home) -> None:
    intent, reply = home.say("turn off everything in the living room")
    assert set(home.sent) == {("zigbee2mqtt/living_room_light/set", '{"state": "OFF"}'),
                              ("home/living_room/floor_lamp/set", "OFF")}  # fmt: skip
    assert reply == "Turning off everything in the living room."
    home.say("把客厅的灯全部关掉")
    assert len(home.sent) == 2
    home.say("turn off everything in the entrance")  # only a lock there: never by "everything"
    assert home.sent == []
    home.say("turn off all the lights")
    assert len(home.sent) == 5 and all(t.endswith("/set") for t, _ in home.sent)


def test_locks_ask_first_and_act_on_yes_only(home: Home) -> None:
    intent, reply = home.say("unlock the front door")
    assert intent == "confirm" and reply == "Do you want me to unlock the front door? Say yes or no."
    assert home.sent == []
    assert home.say("yes") == ("device_unlock", "Unlocking the front door.")
    assert home.sent == [("home/entrance/lock/set", "UNLOCK")]
    home.say("lock the front door")
    assert home.say("no")[0] == "confirm_denied" and home.sent == []
    home.say("把前门解锁")
    assert home.say("是的")[1] == "好的，前门已解锁。" and home.sent == [("home/entrance/lock/set", "UNLOCK")]
    assert home.say("open the front door")[0] == "confirm"  # a lock opens by unlocking, asked first
    assert home.say("yes")[0] == "device_unlock" and home.sent == [("home/entrance/lock/set", "UNLOCK")]
    home.say("unlock the front door")
    home.now += 30  # the answer comes too late: the question is forgotten
    assert home.say("yes") == (None, "") and home.sent == []
    home.say("unlock the front door")
    assert home.say("what time is it")[0] == "time"  # anything else drops the question too
    assert home.say("yes")[0] is None and home.sent == []


def test_questions_are_answered_from_the_retained_state(home: Home) -> None:
    r = home.registry
    r.set_state("kitchen_light", "state", "ON")
    r.set_state("front_door", "state", "UNLOCKED")
    r.set_state("garage_door", "state", "closed")
    r.set_state("bedroom_thermostat", "current_temperature", "20.5")
    r.set_state("bedroom_thermostat", "temperature", 22)
    r.set_state("living_room_sensor", "humidity", 41)
    assert home.say("is the kitchen light on?")[1] == "Yes, the kitchen light is on."
    assert home.say("Is the kitchen light off?")[1] == "No, the kitchen light is on."
    assert home.say("is the front door locked?")[1] == "No, the front door is unlocked."
    assert home.say("is the garage door open")[1] == "No, the garage door is closed."
    assert home.say("what's the temperature in the bedroom")[1] == "It's 20.5 degrees in the bedroom."
    assert (
        home.say("what is the bedroom thermostat set to")[1] == "The bedroom thermostat is set to 22 degrees."
    )
    assert (
        home.say("what's the humidity in the living room")[1]
        == "The humidity in the living room is 41 percent."
    )
    assert home.say("卧室温度多少")[1] == "卧室现在20.5度。"
    assert home.say("厨房灯开着吗")[1] == "厨房灯开着。"
    assert home.say("前门锁了吗")[1] == "前门没锁。"
    assert home.say("is the hallway light on")[1] == "I haven't heard from the hallway light yet."
    assert home.sent == []  # questions publish nothing


def test_unknown_devices_get_a_helpful_answer(home: Home, tmp_path: Path) -> None:
    assert home.say("turn on the garden light") == (
        "device_unknown",
        "I don't know a device called garden light. Did you mean the kitchen light?",
    )
    assert home.say("turn on the sauna")[1] == "I don't know a device called sauna."
    assert home.say("打开花园的灯")[1].startswith("我不知道叫")
    empty = Home(tmp_path)
    empty.registry = DeviceRegistry()
    empty.context = SkillContext(devices=empty.registry, publish=empty._publish)
    assert empty.say("turn on the kitchen light")[1].endswith("No home devices are set up yet.")


def test_an_unreachable_broker_is_said_and_reported(tmp_path: Path) -> None:
    offline = Home(tmp_path, online=False)
    assert offline.say("turn off the kitchen light") == (
        "device_offline",
        "Sorry, I can't reach your smart home right now.",
    )
    assert [e.sent for e in offline.events.named("device_command")] == [False]  # type: ignore[attr-defined]
    no_broker = Home(tmp_path, broker=False)
    assert "Set up MQTT first" in no_broker.say("turn off the kitchen light")[1]


def test_volume_and_microphone_mute(home: Home, tmp_path: Path) -> None:
    assert home.say("volume up") == ("volume", "Volume 60 percent.")
    assert home.say("set the volume to three") == ("volume", "Volume 30 percent.")
    assert home.say("volume seventy five percent")[1] == "Volume 75 percent."
    assert home.say("音量调到五十")[1] == "音量百分之50。"
    assert home.controls.volume == 50 and abs(home.controls.gain() - 0.25) < 1e-9
    assert json.loads((tmp_path / "controls.json").read_text()) == {"volume": 50}  # remembered
    assert home.say("mute the microphone")[0] == "mute" and home.controls.muted
    assert [e.muted for e in home.events.named("controls_changed")][-1] is True  # type: ignore[attr-defined]
    restarted = Controls(ControlsSettings(volume=80), state_file=tmp_path / "controls.json")
    restarted.load()
    assert restarted.volume == 50 and not restarted.muted  # volume kept; a restart listens again


def test_timers_are_set_counted_and_cancelled(home: Home) -> None:
    assert home.say("set a timer for five minutes") == ("timer_set", "Timer set for 5 minutes.")
    assert home.say("how much time is left")[1] in ("5 minutes left.", "4 minutes and 59 seconds left.")
    assert home.say("定一个十分钟的计时器")[1] == "好的，10分钟倒计时开始。"
    assert home.say("cancel the timer")[1] == "Timer cancelled."
    assert home.timers.pending() == []
    rang = threading.Event()
    timers = TimerService(lambda timer: rang.set())
    timers.add(0.2, "a moment")
    assert rang.wait(3), "the timer did not ring"
    timers.close()
    ask_mode = SkillContext()  # `speaker ask`: no timer service
    reply = default_skills().handle("set a timer for ten minutes", ask_mode)
    assert reply is not None and reply[1].intent == "timer_unavailable"


def test_every_phrase_the_recognizer_is_biased_toward_is_understood(home: Home) -> None:
    for language in ("en", "zh"):
        phrases = grammar(home.registry, language)
        assert len(phrases) > 100
        for phrase in phrases:
            if phrase in ("yes", "no", "是的", "不要"):
                continue  # answers to a question; nothing to answer here
            home.skills = default_skills(confirm_locks=False)
            intent, reply = home.say(phrase)
            assert intent is not None and intent not in ("device_unknown", "device_ambiguous"), (
                phrase,
                reply,
            )


def test_numbers_and_durations_as_recognizers_write_them() -> None:
    assert [number_en(t) for t in ("twenty one", "one hundred", "21.5", "seventy five", "blue")] == [
        21, 100, 21.5, 75, None,
    ]  # fmt: skip
    assert [number_zh(t) for t in ("二十一", "一百", "两", "二十一点五", "十五")] == [21, 100, 2, 21.5, 15]
    assert duration_en("an hour and a half") == 5400 and duration_en("set a five minute timer") == 300
    assert duration_zh("一个半小时") == 5400 and duration_zh("一小时二十分钟") == 4800


def test_the_recognizer_follows_devices_imported_while_running(tmp_path: Path) -> None:
    from speaker.home.devices import Command, Device
    from speaker.services import Services
    from speaker.settings import load_settings

    config = tmp_path / "c.yaml"
    config.write_text(f"controls:\n  state_file: {tmp_path / 'c.json'}\n")

    class Recognizer:  # records what the real recognizers are given (see test_grammar_bias.py)
        language = "en"
        grammar: tuple[str, ...] = ()
        updated = threading.Event()

        def update_grammar(self, phrases: tuple[str, ...]) -> None:
            self.grammar = phrases
            self.updated.set()

    services = Services.from_settings(load_settings(config), EventBus())
    asr = Recognizer()
    services.attach(tts=None, sink=None, asr=asr)
    try:
        for i in range(5):  # a burst of imports: one rebuild once they stop
            on_off = {"on": Command(f"z/desk{i}/set", "ON"), "off": Command(f"z/desk{i}/set", "OFF")}
            services.registry.put_imported(
                Device(f"d{i}", f"desk lamp {i}", "light", commands=on_off, source="z2m")
            )
        assert asr.updated.wait(5)
        assert {"turn on the desk lamp zero", "turn off the desk lamp four"} <= set(asr.grammar)  # as spoken
    finally:
        services.close()


def test_closing_waits_for_a_grammar_rebuild_under_way_and_schedules_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from speaker import services as services_module
    from speaker.home.devices import Command, Device
    from speaker.services import Services
    from speaker.settings import load_settings

    monkeypatch.setattr(services_module, "GRAMMAR_DELAY_S", 0.0)
    config = tmp_path / "c.yaml"
    config.write_text(f"controls:\n  state_file: {tmp_path / 'c.json'}\n")

    class SlowRecognizer:  # a rebuild takes a while (seconds for a real recognizer)
        language = "en"
        grammar: tuple[str, ...] = ()

        def __init__(self) -> None:
            self.started = threading.Event()
            self.calls = 0
            self.finished = 0

        def update_grammar(self, phrases: tuple[str, ...]) -> None:
            self.calls += 1
            self.started.set()
            time.sleep(0.5)
            self.grammar = phrases
            self.finished += 1

    def lamp(i: int) -> Device:
        on_off = {"on": Command(f"z/lamp{i}/set", "ON"), "off": Command(f"z/lamp{i}/set", "OFF")}
        return Device(f"l{i}", f"lamp {i}", "light", commands=on_off, source="z2m")

    services = Services.from_settings(load_settings(config), EventBus())
    asr = SlowRecognizer()
    services.attach(tts=None, sink=None, asr=asr)
    services.registry.put_imported(lamp(1))
    assert asr.started.wait(5)
    services.close()
    assert asr.finished == 1  # close waited for the rebuild: nothing of it runs on afterwards
    services.registry.put_imported(lamp(2))  # a device arriving while the speaker shuts down
    time.sleep(0.3)
    assert asr.calls == 1


def test_dialog_modes_for_home_assistant_come_from_modes_yaml_when_there_is_one(tmp_path: Path) -> None:
    from speaker.mqtt.homeassistant import PRODUCT_MODES, known_modes

    assert known_modes(tmp_path) == PRODUCT_MODES  # no modes.yaml yet: the product's four
    (tmp_path / "modes.yaml").write_text("modes:\n  knowledge: {}\n  bedtime: {}\n")
    assert known_modes(tmp_path) == ("knowledge", "bedtime")
    (tmp_path / "modes.yaml").write_text("modes:\n  - {id: poetry}\n  - {id: cooking}\n")
    assert known_modes(tmp_path) == ("poetry", "cooking")
    (tmp_path / "modes.yaml").write_text("modes: [unclosed\n")
    assert known_modes(tmp_path) == PRODUCT_MODES  # unreadable: said in the log, defaults offered

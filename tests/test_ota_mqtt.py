"""Over-the-air updates through a real mosquitto, end to end.

The operator runs `speaker ota publish` while `speaker run --realtime --mqtt` answers questions; the
speaker downloads the new voice from a real HTTP server on loopback, switches to it between two
turns, and says so in Home Assistant's update entity (progress, then the new installed_version)
and on its retained status topic. The broker restarts: the speaker subscribes again. A manifest
with a bad signature is then refused, with its reason on the status topic, and nothing changes.
Then Home Assistant's Install button: an update whose download failed is retried at once.

The update is a voice (the piper joe voice as tts 2.0.0): 61 MB and a health check of about two
seconds; the language-model swap (SmolLM2 -> Gemma, seconds more) is covered by test_ota_live.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from broker import ROOT, Broker, Recorder, free_port, publish
from ota_fixtures.device import device_settings
from speech import SpeechCache, concat

from speaker.audio.wavfile import write_wav
from speaker.cli import main
from speaker.events import EventBus, EventLog
from speaker.models import ModelStore
from speaker.ota.events import OtaResult
from speaker.ota.link import MqttLink
from speaker.ota.runtime import OtaRuntime
from speaker.ota.serve import FileServer
from speaker.services import Services

pytestmark = pytest.mark.slow

DEVICE = "kitchen"
STATUS = f"speaker/ota/status/{DEVICE}"
TTS_ENTITY = f"speaker/{DEVICE}/update/tts"
VOICE_FILES = ("en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json")


@dataclasses.dataclass
class Operator:
    key: Path
    public: str
    www: Path  # the voice's files, served over HTTP

    def publish_voice(self, broker: Broker, base_url: str, *extra: str) -> None:
        """What the operator types: sign the voice's manifest, publish it retained on the broker."""
        args = ["ota", "publish", "--component", "tts", "--version", "2.0.0", "--key", str(self.key)]
        for name in VOICE_FILES:
            args += ["--file", str(self.www / name)]
        args += ["--url", base_url, "--main", VOICE_FILES[0], "--summary", "Joe, crisper", *extra]
        assert main([*args, "--broker", f"127.0.0.1:{broker.port}"]) == 0

    def altered_manifest(self, directory: Path) -> str:
        """A language-model manifest signed with the trusted key, then changed: a bad signature."""
        path = directory / "altered.json"
        assert main(["ota", "publish", "--component", "llm", "--version", "9.0.0", "--key", str(self.key),
                     "--file", str(self.www / VOICE_FILES[1]), "--url", "http://127.0.0.1:9/m.gguf",
                     "--no-publish", "--out", str(path)]) == 0  # fmt: skip
        envelope = json.loads(path.read_text())
        envelope["manifest"] = envelope["manifest"].replace("9.0.0", "9.0.1")
        return json.dumps(envelope)


@pytest.fixture(scope="module")
def operator(store: ModelStore, tmp_path_factory: pytest.TempPathFactory) -> Operator:
    tmp = tmp_path_factory.mktemp("operator")
    key = tmp / "ops.key"
    assert main(["ota", "keygen", "--out", str(key)]) == 0
    voice = store.require("piper-en-us-joe-medium")
    (tmp / "www").mkdir()
    for name in VOICE_FILES:
        (tmp / "www" / name).hardlink_to(voice.file(name))
    return Operator(key, key.with_name("ops.key.pub").read_text().strip(), tmp / "www")


def json_messages(recorder: Recorder, topic: str, after: int = 0) -> list[dict]:
    with recorder._cond:
        messages = list(recorder.messages[after:])
    return [json.loads(p) for t, p, *_ in messages if t == topic and p]


class RunningSpeaker:
    """`speaker run --realtime --mqtt` in its own process, answering the questions in a WAV file."""

    def __init__(self, config: Path, wav: Path, broker: Broker, directory: Path) -> None:
        self.log = directory / "events.jsonl"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "speaker", "--config", str(config), "run", "--input", str(wav),
             "--realtime", "--mqtt", broker.url, "--output", str(directory / "replies.wav"),
             "--events", str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        self.stderr = ""

    def events(self, name: str | None = None) -> list[dict]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        every = [json.loads(line) for line in lines if line.endswith("}")]
        return [e for e in every if name is None or e["event"] == name]

    def wait(self, what: Callable[[], Any], describe: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := what():
                return value
            if self.proc.poll() is not None:
                raise AssertionError(f"{describe}: the speaker exited ({self.proc.returncode}) first")
            time.sleep(0.1)
        raise AssertionError(f"{describe}: not within {timeout} s")

    def stop(self) -> int:
        """SIGTERM, as systemd stops it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.stderr = self.proc.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stderr = self.proc.communicate()[1]
        return self.proc.returncode


def test_an_update_published_on_the_broker_switches_the_running_speaker_and_shows_in_home_assistant(
    operator: Operator, speech_dir: Path, tmp_path: Path
) -> None:
    say = SpeechCache(speech_dir).piper
    question = "Hey computer, what time is it?"  # answered by a local skill: the turns stay short
    # One every ~13 s: after each reply the follow-up window (6 s) ends and the speaker is idle, the
    # moment a new model is switched in. The speaker is stopped once everything is seen.
    wav = tmp_path / "questions.wav"
    write_wav(wav, concat(say(question, lead=0.3, trail=11.0), *[say(question, lead=0.0, trail=11.0)] * 9))
    config = tmp_path / "speaker.yaml"
    config.write_text(
        f"ota:\n  dir: {tmp_path / 'ota'}\n  trusted_keys:\n    - {operator.public}\n  trial_turns: 1\n"
        f"mqtt:\n  device_id: {DEVICE}\n  reconnect_max_s: 2\n"
        f"controls:\n  state_file: {tmp_path / 'controls.json'}\n",
        encoding="utf-8",
    )

    def refused(after: int) -> list[dict]:
        return [s for s in json_messages(recorder, STATUS, after) if s["last"]["result"] == "refused"]

    def tts_result(result: str) -> bool:
        return any(e["component"] == "tts" and e["result"] == result for e in speaker.events("ota_result"))

    with Broker(tmp_path) as broker, FileServer(operator.www, "127.0.0.1", 0) as http:
        recorder = Recorder(broker.port, ("speaker/#",))
        speaker = RunningSpeaker(config, wav, broker, tmp_path)
        try:
            speaker.wait(lambda: speaker.events("ready"), "the speaker listening", 120)
            recorder.wait_for(STATUS, timeout=20)  # connected and subscribed: it said where it stands
            # published once the first question woke it, so that the update runs during that turn
            # (published earlier, a quick install could end before the wake: no overlap to see)
            speaker.wait(lambda: speaker.events("wake"), "the first wake", 60)
            operator.publish_voice(broker, http.url(""))
            speaker.wait(lambda: tts_result("confirmed"), "the new voice switched in and confirmed", 120)

            # The broker restarts (nothing retained): the speaker reconnects, subscribes, reports again.
            broker.stop()
            mark = recorder.mark()
            broker.start()
            recorder.wait_for(f"speaker/{DEVICE}/availability", b"online", timeout=30, after=mark)
            recorder.wait_for(STATUS, timeout=10, after=mark)
            recorder.wait_for(TTS_ENTITY, timeout=10, after=mark)

            # A manifest altered after signing, on this speaker's own topic: refused, and said why.
            mark = recorder.mark()
            publish(broker.port, [(f"speaker/ota/device/{DEVICE}/llm", operator.altered_manifest(tmp_path))])
            speaker.wait(
                lambda: [
                    s for s in json_messages(recorder, STATUS, mark) if s["last"]["result"] == "refused"
                ],
                "the refusal on the status topic",
                20,
            )
        except AssertionError as exc:
            speaker.stop()
            raise AssertionError(f"{exc}\n{speaker.stderr[-4000:]}") from None
        finally:
            code = speaker.stop()
            recorder.close()
        late = Recorder(broker.port, (STATUS, TTS_ENTITY))  # what Home Assistant finds when it starts
        retained = {topic: json.loads(late.wait_for(topic)) for topic in (STATUS, TTS_ENTITY)}
        late.close()

    assert code == 0 and "Traceback" not in speaker.stderr, speaker.stderr[-4000:]

    # The voice loop kept answering: a turn overlapped the update, and turns came after the switch.
    wakes, done = speaker.events("wake"), speaker.events("turn_done")
    assert len(done) >= 2 and all(d["reply"].startswith("It's") for d in done), [d["reply"] for d in done]
    results = [e for e in speaker.events("ota_result") if e["component"] == "tts"]
    assert [r["result"] for r in results] == ["installed", "switched", "confirmed"], results
    installed, switched = results[0]["wall"], results[1]["wall"]
    first_progress = speaker.events("ota_progress")[0]["wall"]
    assert first_progress < done[0]["wall"] and installed > wakes[0]["wall"], "no turn while it updated"
    for wake, turn in zip(wakes, done, strict=False):  # the switch is never inside a turn
        assert not wake["wall"] <= switched <= turn["wall"], (wake["wall"], switched, turn["wall"])
    ended = [e["wall"] for e in speaker.events("no_speech") if e["wall"] > done[0]["wall"]]
    assert speaker.events("follow_up") and ended[0] <= switched, "switched inside the follow-up window"
    assert any(d["wall"] > switched for d in done), "no turn answered with the new voice"

    # Home Assistant's update entity: in progress with rising percentages, then the new version.
    entity = [s for s in json_messages(recorder, TTS_ENTITY) if s["latest_version"] == "2.0.0"]
    running = [s for s in entity if s["in_progress"]]
    percent = [s["update_percentage"] for s in running]
    assert len(running) >= 5 and running[0]["installed_version"] == "1.0.0", entity
    assert percent == sorted(percent) and percent[0] < 10 and percent[-1] >= 90, percent
    # in progress from the announcement to the switch between turns (installed on disk just before)
    busy = [i for i, s in enumerate(entity) if s["in_progress"]]
    assert busy == list(range(busy[0], busy[-1] + 1)), entity
    for final in (entity[-1], retained[TTS_ENTITY]):
        assert (final["installed_version"], final["in_progress"]) == ("2.0.0", False), final
        assert (final["update_percentage"], final["release_summary"]) == (None, "Joe, crisper"), final

    # The retained status: the new voice in slot a; the altered manifest refused, the LLM untouched.
    status = retained[STATUS]
    tts, llm = status["components"]["tts"], status["components"]["llm"]
    assert (status["device"], tts["active"], tts["installed_version"]) == (DEVICE, "a", "2.0.0")
    assert tts["last_result"] == "confirmed"
    assert (llm["active"], llm["last_result"], llm["pending"]) == ("factory", "refused", None)
    assert "altered after signing" in llm["last_reason"]
    assert (status["last"]["component"], status["last"]["code"]) == ("llm", "ota_bad_signature")


def test_install_in_home_assistant_retries_an_update_whose_download_failed_at_once(
    operator: Operator, store: ModelStore, tmp_path: Path
) -> None:
    """Only ota.device_id is set here: it names the speaker's MQTT topics too (one id per speaker)."""
    port = free_port()  # the file server is not up yet: the download fails, the update waits
    base = device_settings(tmp_path / "ota", operator.public)  # ota.device_id: test-speaker
    with Broker(tmp_path) as broker:
        settings = dataclasses.replace(
            base,
            mqtt=dataclasses.replace(base.mqtt, url=broker.url),
            controls=dataclasses.replace(base.controls, state_file=tmp_path / "controls.json"),
        )
        root = "speaker/test-speaker"
        recorder = Recorder(broker.port, ("speaker/#", "homeassistant/update/#"))
        bus, log = EventBus(), EventLog()
        bus.subscribe(log)
        services = Services.from_settings(settings, bus)
        ota = OtaRuntime(settings, store, bus, retry_delay=0.05)
        ota.retry_first = 600.0  # the retry by itself would come far too late for this test
        ota.open()
        ota.attach(None)
        services.start()
        link = MqttLink(ota, services.mqtt, services.bridge, settings)
        link.start()

        def result(component: str, what: str) -> list[OtaResult]:
            return [
                e
                for e in log.events
                if isinstance(e, OtaResult) and (e.component, e.result) == (component, what)
            ]

        def wait(check: Callable[[], Any], describe: str, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while not check():
                assert time.monotonic() < deadline, f"{describe}: not within {timeout} s"
                time.sleep(0.05)

        try:
            recorder.wait_for("speaker/ota/status/test-speaker", timeout=20)
            config = json.loads(recorder.wait_for("homeassistant/update/test-speaker/model_tts/config"))
            assert (config["command_topic"], config["payload_install"]) == (
                f"{root}/update/tts/install",
                "install",
            )
            operator.publish_voice(broker, f"http://127.0.0.1:{port}/")
            wait(lambda: result("tts", "failed"), "the failed download", 30)
            assert result("tts", "failed")[0].code == "ota_download"
            waiting = json_messages(recorder, f"{root}/update/tts")[-1]  # Home Assistant offers Install
            assert (waiting["installed_version"], waiting["latest_version"], waiting["in_progress"]) == (
                "1.0.0", "2.0.0", False,
            )  # fmt: skip

            publish(broker.port, [(f"{root}/update/llm/install", "install")])  # nothing waits there
            with FileServer(operator.www, "127.0.0.1", port):
                publish(broker.port, [(f"{root}/update/tts/install", "install")])
                wait(lambda: result("tts", "installed"), "the update after Install", 60)
        finally:
            link.close()
            ota.close()
            services.close()
            recorder.close()
    assert not [e for e in log.events if isinstance(e, OtaResult) and e.component == "llm"]
    final = json_messages(recorder, f"{root}/update/tts")[-1]
    assert (final["installed_version"], final["latest_version"], final["in_progress"]) == (
        "2.0.0",
        "2.0.0",
        False,
    )
    cs = ota.slots.component("tts")
    assert (cs.active, cs.pending, cs.last_result) == ("a", None, "installed")

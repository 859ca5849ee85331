"""Home devices end to end: spoken and typed commands through the real speaker and a real broker.

`speaker run --input` with piper's voice, `speaker ask` in Chinese, and a real-time run during
which the broker goes away and comes back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from broker import ROOT, Broker, Recorder, publish
from speech import SpeechCache

from speaker.audio.chunk import AudioChunk
from speaker.audio.wavfile import write_wav
from speaker.cli import main
from speaker.speechgen import concat

pytestmark = pytest.mark.slow

DEVICES = Path(__file__).resolve().parent / "data" / "devices.yaml"
COMMAND_TOPICS = ("home/#", "zigbee2mqtt/#")  # where the test home's devices listen


@pytest.fixture(scope="module")
def speech(speech_dir: Path) -> SpeechCache:
    return SpeechCache(speech_dir)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Broker:
    with Broker(tmp_path_factory.mktemp("e2e-broker")) as b:
        yield b  # type: ignore[misc]


def config(tmp_path: Path, device: str, extra: str = "") -> Path:
    path = tmp_path / "speaker.yaml"
    path.write_text(
        f"mqtt:\n  device_id: {device}\n  reconnect_max_s: 2\n{extra}"
        f"home:\n  devices_file: {DEVICES}\ncontrols:\n  state_file: {tmp_path / 'controls.json'}\n",
        encoding="utf-8",
    )
    return path


def commands(recorder: Recorder) -> list[tuple[str, bytes]]:
    """Messages the devices received (not the speaker's own topics)."""
    return [
        (t, p)
        for t, p, *_ in recorder.messages
        if t.startswith(("home/", "zigbee2mqtt/")) and t.endswith("/set")
    ]


def events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_a_spoken_command_publishes_exactly_the_device_message(
    speech: SpeechCache, broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = tmp_path / "command.wav"
    write_wav(wav, speech.piper("Hey computer, turn off the kitchen light.", lead=1.0, trail=2.5))
    recorder = Recorder(broker.port, COMMAND_TOPICS)
    recorder.connected.wait(5)
    log = tmp_path / "events.jsonl"
    settings = str(config(tmp_path, "spoken"))
    code = main(["--config", settings, "run", "--input", str(wav), "--mqtt", broker.url,
                 "--output", str(tmp_path / "reply.wav"), "--events", str(log)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    time.sleep(0.3)
    recorder.close()
    assert commands(recorder) == [("home/kitchen/light/set", b"OFF")]
    by_name = {e["event"]: e for e in events(log)}
    assert by_name["transcript"]["text"] == "turn off the kitchen light"
    assert by_name["intent"]["intent"] == "device_off" and "llm_first_token" not in by_name
    assert by_name["device_command"]["sent"] is True
    assert by_name["turn_done"]["reply"] == "Turning off the kitchen light."


def test_a_chinese_command_typed_to_speaker_ask(broker: Broker, tmp_path: Path) -> None:
    recorder = Recorder(broker.port, COMMAND_TOPICS)
    recorder.connected.wait(5)
    proc = subprocess.run(
        [sys.executable, "-m", "speaker", "--config", str(config(tmp_path, "ask")), "ask", "把客厅的灯打开",
         "--mqtt", broker.url, "--output", str(tmp_path / "reply.wav")],
        capture_output=True, text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "好的，打开客厅的灯。"
    time.sleep(0.3)
    recorder.close()
    assert commands(recorder) == [("zigbee2mqtt/living_room_light/set", b'{"state": "ON"}')]


def test_broker_restart_mid_run_reconnects_and_keeps_answering_by_voice(
    speech: SpeechCache, broker: Broker, tmp_path: Path
) -> None:
    say = speech.piper
    silence = AudioChunk(16000, 2, 1, bytes(2 * 16000))  # 1 s
    wav = tmp_path / "long.wav"
    write_wav(
        wav,
        concat(
            say("Hey computer, turn on the kitchen light.", lead=1.0, trail=3.5),
            say("Hey computer, what time is it?", lead=0.5, trail=3.5),  # the broker is down by now
            say("Hey computer, turn off the kitchen light.", lead=0.5, trail=3.5),  # still down
            *[silence] * 10,  # the broker comes back; the speaker reconnects and announces itself
            say("Hey computer, turn off the kitchen light.", lead=0.5, trail=3.5),
        ),
    )
    log = tmp_path / "events.jsonl"
    recorder = Recorder(
        broker.port, (*COMMAND_TOPICS, "speaker/restart/availability", "homeassistant/+/restart/+/config")
    )
    recorder.connected.wait(5)
    settings = str(config(tmp_path, "restart"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "speaker", "--config", settings, "run", "--input", str(wav), "--realtime",
         "--mqtt", broker.url, "--output", str(tmp_path / "replies.wav"), "--events", str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip

    def replies() -> list[str]:
        return [e["reply"] for e in events(log) if e["event"] == "turn_done"]

    def wait_for_reply(check: object, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(check(r) for r in replies()):  # type: ignore[operator]
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError(
                    f"no reply {what}; replies: {replies()}\n{proc.communicate()[1][-3000:]}"
                )
            time.sleep(0.1)

    offline = "Sorry, I can't reach your smart home right now."
    try:
        recorder.wait_for("home/kitchen/light/set", b"ON", timeout=90)
        broker.stop()
        stopped_at = time.monotonic()
        wait_for_reply(lambda r: r.startswith("It's"), "to the time question while the broker is down")
        wait_for_reply(lambda r: r == offline, "saying the smart home is out of reach")
        assert any(e["event"] == "mqtt_disconnected" for e in events(log))
        mark = recorder.mark()
        broker.start()  # same port, nothing retained
        try:
            recorder.wait_for("speaker/restart/availability", b"online", timeout=20, after=mark)
            recorder.wait_for("homeassistant/number/restart/volume/config", timeout=10, after=mark)  # again
        except AssertionError as exc:
            proc.kill()
            raise AssertionError(f"{exc}\nexit {proc.poll()}\n{proc.communicate()[1][-4000:]}") from None
        # Bad messages while it runs: logged and ignored, the speaker carries on.
        junk = [b"{not json", b"x" * (1024 * 1024), b'{"state": {"deep": [1]}}', b"\xff\xfe"]
        topics = ["speaker/restart/volume/set", "speaker/restart/mute/set", "speaker/restart/mode/set",
                  "homeassistant/status", "homeassistant/light/x/y/config", "zigbee2mqtt/bridge/devices",
                  "home/kitchen/light/state", "home/bedroom/thermostat/current"]  # fmt: skip
        publish(broker.port, [(t, p) for t in topics for p in junk])
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    recorder.close()
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    assert commands(recorder) == [("home/kitchen/light/set", b"ON"), ("home/kitchen/light/set", b"OFF")]
    assert replies()[-1] == "Turning off the kitchen light."  # after the reconnection
    assert len([e for e in events(log) if e["event"] == "mqtt_connected"]) == 2  # at start, after restart
    assert "lost the connection" in err and "ignored a 1048576-byte message" in err
    assert time.monotonic() - stopped_at > 5  # the broker really was away for a while

#!/usr/bin/env python3
"""Home-command benchmark: spoken commands through the real loop, in real time, to a real broker.

For each command ("Hey computer. Turn off the kitchen light."), measures the time from the
endpoint decision (the loop decides the user stopped speaking) and from the end of speech (the
last voiced frame) to the moment the device's MQTT message reaches a subscriber on the broker.
Starts its own mosquitto on a free port and uses config/devices.example.yaml.

    speaker bench mqtt [--commands 24] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from speaker.app import build_speaker
from speaker.audio.sinks import NullSink
from speaker.audio.sources import WavFileSource
from speaker.audio.wavfile import write_wav
from speaker.events import EventLog
from speaker.pipeline.loop import run_on
from speaker.settings import default_config_dir, load_settings
from speaker.speechgen import PiperSpeech, pad

# (what is said, the first message the device must get)
COMMANDS = [
    ("Turn off the kitchen light.", ("home/kitchen/light/set", "OFF")),
    ("Turn on the kitchen light.", ("home/kitchen/light/set", "ON")),
    ("Turn on the living room light.", ("zigbee2mqtt/living_room_light/set", '{"state": "ON"}')),
    ("Turn off the living room light.", ("zigbee2mqtt/living_room_light/set", '{"state": "OFF"}')),
    ("Turn on the floor lamp.", ("home/living_room/floor_lamp/set", "ON")),
    ("Turn off the floor lamp.", ("home/living_room/floor_lamp/set", "OFF")),
    ("Turn on the bedroom lamp.", ("home/bedroom/lamp/set", "ON")),
    ("Turn off the bedroom lamp.", ("home/bedroom/lamp/set", "OFF")),
    ("Turn on the hallway light.", ("home/hallway/light/set", "ON")),
    ("Turn off the hallway light.", ("home/hallway/light/set", "OFF")),
    ("Turn on the coffee machine.", ("home/kitchen/coffee/set", "ON")),
    ("Turn off the coffee machine.", ("home/kitchen/coffee/set", "OFF")),
    ("Set the kitchen light to fifty percent.", ("home/kitchen/light/brightness/set", "128")),
    ("Set the kitchen light to twenty percent.", ("home/kitchen/light/brightness/set", "51")),
    ("Set the bedroom to twenty one degrees.", ("home/bedroom/thermostat/target/set", "21")),
    ("Set the bedroom thermostat to nineteen degrees.", ("home/bedroom/thermostat/target/set", "19")),
    ("Open the garage door.", ("home/garage/door/set", "OPEN")),
    ("Close the garage door.", ("home/garage/door/set", "CLOSE")),
    ("Turn off everything in the living room.", ("zigbee2mqtt/living_room_light/set", '{"state": "OFF"}')),
    ("Turn on the bedroom heating.", ("home/bedroom/thermostat/mode/set", "heat")),
    ("Switch off the kitchen light.", ("home/kitchen/light/set", "OFF")),
    ("Turn the hallway light on.", ("home/hallway/light/set", "ON")),
    ("Dim the kitchen light.", ("home/kitchen/light/brightness/set", "76")),
    ("Turn off the bedroom heating.", ("home/bedroom/thermostat/mode/set", "off")),
]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def start_broker(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        sys.exit("mosquitto is not installed: sudo apt-get install -y mosquitto")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = work / "mosquitto.conf"
    conf.write_text(f"user root\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    sys.exit("mosquitto did not start")


class Subscriber:
    """Records every device command the broker delivers, with time.monotonic() of arrival."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, str, float]] = []
        self.ready = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-subscriber")
        self.client.on_connect = lambda c, u, f, r, p: (c.subscribe([("home/#", 0), ("zigbee2mqtt/#", 0)]),
                                                        self.ready.set())  # fmt: skip
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        if msg.topic.endswith("/set"):
            self.messages.append((msg.topic, msg.payload.decode("utf-8", "replace"), time.monotonic()))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=len(COMMANDS), help="spoken commands (default 24)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--config", help="settings file merged over the defaults")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="speaker-bench-mqtt-"))
    broker, port = start_broker(work)
    try:
        settings = load_settings(args.config)
        settings = dataclasses.replace(
            settings,
            mqtt=dataclasses.replace(settings.mqtt, url=f"mqtt://127.0.0.1:{port}", device_id="bench"),
            home=dataclasses.replace(
                settings.home, devices_file=default_config_dir() / "devices.example.yaml"
            ),
            controls=dataclasses.replace(settings.controls, state_file=work / "controls.json"),
        )
        speaker = build_speaker(settings, NullSink(), listen=True)
        assert speaker.loop is not None
        speaker.services.wait_ready(10)
        log = EventLog()
        speaker.bus.subscribe(log)
        subscriber = Subscriber(port)
        subscriber.ready.wait(5)
        voice = PiperSpeech(speaker.store.require(settings.tts.voice).main)
        chosen = [COMMANDS[i % len(COMMANDS)] for i in range(args.commands)]
        print(
            f"speaker bench mqtt: {len(chosen)} spoken commands in real time, broker on port {port}",
            flush=True,
        )
        rows: list[dict[str, Any]] = []
        for i, (text, expected) in enumerate(chosen):
            wav = work / f"c{i}.wav"
            write_wav(wav, pad(voice.say(f"Hey computer. {text}"), lead=0.6, trail=1.2))
            start_event, start_msg = len(log.events), len(subscriber.messages)
            run_on(speaker.loop, WavFileSource(wav, realtime=True))
            time.sleep(0.2)  # a message in flight arrives
            turn = {e.name: e for e in log.events[start_event:]}
            got = subscriber.messages[start_msg:]
            heard = getattr(turn.get("transcript"), "text", "")
            if "speech_end" not in turn or not got:
                print(f"  {i + 1:>2}: no command published (heard {heard!r})", flush=True)
                rows.append({"said": text, "heard": heard, "ok": False})
                continue
            end = turn["speech_end"]
            arrived = speaker.bus.clock.to_wall(got[0][2])
            ok = (got[0][0], got[0][1]) == expected
            row = {
                "said": text, "heard": heard, "ok": ok, "topic": got[0][0], "payload": got[0][1],
                "endpoint_to_published": arrived - end.wall,  # type: ignore[attr-defined]
                "speech_end_to_published": arrived - end.last_voiced_wall,  # type: ignore[attr-defined]
            }  # fmt: skip
            rows.append(row)
            print(
                f"  {i + 1:>2}: {1000 * row['endpoint_to_published']:5.0f} ms after the endpoint, "
                f"{1000 * row['speech_end_to_published']:5.0f} ms after speech  {'ok ' if ok else 'WRONG'} "
                f"{heard!r} -> {got[0][0]} {got[0][1]}",
                flush=True,
            )
        speaker.close()
    finally:
        broker.terminate()
        broker.wait()
    timed = [r for r in rows if "endpoint_to_published" in r]
    endpoint = [r["endpoint_to_published"] for r in timed]
    speech_end = [r["speech_end_to_published"] for r in timed]
    p50 = percentile(endpoint, 50)
    print()
    print("latency (spoken command -> device message on the broker, real time)")
    p95 = percentile(endpoint, 95)
    n = len(endpoint)
    print(f"  endpoint decision -> published   p50 {1000 * p50:6.0f} ms   p95 {1000 * p95:6.0f} ms   (n={n})")
    s50, s95 = percentile(speech_end, 50), percentile(speech_end, 95)
    print(f"  end of speech -> published       p50 {1000 * s50:6.0f} ms   p95 {1000 * s95:6.0f} ms   "
          "(includes the trailing silence the endpoint waits for)")  # fmt: skip
    print(f"  commands published right         {sum(r['ok'] for r in rows)} of {len(rows)}")
    print("targets")
    met = len(endpoint) >= 20 and p50 <= 0.150
    print(f"  [{'met' if met else 'MISSED'}] endpoint -> MQTT command p50 <= 150 ms over >= 20 commands")
    if args.json:
        args.json.write_text(json.dumps({"commands": rows}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

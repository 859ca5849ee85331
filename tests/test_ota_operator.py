"""The operator's side with real parts: `speaker ota keygen | publish | serve` against a real mosquitto
and real HTTP; a speaker subscribed the way the MQTT service will be receives the retained manifest
and hands it to handle_manifest, which installs the voice."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from broker import Broker as LocalBroker
from ota_fixtures.device import device_settings

from speaker.cli import main
from speaker.events import EventBus, EventLog
from speaker.models import ModelStore
from speaker.ota.events import OtaResult
from speaker.ota.health import child_environment
from speaker.ota.publish import Broker, OperatorClient, retained_serial
from speaker.ota.runtime import OtaRuntime
from speaker.ota.serve import FileServer
from speaker.ota.topics import manifest_subscriptions, manifest_topic

pytestmark = pytest.mark.slow


def address(broker: LocalBroker) -> str:
    return f"127.0.0.1:{broker.port}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    server = LocalBroker(tmp_path_factory.mktemp("mosquitto")).start()
    yield server
    server.stop()


def retained(broker: LocalBroker, topic: str) -> bytes | None:
    with OperatorClient(Broker.parse(address(broker))) as client:
        return client.retained(topic)


class Subscriber:
    """What the MQTT service does for updates: subscribe in on_connect, forward to handle_manifest."""

    def __init__(self, broker: LocalBroker, topics: list[str], handle: Any) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-speaker")
        self.client.on_connect = lambda c, *_: [c.subscribe(t, qos=1) for t in topics]
        self.client.on_message = lambda _c, _u, m: handle(m.payload, m.topic)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_voice_published_on_the_broker_is_installed_by_the_speaker(
    broker: LocalBroker, store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "ops.key"
    assert main(["ota", "keygen", "--out", str(key)]) == 0
    public = key.with_name("ops.key.pub").read_text().strip()
    assert public in capsys.readouterr().out  # the line to paste into the speakers' config
    voice = store.require("piper-en-us-joe-medium")
    www = tmp_path / "www"
    www.mkdir()
    for f in voice.files:
        (www / f.path).hardlink_to(voice.file(f.path))
    with FileServer(www, "127.0.0.1", 0) as http:
        args = ["ota", "publish", "--component", "tts", "--version", "2.0.0", "--key", str(key)]
        args += [
            "--file",
            str(www / "en_US-joe-medium.onnx"),
            "--file",
            str(www / "en_US-joe-medium.onnx.json"),
        ]
        args += ["--url", http.url(""), "--main", "en_US-joe-medium.onnx", "--summary", "Joe, again"]
        assert main([*args, "--broker", address(broker)]) == 0
        assert "retained on speaker/ota/fleet/tts" in capsys.readouterr().out

        # the speaker connects afterwards: the retained manifest reaches it
        settings = device_settings(tmp_path / "ota", public)
        bus, log = EventBus(), EventLog()
        bus.subscribe(log)
        runtime = OtaRuntime(settings, store, bus)
        runtime.open()
        runtime.attach(None)
        subscriber = Subscriber(
            broker, manifest_subscriptions("speaker/ota", "test-speaker"), runtime.handle_manifest
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not [e for e in log.events if isinstance(e, OtaResult)]:
                time.sleep(0.1)
        finally:
            subscriber.close()
            runtime.close()
    results = [e for e in log.events if isinstance(e, OtaResult)]
    assert [(r.component, r.version, r.result) for r in results] == [("tts", "2.0.0", "installed")], results
    cs = runtime.slots.component("tts")
    assert (cs.active, cs.record("a").version, cs.summary) == ("a", "2.0.0", "Joe, again")
    assert {f.path for f in cs.record("a").files} == {"en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json"}


def test_publish_chooses_a_serial_above_the_retained_one_and_targets_devices(
    broker: LocalBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "ops.key"
    main(["ota", "keygen", "--out", str(key)])
    model = tmp_path / "model.gguf"
    model.write_bytes(b"a model" * 1000)
    base = ["ota", "publish", "--component", "wake", "--file", str(model), "--url", "http://10.0.0.2/m.gguf"]
    base += ["--key", str(key), "--broker", address(broker), "--device", "kitchen"]
    assert main([*base, "--version", "1.0.0", "--serial", str(10**15)]) == 0
    assert main([*base, "--version", "1.0.1", "--out", str(tmp_path / "m.json")]) == 0
    topic = manifest_topic("speaker/ota", "wake", "kitchen")
    assert retained_serial(retained(broker, topic)) == 10**15 + 1
    assert retained(broker, manifest_topic("speaker/ota", "wake")) is None  # not on the fleet topic
    envelope = json.loads((tmp_path / "m.json").read_text())
    assert json.loads(envelope["manifest"])["device"] == "kitchen"
    capsys.readouterr()


def test_publish_explains_a_missing_broker_a_missing_key_and_bad_urls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "ops.key"
    main(["ota", "keygen", "--out", str(key)])
    model = tmp_path / "m.bin"
    model.write_bytes(b"x")
    base = ["ota", "publish", "--component", "llm", "--version", "1.0", "--file", str(model)]
    capsys.readouterr()
    assert main([*base, "--url", "http://h/m.bin", "--key", str(key), "--broker", "127.0.0.1:1"]) == 2
    assert "cannot reach the MQTT broker at 127.0.0.1:1" in capsys.readouterr().err
    assert main([*base, "--url", "http://h/m.bin", "--key", str(tmp_path / "nokey")]) == 2
    assert "speaker ota keygen" in capsys.readouterr().err
    assert main([*base, "--url", "ftp://h/m.bin", "--key", str(key), "--no-publish", "--out", "x"]) == 2
    assert "http" in capsys.readouterr().err
    assert main([*base, "--url", "http://a/", "--url", "http://b/", "--key", str(key)]) == 2
    assert "1 file(s) but 2 URL(s)" in capsys.readouterr().err


def test_serve_answers_ranges_and_nothing_outside_its_folder(tmp_path: Path) -> None:
    www = tmp_path / "www"
    (www / "sub").mkdir(parents=True)
    data = bytes(range(256)) * 4000
    (www / "sub" / "model.bin").write_bytes(data)
    (www / ".secret").write_text("no")
    (tmp_path / "outside.txt").write_text("no")
    process = subprocess.Popen(
        [sys.executable, "-m", "speaker", "ota", "serve", str(www), "--port", "0", "--bind", "127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=child_environment(),
    )  # fmt: skip
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert "serving 2 file(s)" in line, line
        base = line.split(" at ")[1].split()[0]

        def get(path: str, range_header: str | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
            request = urllib.request.Request(base + path, method=method)
            if range_header:
                request.add_header("Range", range_header)
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status, dict(response.headers), response.read()
            except urllib.error.HTTPError as exc:
                return exc.code, dict(exc.headers), b""

        status, headers, body = get("sub/model.bin")
        assert (status, body, headers["Accept-Ranges"]) == (200, data, "bytes")
        status, headers, body = get("sub/model.bin", "bytes=1000-")
        assert (status, body, headers["Content-Range"]) == (
            206,
            data[1000:],
            f"bytes 1000-{len(data) - 1}/{len(data)}",
        )
        assert get("sub/model.bin", "bytes=10-19")[2] == data[10:20]
        assert get("sub/model.bin", "bytes=-5")[2] == data[-5:]
        assert get("sub/model.bin", f"bytes={len(data)}-")[0] == 416
        status, headers, body = get("sub/model.bin", method="HEAD")
        assert (status, headers["Content-Length"], body) == (200, str(len(data)), b"")
        for bad in (".secret", "../outside.txt", "sub/../../outside.txt", "sub", "missing"):
            assert get(bad)[0] == 404, bad
    finally:
        process.terminate()
        process.wait(5)


def test_serve_says_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ota", "serve", str(tmp_path / "nowhere")]) == 2
    assert "not a directory" in capsys.readouterr().err

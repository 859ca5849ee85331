"""The MQTT service against a real mosquitto: background connect, reconnect, last will, TLS, auth."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from broker import ROOT, Broker, Recorder, make_certificates, password_file, publish

from speaker.mqtt.client import MqttService, PayloadError
from speaker.mqtt.connection import Connection


def service(port: int, device: str = "t", **kw: object) -> MqttService:
    conn = Connection("127.0.0.1", port, device_id=device, client_id=f"speaker-{device}", **kw)  # type: ignore[arg-type]
    return MqttService(conn, reconnect=(1.0, 1.0))


def wait_until(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_unreachable_broker_is_logged_and_retried_without_blocking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = Broker(tmp_path)  # not started yet
    svc = service(broker.port)
    got: list[bytes] = []
    svc.subscribe("lights/#", lambda payload, topic: got.append(payload))
    with caplog.at_level(logging.WARNING, logger="speaker.mqtt"):
        started = time.monotonic()
        svc.start()
        assert time.monotonic() - started < 0.5  # start() never waits for the broker
        assert wait_until(lambda: "cannot connect" in caplog.text, 5)
    assert "Connection refused" in caplog.text and "keeps answering by voice" in caplog.text
    assert not svc.connected and not svc.publish("x", "y")  # offline: nothing queued, False
    broker.start()
    try:
        assert svc.wait_connected(10), "did not connect once the broker came up"
        publish(broker.port, [("lights/kitchen", "on")])
        assert wait_until(lambda: got == [b"on"])
    finally:
        svc.stop()
        broker.stop()


def test_handlers_run_on_the_service_thread_and_bad_messages_are_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str]] = []

    def handler(payload: bytes, topic: str) -> None:
        if payload == b"bad":
            raise PayloadError("not a state")
        if payload == b"boom":
            raise RuntimeError("bug in a handler")
        seen.append((threading.current_thread().name, payload.decode()))

    with Broker(tmp_path) as broker:
        svc = service(broker.port)
        svc.max_payload_bytes = 1000
        svc.subscribe("t/+", handler)
        svc.start()
        try:
            assert svc.wait_connected(10)
            with caplog.at_level(logging.WARNING, logger="speaker.mqtt"):
                publish(broker.port, [("t/a", "bad"), ("t/a", "boom"), ("t/a", b"x" * 5000), ("t/a", "good")])
                assert wait_until(lambda: seen)
            assert seen == [("mqtt-work", "good")]  # never paho's network thread
            assert "ignored a message on t/a: not a state" in caplog.text
            assert "the handler for t/a failed" in caplog.text
            assert "ignored a 5000-byte message on t/a (limit 1000 bytes)" in caplog.text
        finally:
            svc.stop()


def test_quiet_means_every_message_was_handled_not_only_received(tmp_path: Path) -> None:
    started = threading.Event()
    handled: list[float] = []

    def slow(payload: bytes, topic: str) -> None:
        started.set()
        time.sleep(1.0 if payload == b"1" else 0.4)  # the first one alone outlasts the quiet window
        handled.append(time.monotonic())

    with Broker(tmp_path) as broker:
        svc = service(broker.port)
        svc.subscribe("t/+", slow)
        svc.start()
        try:
            assert svc.wait_connected(10)
            publish(broker.port, [("t/a", "1"), ("t/a", "2"), ("t/a", "3")])
            assert started.wait(5)
            seen = []
            while not handled and len(seen) < 40:  # while the first is handled: never quiet
                seen.append(svc.quiet_for())
                time.sleep(0.02)
            assert max(seen) < 0.5, max(seen)
            # and after the last message arrived, not until the burst has been worked through
            assert wait_until(lambda: svc.quiet_for() > 0.5)
            assert len(handled) == 3 and time.monotonic() - handled[-1] > 0.5
        finally:
            svc.stop()


def test_reconnects_restores_subscriptions_and_announces_again(tmp_path: Path) -> None:
    with Broker(tmp_path) as broker:
        svc = service(broker.port)
        got: list[bytes] = []
        announced: list[float] = []
        svc.subscribe("cmd/#", lambda payload, topic: got.append(payload))
        svc.on_connected(lambda: announced.append(time.monotonic()))
        svc.start()
        try:
            assert svc.wait_connected(10)
            assert wait_until(lambda: len(announced) == 1)
            broker.stop()
            assert wait_until(lambda: not svc.connected, 5)
            broker.start()
            assert svc.wait_connected(15), "no reconnect after the broker came back"
            assert wait_until(lambda: len(announced) == 2)  # on-connect work runs again
            recorder = Recorder(broker.port, ("speaker/t/availability",))
            try:
                assert recorder.wait_for("speaker/t/availability", b"online")  # retained, re-sent
            finally:
                recorder.close()
            publish(broker.port, [("cmd/volume", "42")])
            assert wait_until(lambda: got == [b"42"]), "the subscription was not restored"
        finally:
            svc.stop()


def test_last_will_says_offline_when_the_speaker_dies_and_a_clean_stop_too(tmp_path: Path) -> None:
    with Broker(tmp_path) as broker:
        recorder = Recorder(broker.port, ("speaker/+/availability",))
        script = textwrap.dedent(
            f"""
            import time
            from speaker.mqtt.client import MqttService
            from speaker.mqtt.connection import Connection
            svc = MqttService(Connection("127.0.0.1", {broker.port}, device_id="dies", client_id="dies"))
            svc.start()
            svc.wait_connected(10)
            print("up", flush=True)
            time.sleep(60)
            """
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
            recorder.wait_for("speaker/dies/availability", b"online")
            proc.send_signal(signal.SIGKILL)
            recorder.wait_for("speaker/dies/availability", b"offline")  # the broker's last will
        finally:
            proc.kill()
            proc.wait()
        svc = service(broker.port, device="clean")
        svc.start()
        assert svc.wait_connected(10)
        recorder.wait_for("speaker/clean/availability", b"online")
        svc.stop()
        recorder.wait_for("speaker/clean/availability", b"offline")
        recorder.close()


def test_tls_connects_with_the_right_ca_and_refuses_another(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    certs = make_certificates(tmp_path)
    tls = f"cafile {certs['ca.crt']}\ncertfile {certs['broker.crt']}\nkeyfile {certs['broker.key']}\n"
    with Broker(tmp_path, "allow_anonymous true\n" + tls) as broker:
        svc = service(broker.port, device="tls", tls=True, ca_certs=certs["ca.crt"])
        svc.start()
        try:
            assert svc.wait_connected(10), (tmp_path / "mosquitto.log").read_text()[-2000:]
            assert svc.publish("tls/ok", "1")
        finally:
            svc.stop()
        (tmp_path / "other").mkdir()
        other = make_certificates(tmp_path / "other")
        svc = service(broker.port, device="tls2", tls=True, ca_certs=other["ca.crt"])
        with caplog.at_level(logging.WARNING, logger="speaker.mqtt"):
            svc.start()
            try:
                assert not svc.wait_connected(2.5)  # a broker the CA does not vouch for is refused
                assert "cannot connect" in caplog.text
            finally:
                svc.stop()


def test_wrong_password_is_reported_with_the_fix(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    passwd = password_file(tmp_path, {"speaker": "right"})
    with Broker(tmp_path, f"allow_anonymous false\npassword_file {passwd}\n") as broker:
        svc = service(broker.port, device="pw", username="speaker", password="wrong")
        with caplog.at_level(logging.WARNING, logger="speaker.mqtt"):
            svc.start()
            try:
                assert wait_until(lambda: "refused the connection" in caplog.text, 5)
                assert not svc.connected
                assert "check the user name and password" in caplog.text
            finally:
                svc.stop()
        svc = service(broker.port, device="pw2", username="speaker", password="right")
        svc.start()
        try:
            assert svc.wait_connected(10)
        finally:
            svc.stop()

"""`speaker doctor`: the right line, the right fix and the right exit status for each problem.

Real parts: the model store and its files, a mosquitto broker started here, PortAudio on this
machine (which has no sound card). Fakes only for hardware that is not here: a microphone
(tests/fake_mic.py) and a Raspberry Pi's /sys files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import Broker, free_port, password_file
from fake_mic import FakeMicrophone

from speaker.cli import main
from speaker.doctor.board import check_temperature, check_throttling
from speaker.doctor.resources import check_memory
from speaker.doctor.runner import DoctorOptions, run_checks
from speaker.models import ModelStore
from speaker.settings import load_settings
from speaker.wake.classifier import bundled_model
from speaker.wake.model import WakeModel

ROOT = Path(__file__).resolve().parent.parent


def doctor(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(args)
    out = capsys.readouterr().out
    return code, out.splitlines()


def lines_of(check: str, lines: list[str]) -> list[str]:
    return [line for line in lines if line[6:].startswith(check)]


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "speaker.yaml"
    path.write_text(text)
    return str(path)


# -- models ----------------------------------------------------------------------------------------


def test_missing_models_fail_with_the_fetch_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, f"models:\n  dir: {tmp_path / 'empty-store'}\n")
    code, lines = doctor(["--config", cfg, "doctor", "--only", "config,models"], capsys)
    assert code == 1
    models = [line for line in lines_of("model", lines) if "wake model" not in line]
    assert len(models) == 3 and all(line.startswith("FAIL") for line in models)
    wake = [line for line in lines_of("model", lines) if "wake model" in line]
    assert len(wake) == 1 and wake[0].startswith("ok") and "hey computer" in wake[0]  # it ships with the code
    llm = next(line for line in models if "llm smollm2-135m-instruct-q4_1" in line)
    assert "not installed" in llm
    assert llm.endswith("-> fix: speaker models fetch smollm2-135m-instruct-q4_1")
    assert lines_of("config", lines)[0].startswith("ok")
    assert "1 problem" not in lines[-1] and "3 problem(s) stop the speaker from working" in lines[-1]


def test_a_damaged_model_is_found_by_rehashing(
    store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "store"
    shutil.copytree(store.model_dir("pocketsphinx-en-us"), models / "pocketsphinx-en-us")
    params = models / "pocketsphinx-en-us" / "en-us" / "feat.params"
    stat = params.stat()
    params.write_bytes(params.read_bytes().replace(b"-", b"+", 1))  # same size, same mtime: only sha256 tells
    import os

    os.utime(params, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    cfg = config(tmp_path, f"models:\n  dir: {models}\n")
    code, lines = doctor(["--config", cfg, "doctor", "--only", "models"], capsys)
    assert code == 1
    damaged = next(line for line in lines if "pocketsphinx-en-us" in line)
    assert damaged.startswith("FAIL") and "damaged" in damaged and "en-us/feat.params" in damaged
    assert damaged.endswith("-> fix: speaker models fetch pocketsphinx-en-us --force")


def test_installed_models_pass(store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor(["doctor", "--only", "config,models"], capsys)
    assert code == 0, lines
    models = [line for line in lines_of("model", lines) if "wake model" not in line]
    shipped = WakeModel.load(bundled_model())
    assert len(models) == 3 and all(line.startswith("ok") and "sha256 verified" in line for line in models)
    wake = [line for line in lines if "wake model for 'hey computer'" in line]
    assert len(wake) == 1 and wake[0].startswith("ok"), wake
    assert f"verifier {shipped.verifier.threshold:.3f}" in wake[0]
    rivals, threshold = len(shipped.phones["rivals"]), shipped.phones["threshold"]
    assert f"phone check against {rivals} rival pronunciations at {threshold:g}" in wake[0]
    strictest = threshold + max(shipped.phones["rival_offsets"])
    assert f"(each held to its own, up to {strictest:g})" in wake[0]
    assert shipped.pairs and ", pair networks for 'hey can pewter'" in wake[0]
    assert lines[-1] == "All good: the speaker has what it needs."


def test_a_damaged_phone_recognizer_fails_and_names_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from speaker.wake import phones

    first = phones.bundled_recognizers()[0]
    damaged = tmp_path / "phones_more.npz"
    damaged.write_bytes(first.read_bytes()[:5000])  # cut short, as an interrupted copy leaves it
    monkeypatch.setattr(phones, "bundled_recognizers", lambda: (first, damaged))
    code, lines = doctor(["doctor", "--only", "config,models"], capsys)
    assert code == 1
    wake = [line for line in lines_of("model", lines) if str(damaged) in line]
    assert len(wake) == 1 and wake[0].startswith("FAIL") and "damaged" in wake[0], lines
    assert wake[0].endswith(f"-> fix: {phones.FIX}")


def test_invalid_config_fails_and_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, "llm:\n  threads: many\n")
    code, lines = doctor(["--config", cfg, "doctor", "--only", "config"], capsys)
    assert code == 1
    assert lines[0].startswith("FAIL  config") and "llm.threads: expected a whole number" in lines[0]


# -- broker ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("mosquitto")
    passwords = password_file(directory, {"speaker": "s3cret"})
    broker = Broker(directory, f"allow_anonymous false\npassword_file {passwords}\n").start()
    yield broker
    broker.stop()


def broker_url(broker: Broker, user: str, password: str) -> str:
    return f"mqtt://{user}:{password}@127.0.0.1:{broker.port}"


def test_unreachable_broker_fails_with_what_to_check(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    code, lines = doctor(
        ["doctor", "--only", "broker", "--mqtt", f"mqtt://speaker:s3cret@127.0.0.1:{port}"], capsys
    )
    assert code == 1
    assert lines[0] == (
        f"FAIL  broker       nothing listens on 127.0.0.1:{port} (connection refused)  -> fix: "
        "check the broker runs (sudo systemctl status mosquitto) and the host and port are right"
    )
    assert "s3cret" not in "\n".join(lines)


def test_reachable_broker_with_good_credentials_passes(
    mosquitto: Broker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPEAKER_MQTT_URL", broker_url(mosquitto, "speaker", "s3cret"))
    code, lines = doctor(["doctor", "--only", "broker"], capsys)
    assert code == 0, lines
    assert lines[0] == (
        f"ok    broker       mqtt://speaker:***@127.0.0.1:{mosquitto.port} reachable, connected as 'speaker'"
    )


@pytest.mark.parametrize(
    ("user", "password", "who"), [("speaker", "wrong", "user 'speaker'"), ("", "", "anonymous")]
)
def test_rejected_credentials_fail_with_the_credentials_fix(
    mosquitto: Broker, user: str, password: str, who: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = broker_url(mosquitto, user, password) if user else f"mqtt://127.0.0.1:{mosquitto.port}"
    code, lines = doctor(["doctor", "--only", "broker", "--mqtt", url], capsys)
    assert code == 1
    assert lines[0].startswith(f"FAIL  broker       127.0.0.1:{mosquitto.port} refused {who}")
    assert lines[0].endswith(
        "-> fix: check the user name and password in the URL (mosquitto_passwd) and the broker's ACL"
    )


# -- audio -----------------------------------------------------------------------------------------


def mic_findings(mic: FakeMicrophone, seconds: float = 0.6) -> list:  # type: ignore[type-arg]
    options = DoctorOptions(only=("audio",), capture_backend=mic, meter_seconds=seconds)
    return [f for f in run_checks(options) if f.check in ("microphone", "mic level")]


def test_microphone_and_its_level_meter() -> None:
    levels: list[float] = []
    mic = FakeMicrophone("ReSpeaker 4 Mic Array", rate=16000, channels=4, tones=[440.0], level=0.3)
    options = DoctorOptions(only=("audio",), capture_backend=mic, meter_seconds=0.6, on_level=levels.append)
    found, level = [f for f in run_checks(options) if f.check in ("microphone", "mic level")]
    assert (found.status, found.message) == ("ok", "'ReSpeaker 4 Mic Array' (16000 Hz, 2 ch)")
    assert level.status == "ok"
    # a sine of amplitude 0.3: -13.5 dBFS on average, -10.5 dBFS at its peaks
    assert (
        "average -13 dBFS, peak -10 dBFS" in level.message
        or "average -14 dBFS, peak -10 dBFS" in level.message
    )
    assert len(levels) >= 4 and all(-15 < v < -12 for v in levels)  # the live meter moved along


def test_a_muted_microphone_and_a_clipping_one_are_warned_about() -> None:
    _, silent = mic_findings(FakeMicrophone(level=0.0))
    assert silent.status == "warn" and "(almost) silence" in silent.message and "alsamixer" in silent.fix
    _, loud = mic_findings(FakeMicrophone(level=2.0))
    assert loud.status == "warn" and "clips" in loud.message and "lower the capture gain" in loud.fix


def test_a_missing_configured_microphone_fails_with_its_fix(tmp_path: Path) -> None:
    mic = FakeMicrophone()
    cfg = config(tmp_path, "audio:\n  input_device: respeaker\n")
    options = DoctorOptions(config=cfg, only=("audio",), capture_backend=mic, meter_seconds=0.5)
    (found,) = [f for f in run_checks(options) if f.check == "microphone"]
    assert found.status == "fail" and "no input device matches 'respeaker'" in found.message
    assert "set audio.input_device to a name or index from `speaker devices`" in found.fix


def test_this_machine_without_sound_card_fails_audio_with_fixes(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor(["doctor", "--only", "audio"], capsys)  # real PortAudio: no devices here
    assert code == 1
    mic, spk = lines_of("microphone", lines)[0], lines_of("speaker", lines)[0]
    assert mic.startswith("FAIL") and "no microphone found" in mic and "plug in a USB microphone" in mic
    assert spk.startswith("FAIL") and "no speaker found" in spk and "aplay -l" in spk


# -- board and memory ------------------------------------------------------------------------------


def pi_sys(root: Path, millidegrees: str | None, throttled: str | None) -> Path:
    if millidegrees is not None:
        zone = root / "sys/class/thermal/thermal_zone0"
        zone.mkdir(parents=True)
        (zone / "temp").write_text(millidegrees + "\n")
    if throttled is not None:
        firmware = root / "sys/devices/platform/soc/soc:firmware"
        firmware.mkdir(parents=True)
        (firmware / "get_throttled").write_text(throttled + "\n")
    return root


def test_pi_temperature_and_power_flags_are_read_from_sys(tmp_path: Path) -> None:
    cool = pi_sys(tmp_path / "cool", "48312", "0")
    assert check_temperature(cool).line() == "ok    temperature  CPU at 48.3 °C"
    assert (
        check_throttling(cool, vcgencmd=None).line()
        == "ok    power        no under-voltage or throttling since boot"
    )
    hot = pi_sys(tmp_path / "hot", "81000", "50005")
    assert check_temperature(hot).status == "warn"
    power = check_throttling(hot, vcgencmd=None)
    assert power.status == "warn"
    assert power.message == "now: under-voltage, throttled (get_throttled 0x50005)"
    assert "official power supply" in power.fix
    warm = check_throttling(pi_sys(tmp_path / "warm", None, "0x80000"), vcgencmd=None)
    assert warm.message == "since boot: soft temperature limit (get_throttled 0x80000)"
    assert "heatsink" in warm.fix
    assert check_throttling(tmp_path / "elsewhere", vcgencmd=None).status == "skip"


def meminfo(total_mb: int, available_mb: int, swap_mb: int = 0) -> dict[str, int]:
    return {"MemTotal": total_mb << 20, "MemAvailable": available_mb << 20, "SwapTotal": swap_mb << 20}


def test_memory_is_compared_with_what_the_configured_models_need(store: ModelStore) -> None:
    defaults = load_settings()
    on_a_zero = check_memory(defaults, store, meminfo(427, 350))  # a Pi Zero 2 W after the kernel and GPU
    assert on_a_zero.status == "fail" and "pi-zero-2w.yaml" in on_a_zero.fix
    zero = load_settings(ROOT / "config/profiles/pi-zero-2w.yaml")
    with_swap = check_memory(zero, store, meminfo(427, 350, swap_mb=512))
    assert with_swap.status == "warn" and "relies on swap" in with_swap.message
    assert check_memory(defaults, store, meminfo(2048, 1500)).status == "ok"  # a Pi 4 with 2 GB


def test_a_wake_model_for_another_phrase_fails_with_the_training_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, "wake:\n  phrase: hey jarvis\n")
    code, lines = doctor(["--config", cfg, "doctor", "--only", "config,models"], capsys)
    assert code == 1
    wake = [line for line in lines_of("model", lines) if "wake model" in line]
    assert len(wake) == 1 and wake[0].startswith("FAIL") and "'hey jarvis'" in wake[0]
    assert wake[0].endswith('speaker wake train "hey jarvis", then set wake.classifier to the file it writes')

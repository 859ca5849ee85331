"""Signed manifests: what is accepted, and every refusal with its reason (no network, no models)."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ota_fixtures.device import Operator

from speaker.errors import ConfigError
from speaker.ota import errors
from speaker.ota.errors import OtaError
from speaker.ota.manifest import ManifestFile, UpdateManifest, format_time, newer, parse_version
from speaker.ota.policy import check_applicable, check_new
from speaker.ota.signing import (
    generate_keys,
    key_id,
    load_private_key,
    parse_public_key,
    trusted_keys,
    verify,
)
from speaker.ota.topics import manifest_subscriptions, manifest_topic, status_topic, topic_component
from speaker.settings import load_settings

SHA = "ab" * 32


def manifest(**fields: object) -> UpdateManifest:
    base = UpdateManifest(
        component="llm",
        version="2.0.0",
        serial=100,
        expires=format_time(datetime.now(UTC) + timedelta(days=1)),
        files=(ManifestFile("model.gguf", 1234, SHA, "http://10.0.0.2:8000/model.gguf"),),
        min_firmware="0.1.0",
        main="model.gguf",
        summary="a better model",
    )
    return dataclasses.replace(base, **fields)


@pytest.fixture()
def operator() -> Operator:
    return Operator.new()


def refusal(payload: bytes | str, trusted: dict) -> OtaError:
    with pytest.raises(OtaError) as err:
        verify(payload, trusted)
    assert err.value.refused
    return err.value


def test_a_signed_manifest_verifies_and_reads_back_identical(operator: Operator) -> None:
    signed = verify(operator.sign(manifest()), trusted_keys([operator.public]))
    assert signed.manifest == manifest() and signed.key == key_id(operator.key.public_key())
    again = verify(operator.sign(manifest()), trusted_keys([operator.public]))
    assert again.digest == signed.digest  # the same announcement, whatever the envelope


def test_unsigned_tampered_and_foreign_manifests_are_refused(operator: Operator) -> None:
    trusted = trusted_keys([operator.public])
    envelope = json.loads(operator.sign(manifest()))

    unsigned = {k: v for k, v in envelope.items() if k != "signature"}
    assert refusal(json.dumps(unsigned), trusted).code == errors.UNSIGNED
    assert refusal(manifest().to_json(), trusted).code == errors.UNSIGNED  # a bare manifest

    tampered = dict(envelope, manifest=envelope["manifest"].replace("2.0.0", "9.0.0"))
    err = refusal(json.dumps(tampered), trusted)
    assert err.code == errors.TAMPERED and "altered" in err.message

    flipped = bytearray(base64.b64decode(envelope["signature"]))
    flipped[5] ^= 1
    bad_signature = dict(envelope, signature=base64.b64encode(bytes(flipped)).decode())
    assert refusal(json.dumps(bad_signature), trusted).code == errors.TAMPERED

    stranger = Operator.new()
    err = refusal(stranger.sign(manifest()), trusted)
    assert err.code == errors.UNTRUSTED and key_id(stranger.key.public_key()) in err.message
    # the stranger claiming the trusted key's id does not help
    forged = dict(json.loads(stranger.sign(manifest())), key=envelope["key"])
    assert refusal(json.dumps(forged), trusted).code == errors.TAMPERED

    err = refusal(operator.sign(manifest()), {})
    assert err.code == errors.UNTRUSTED and "ota.trusted_keys" in err.message


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xff\xfe", b"[1, 2]", b"not json", b"{" * 10, b"x" * 300_000],
    ids=["empty", "binary", "list", "text", "broken", "huge"],
)
def test_garbage_is_refused_as_malformed(operator: Operator, payload: bytes) -> None:
    assert refusal(payload, trusted_keys([operator.public])).code == errors.MALFORMED


def test_a_signed_but_invalid_manifest_is_refused_naming_the_field(operator: Operator) -> None:
    trusted = trusted_keys([operator.public])
    good = manifest().to_dict()
    cases = {
        "version": dict(good, version="two"),
        "serial": dict(good, serial=-1),
        "expires": dict(good, expires="tomorrow"),
        "files[0].path": dict(good, files=[dict(good["files"][0], path="../../etc/passwd")]),
        "files[0].sha256": dict(good, files=[dict(good["files"][0], sha256="short")]),
        "files[0].url": dict(good, files=[dict(good["files"][0], url="file:///etc/passwd")]),
        "main": dict(good, main="other.bin"),
    }
    for field, data in cases.items():
        err = refusal(operator.sign(json.dumps(data)), trusted)
        assert err.code == errors.MALFORMED and field.split("[")[0] in err.message, (field, err.message)
    hidden = dict(good, files=[dict(good["files"][0], path=".speaker-model.json")])
    assert refusal(operator.sign(json.dumps(hidden)), trusted).code == errors.MALFORMED


def test_policy_refuses_what_this_speaker_must_not_install() -> None:
    def code(m: UpdateManifest, **kw: object) -> str:
        with pytest.raises(OtaError) as err:
            check_applicable(m, device="kitchen", firmware="0.1.0", **kw)  # type: ignore[arg-type]
        return err.value.code

    check_applicable(manifest(), device="kitchen", firmware="0.1.0")
    check_applicable(manifest(device="kitchen"), device="kitchen", firmware="0.1.0")
    assert code(manifest(component="radio")) == errors.UNKNOWN_COMPONENT
    assert code(manifest(device="bedroom")) == errors.OTHER_DEVICE
    assert code(manifest(min_firmware="0.2")) == errors.INCOMPATIBLE
    past = format_time(datetime.now(UTC) - timedelta(seconds=1))
    assert code(manifest(expires=past)) == errors.EXPIRED
    later = datetime.now(UTC) + timedelta(days=2)
    assert code(manifest(), now=later) == errors.EXPIRED


def test_replayed_serials_and_versions_that_are_not_newer_are_refused() -> None:
    check_new(manifest(serial=101), last_serial=100, installed_version="1.9")
    for m, last, installed, expected in [
        (manifest(serial=100), 100, "1.0", errors.REPLAYED),
        (manifest(serial=99), 100, "1.0", errors.REPLAYED),
        (manifest(serial=101, version="2.0"), 100, "2.0.0", errors.NOT_NEWER),
        (manifest(serial=101, version="1.10"), 100, "1.9.9", None),
        (manifest(serial=101, version="1.2"), 100, "1.10", errors.NOT_NEWER),
    ]:
        if expected is None:
            check_new(m, last_serial=last, installed_version=installed)
            continue
        with pytest.raises(OtaError) as err:
            check_new(m, last_serial=last, installed_version=installed)
        assert err.value.code == expected


def test_versions_compare_as_numbers() -> None:
    assert parse_version("2.0.0") == parse_version("2") == (2,)
    assert newer("1.10", "1.9") and not newer("1.0", "1.0.0") and newer("0.1", "not a version")
    for bad in ("", "v2", "1.2.3.4.5", "1..2", "1.2-beta"):
        with pytest.raises(ValueError):
            parse_version(bad)


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    files = generate_keys(tmp_path / "ops.key")
    assert files.private.stat().st_mode & 0o777 == 0o600
    key = load_private_key(files.private)
    assert (
        parse_public_key(files.public.read_text()).public_bytes_raw() == key.public_key().public_bytes_raw()
    )
    from speaker.errors import SpeakerError

    with pytest.raises(SpeakerError, match="already exists"):
        generate_keys(tmp_path / "ops.key")
    (tmp_path / "bad.key").write_text("hello")
    with pytest.raises(SpeakerError, match="PEM"):
        load_private_key(tmp_path / "bad.key")


def test_trusted_keys_in_the_config_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("ota:\n  trusted_keys: [not-a-key]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="ed25519"):
        load_settings(config)
    config.write_text("ota:\n  trusted_keys: [AAAA]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="32 bytes"):
        load_settings(config)


def test_topics() -> None:
    assert manifest_topic("speaker/ota", "llm") == "speaker/ota/fleet/llm"
    assert manifest_topic("speaker/ota/", "tts", "kitchen") == "speaker/ota/device/kitchen/tts"
    assert manifest_subscriptions("speaker/ota", "kitchen") == [
        "speaker/ota/fleet/+",
        "speaker/ota/device/kitchen/+",
    ]
    assert status_topic("speaker/ota", "kitchen") == "speaker/ota/status/kitchen"
    assert topic_component("speaker/ota/device/kitchen/wake") == "wake"
    assert topic_component("speaker/ota/status/kitchen") == ""

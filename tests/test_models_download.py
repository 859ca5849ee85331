"""The resumable, size-capped, checksummed HTTP downloader, against a real server on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from models_fixtures import build
from models_fixtures.build import sha
from models_fixtures.loopback import LoopbackServer

from speaker.models import (
    DownloadError,
    DownloadResult,
    IntegrityError,
    ProgressPrinter,
    download,
    load_catalog,
)
from speaker.settings import default_config_dir

SIZE = 1_000_000


def payload(size: int = SIZE, seed: bytes = b"a") -> bytes:
    return build.payload(size, seed)


@pytest.fixture()
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def fetch(server: LoopbackServer, dest: Path, body: bytes, **kwargs: Any) -> DownloadResult:
    """Download /f.bin expecting `body`, with no pause between retries."""
    options: dict[str, Any] = {"sha256": sha(body), "size": len(body), "retry_delay": 0.0, "timeout": 5.0}
    options.update(kwargs)
    return download(server.url("f.bin"), dest, **options)


def test_download_writes_the_verified_file_and_reports_progress(
    server: LoopbackServer, tmp_path: Path
) -> None:
    body = payload()
    server.add("f.bin", body)
    seen: list[tuple[str, int, int | None]] = []
    result = fetch(server, tmp_path / "f.bin", body, progress=lambda *a: seen.append(a))
    assert (tmp_path / "f.bin").read_bytes() == body
    assert result.sha256 == sha(body) and result.size == SIZE and result.received == SIZE
    assert not (tmp_path / "f.bin.part").exists()
    assert seen[-1] == ("f.bin", SIZE, SIZE)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)


def test_a_cut_connection_is_resumed_with_range_in_the_same_call(
    server: LoopbackServer, tmp_path: Path
) -> None:
    body = payload()
    server.add("f.bin", body, cut_after=300_000, cuts=2)
    result = fetch(server, tmp_path / "f.bin", body)
    assert (tmp_path / "f.bin").read_bytes() == body
    ranges = [r.range for r in server.requests("f.bin")]
    assert ranges == [None, "bytes=300000-", "bytes=600000-"]
    assert server.served("f.bin") == SIZE  # nothing was sent twice
    assert result.resumed_from == 0 and result.received == SIZE


def test_an_interrupted_download_keeps_only_the_part_file_and_the_next_run_resumes(
    server: LoopbackServer, tmp_path: Path
) -> None:
    body = payload()
    server.add("f.bin", body, cut_after=400_000, cuts=1)
    dest = tmp_path / "f.bin"

    def ctrl_c(_label: str, done: int, _total: int | None) -> None:
        if done >= 400_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(server, dest, body, progress=ctrl_c)
    assert not dest.exists()
    assert (tmp_path / "f.bin.part").stat().st_size == 400_000
    before = server.served("f.bin")
    result = fetch(server, dest, body)
    assert dest.read_bytes() == body
    assert result.resumed_from == 400_000 and result.received == SIZE - 400_000
    assert server.served("f.bin") - before == SIZE - 400_000
    assert server.requests("f.bin")[-1].range == "bytes=400000-"


def test_retries_without_progress_give_up_and_keep_the_part(server: LoopbackServer, tmp_path: Path) -> None:
    body = payload()
    (tmp_path / "f.bin.part").write_bytes(body[:1000])
    server.add("f.bin", body, status=503)
    with pytest.raises(DownloadError) as err:
        fetch(server, tmp_path / "f.bin", body, retries=2)
    assert "3 attempts" in err.value.message and "resumes" in err.value.message
    assert len(server.requests("f.bin")) == 3
    assert (tmp_path / "f.bin.part").read_bytes() == body[:1000]
    assert not (tmp_path / "f.bin").exists()


def test_a_server_announcing_more_than_expected_is_refused(server: LoopbackServer, tmp_path: Path) -> None:
    body = payload()
    server.add("f.bin", body + payload(50_000, b"x"))
    with pytest.raises(IntegrityError) as err:
        fetch(server, tmp_path / "f.bin", body)
    assert "1050000" in err.value.message and str(SIZE) in err.value.message
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_a_server_sending_more_than_expected_without_length_is_stopped_at_the_size(
    server: LoopbackServer, tmp_path: Path
) -> None:
    body = payload()
    server.add("f.bin", body + payload(5_000_000, b"x"), no_length=True)
    seen: list[int] = []
    with pytest.raises(IntegrityError) as err:
        fetch(server, tmp_path / "f.bin", body, progress=lambda _l, done, _t: seen.append(done))
    assert "sent more" in err.value.message
    assert max(seen) <= SIZE  # never took a byte past the cap
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_unknown_size_is_capped_by_max_size(server: LoopbackServer, tmp_path: Path) -> None:
    body = payload()
    server.add("f.bin", body, no_length=True)
    with pytest.raises(IntegrityError, match="maximum size"):
        fetch(server, tmp_path / "f.bin", body, size=None, max_size=SIZE - 1)
    result = fetch(server, tmp_path / "f.bin", body, size=None, max_size=SIZE * 2)
    assert result.size == SIZE and (tmp_path / "f.bin").read_bytes() == body
    with pytest.raises(DownloadError, match="size"):
        fetch(server, tmp_path / "g.bin", body, size=None, max_size=None)


def test_wrong_content_is_rejected_and_not_kept(server: LoopbackServer, tmp_path: Path) -> None:
    body = payload()
    wrong = payload(seed=b"b")
    server.add("f.bin", wrong)
    with pytest.raises(IntegrityError) as err:
        fetch(server, tmp_path / "f.bin", body)
    assert sha(body) in err.value.message and sha(wrong) in err.value.message
    assert not (tmp_path / "f.bin").exists()
    assert not (tmp_path / "f.bin.part").exists()  # the next run must not resume wrong bytes


def test_a_server_that_ignores_range_makes_it_start_over(server: LoopbackServer, tmp_path: Path) -> None:
    body = payload()
    server.add("f.bin", body, ignore_range=True)
    (tmp_path / "f.bin.part").write_bytes(body[:250_000])
    result = fetch(server, tmp_path / "f.bin", body)
    assert (tmp_path / "f.bin").read_bytes() == body
    assert result.received == SIZE
    assert [r.range for r in server.requests("f.bin")] == ["bytes=250000-", None]


def test_a_stale_part_longer_than_the_file_is_discarded(server: LoopbackServer, tmp_path: Path) -> None:
    body = payload()
    server.add("f.bin", body)
    (tmp_path / "f.bin.part").write_bytes(b"\0" * (SIZE + 10))
    fetch(server, tmp_path / "f.bin", body)
    assert (tmp_path / "f.bin").read_bytes() == body


def test_http_errors_name_the_status_and_the_url(server: LoopbackServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        download(server.url("missing.bin"), tmp_path / "m.bin", sha256="0" * 64, size=10)
    assert "404" in err.value.message and server.url("missing.bin") in err.value.message
    assert not list(tmp_path.iterdir())


def test_integrity_checks_cannot_be_switched_off(server: LoopbackServer, tmp_path: Path) -> None:
    server.add("f.bin", b"hello")
    for bad in ("", "none", "0" * 63):
        with pytest.raises(DownloadError, match="sha256"):
            download(server.url("f.bin"), tmp_path / "f.bin", sha256=bad, size=5)
    with pytest.raises(DownloadError, match="http"):
        download("file:///etc/passwd", tmp_path / "p", sha256="0" * 64, size=5)
    assert server.served() == 0


def test_a_real_model_file_survives_two_cuts(server: LoopbackServer, tmp_path: Path) -> None:
    """The pocketsphinx language model (27 MB) from the installed package, checked by its catalog sha256."""
    import pocketsphinx

    spec = load_catalog(default_config_dir() / "models.yaml").get("pocketsphinx-en-us")
    (entry,) = [f for f in spec.files if f.path == "en-us.lm.bin"]
    body = (Path(pocketsphinx.__file__).parent / "model" / "en-us" / entry.path).read_bytes()
    server.add("f.bin", body, cut_after=10_000_000, cuts=2)
    result = download(
        server.url("f.bin"), tmp_path / entry.path, sha256=entry.sha256, size=entry.size, retry_delay=0
    )
    assert result.sha256 == entry.sha256
    assert server.served("f.bin") == entry.size
    assert len(server.requests("f.bin")) == 3


def test_progress_printer_prints_plain_lines_off_a_terminal() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out, tty=False, interval=3600)
    for done in range(0, SIZE + 1, 100_000):
        printer("model: file.bin", done, SIZE)
    printer("model: other.bin", 10, 10)
    printer.close()
    lines = out.getvalue().splitlines()
    assert lines == ["model: file.bin: 1.0 MB of 1.0 MB (100%)", "model: other.bin: 0.0 MB of 0.0 MB (100%)"]


def test_progress_printer_draws_a_bar_on_a_terminal() -> None:
    out = io.StringIO()
    with ProgressPrinter(out, tty=True) as printer:
        for done in range(0, SIZE + 1, 250_000):
            printer("model: file.bin", done, SIZE)
    assert "model: file.bin" in out.getvalue() and "100%" in out.getvalue()

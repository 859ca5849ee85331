"""HTTP(S) download of one file that can be trusted: resumable, size-capped, checksummed.

Used by the model store and, later, by the over-the-air updater. The contract:
- bytes go to `<dest>.part` in the destination directory; nothing appears under `dest` until the
  whole file has the expected size and sha256 and has been flushed to disk;
- a cut connection is retried with `Range: bytes=N-`, and a `.part` left by an earlier run
  (power cut, Ctrl-C) is resumed the same way;
- the expected size is a hard limit: a server that announces or sends more is refused at once;
- a sha256 is always required: integrity checks cannot be switched off.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speaker import __version__
from speaker.errors import SpeakerError
from speaker.models.integrity import (
    CHUNK,
    SHA256_RE,
    IntegrityError,
    ProgressFn,
    fsync_dir,
    temp_name,
)

log = logging.getLogger(__name__)

USER_AGENT = f"speaker-firmware/{__version__}"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadError(SpeakerError):
    """The file could not be downloaded (network, server or HTTP error)."""

    code = "download"


class _Cut(Exception):
    """The transfer stopped early for a reason worth retrying (timeout, reset, 5xx, short body)."""


class _Restart(Exception):
    """What is on disk cannot be continued (server ignored Range, bad Content-Range): start over."""


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    size: int
    sha256: str
    resumed_from: int  # bytes already in `.part` when the call started
    received: int  # bytes that came over the network during this call


def download(
    url: str,
    dest: Path,
    *,
    sha256: str,
    size: int | None = None,
    max_size: int | None = None,
    progress: ProgressFn | None = None,
    label: str | None = None,
    retries: int = 4,
    retry_delay: float = 1.0,
    timeout: float = 30.0,
) -> DownloadResult:
    """Download `url` to `dest`, resuming `dest.part`; size (or at least max_size) is a hard cap."""
    if not url.lower().startswith(("http://", "https://")):
        raise DownloadError(f"{url}: only http:// and https:// URLs can be downloaded")
    if not SHA256_RE.match(sha256):
        raise DownloadError(f"{url}: a sha256 (64 lowercase hex digits) is required, got {sha256!r}")
    cap = size if size is not None else max_size
    if cap is None:
        raise DownloadError(f"{url}: the expected size or a maximum size is required")
    name = label or dest.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = temp_name(dest)
    transfer = _Transfer(url, part, cap, size, name, progress, timeout)
    resumed_from = transfer.have
    if progress:
        progress(name, transfer.have, size)
    failures = restarts = 0
    while not transfer.complete:
        before = transfer.have
        try:
            transfer.attempt()
        except _Restart as exc:
            restarts += 1
            if restarts > retries:
                raise DownloadError(f"{name}: {url}: {exc}, {restarts} times; giving up") from exc
            log.info("%s: starting over (%s)", name, exc)
            transfer.reset()
        except _Cut as exc:
            failures = 0 if transfer.have > before else failures + 1
            if failures > retries:
                raise DownloadError(
                    f"{name}: download from {url} failed after {retries + 1} attempts without progress: "
                    f"{exc}; {transfer.have} bytes are kept in {part} and the next run resumes from there"
                ) from exc
            delay = retry_delay * 2 ** max(failures - 1, 0)
            log.warning("%s: %s; resuming at byte %d in %.1f s", name, exc, transfer.have, delay)
            time.sleep(delay)
    actual = transfer.digest.hexdigest()
    if actual != sha256:
        part.unlink(missing_ok=True)
        raise IntegrityError(f"{name}: sha256 of the download from {url} is {actual}, expected {sha256}")
    with part.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, dest)
    fsync_dir(dest.parent)
    return DownloadResult(dest, transfer.have, actual, resumed_from, transfer.received)


class _Transfer:
    """The state of one download: bytes on disk in `.part` and their running sha256."""

    def __init__(
        self,
        url: str,
        part: Path,
        cap: int,
        size: int | None,
        name: str,
        progress: ProgressFn | None,
        timeout: float,
    ) -> None:
        self.url, self.part, self.cap, self.size, self.name = url, part, cap, size, name
        self.progress, self.timeout = progress, timeout
        self.digest = hashlib.sha256()
        self.have = 0
        self.received = 0
        self.complete = False
        self._load_part()

    def _load_part(self) -> None:
        if not self.part.exists():
            return
        if self.part.stat().st_size > self.cap:
            log.warning("%s: %s is larger than expected; discarding it", self.name, self.part)
            self.part.unlink()
            return
        with self.part.open("rb") as f:
            while block := f.read(CHUNK):
                self.digest.update(block)
                self.have += len(block)
        self.complete = self.size is not None and self.have == self.size

    def reset(self) -> None:
        self.part.unlink(missing_ok=True)
        self.digest = hashlib.sha256()
        self.have = 0

    def attempt(self) -> None:
        """One HTTP request from byte `have`; returns when the body ended, raises _Cut/_Restart."""
        request = urllib.request.Request(
            self.url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        )
        if self.have:
            request.add_header("Range", f"bytes={self.have}-")
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            self._http_error(exc)
            return
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Cut(f"cannot connect: {reason}") from exc
        with response:
            self._check_response(response)
            self._read_body(response)

    def _http_error(self, exc: urllib.error.HTTPError) -> None:
        exc.close()
        if exc.code == 416 and self.have:
            if self.size is None:  # the server has nothing past what we hold: the file is whole
                self.complete = True
                return
            raise _Restart(f"the server cannot continue from byte {self.have}")
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Cut(f"HTTP {exc.code} {exc.reason}") from exc
        raise DownloadError(f"{self.name}: HTTP {exc.code} {exc.reason} for {self.url}") from exc

    def _check_response(self, response: Any) -> None:
        status = response.status
        if self.have and status == 200:
            raise _Restart("the server ignored the Range request")
        if status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != self.have:
                raise _Restart(f"unexpected Content-Range {response.headers.get('Content-Range')!r}")
            total = match.group(3)
            if total != "*" and int(total) > self.cap:
                self._refuse(f"the server says the file has {total} bytes")
        elif status != 200:
            raise DownloadError(f"{self.name}: unexpected HTTP {status} for {self.url}")
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and self.have + int(length) > self.cap:
            self._refuse(f"the server announces {self.have + int(length)} bytes")

    def _read_body(self, response: Any) -> None:
        with self.part.open("ab") as out:
            while True:
                try:  # ask for one byte past the cap, so a server that sends more is caught
                    block = response.read(min(CHUNK, self.cap - self.have + 1))
                except (http.client.HTTPException, OSError) as exc:
                    raise _Cut(f"connection cut at byte {self.have}: {exc!r}") from exc
                if not block:
                    break
                if self.have + len(block) > self.cap:
                    out.close()
                    self._refuse("the server sent more")
                out.write(block)
                self.digest.update(block)
                self.have += len(block)
                self.received += len(block)
                if self.progress:
                    self.progress(self.name, self.have, self.size)
        if self.size is not None and self.have < self.size:
            raise _Cut(f"connection closed at byte {self.have} of {self.size}")
        self.complete = True

    def _refuse(self, what: str) -> None:
        self.reset()
        limit = "the expected size" if self.size is not None else "the maximum size"
        raise IntegrityError(f"{self.name}: {what}, more than {limit} of {self.cap} bytes ({self.url})")

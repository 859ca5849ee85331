"""`speaker ota serve DIR`: model files over HTTP with Range support, for a LAN without a file server.

GET and HEAD of regular files under DIR only (no listings, nothing outside DIR, no dot-files);
`Range: bytes=a-b`, `bytes=a-` and `bytes=-n` get 206 with Content-Range, so a speaker whose
download was cut resumes where it stopped. Files are streamed, never read whole into memory.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BLOCK = 1 << 20
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def resolve(root: Path, url_path: str) -> Path | None:
    """The file under `root` a URL path names, or None (missing, a directory, hidden, or outside)."""
    relative = urllib.parse.unquote(urllib.parse.urlsplit(url_path).path).lstrip("/")
    parts = [p for p in relative.split("/") if p]
    if not parts or any(p in ("..", ".") or p.startswith(".") for p in parts):
        return None
    candidate = (root / Path(*parts)).resolve()
    if root not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(first, last) inclusive for a satisfiable single range; None: whole file; "bad": 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None  # not a form we serve partially: send the whole file (RFC 9110 allows it)
    first_text, last_text = match.groups()
    if not first_text:  # the last n bytes
        n = int(last_text)
        if n == 0:
            return "bad"
        return max(0, size - n), size - 1
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or first > last:
        return "bad"
    return first, last


class FileHandler(BaseHTTPRequestHandler):
    root: Path
    server_version = "speaker-ota"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.info("%s %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
        self._serve(body=False)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        path = resolve(self.root, self.path)
        if path is None:
            self.send_error(404, "no such file")
            return
        size = path.stat().st_size
        wanted = parse_range(self.headers.get("Range"), size)
        if wanted == "bad":
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        first, last = (0, size - 1) if wanted is None else wanted  # type: ignore[misc]
        self.send_response(200 if wanted is None else 206)
        if wanted is not None:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(max(0, last - first + 1)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if body and size:
            self._copy(path, first, last - first + 1)

    def _copy(self, path: Path, offset: int, count: int) -> None:
        with path.open("rb") as f:
            try:
                self.wfile.flush()
                sent = 0
                while sent < count:  # sendfile: the kernel copies, this process does not touch the bytes
                    n = os.sendfile(
                        self.connection.fileno(), f.fileno(), offset + sent, min(BLOCK, count - sent)
                    )
                    if n == 0:
                        break
                    sent += n
            except OSError:  # the client went away (a speaker cut off, or refusing an oversized body)
                return


class FileServer:
    """A threaded HTTP server for the files under `root`; start() returns at once."""

    def __init__(
        self, root: Path, host: str = "0.0.0.0", port: int = 8000, handler: type[FileHandler] = FileHandler
    ) -> None:
        self.root = Path(root).resolve()
        self.host, self.port = host, port
        self.handler = handler
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> FileServer:
        """Open the listening socket (port 0: any free port; `port` then says which)."""
        handler = type("Handler", (self.handler,), {"root": self.root})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        return self

    def start(self) -> FileServer:
        """Serve from a background thread."""
        httpd = self.bind()._httpd
        assert httpd is not None
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.2,), daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (bind() first)."""
        assert self._httpd is not None, "bind() first"
        try:
            self._httpd.serve_forever(0.2)
        finally:
            self._httpd.server_close()

    def url(self, relative: str = "") -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/{urllib.parse.quote(relative)}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

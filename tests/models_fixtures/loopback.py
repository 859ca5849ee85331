"""A real HTTP server on 127.0.0.1 for download tests: Range support, byte counting, fault injection.

Faults per route: cut the connection after N body bytes (for the first `cuts` requests), announce
a Content-Length other than the body's, send no Content-Length at all (close-delimited), ignore
Range headers, or answer with an error status.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_RANGE = re.compile(r"bytes=(\d+)-$")
_BLOCK = 64 * 1024


@dataclass
class Route:
    body: bytes
    cut_after: int | None = None  # close the connection after this many body bytes...
    cuts: int = 1  # ...for this many requests (then serve normally)
    announce: int | None = None  # Content-Length to announce instead of len(body)
    no_length: bool = False  # no Content-Length: the body ends when the connection closes
    ignore_range: bool = False
    status: int = 200


@dataclass
class Request:
    path: str
    range: str | None


@dataclass
class _State:
    routes: dict[str, Route] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class LoopbackServer:
    def __init__(self) -> None:
        self.state = _State()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LoopbackServer:
        state = self.state

        class Handler(_Handler):
            shared = state

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def add(self, path: str, body: bytes, **faults: Any) -> Route:
        route = Route(body, **faults)
        self.state.routes["/" + path.lstrip("/")] = route
        return route

    def served(self, path: str | None = None) -> int:
        """Body bytes written so far, for one path or for all."""
        with self.state.lock:
            if path is None:
                return sum(self.state.served.values())
            return self.state.served.get("/" + path.lstrip("/"), 0)

    def requests(self, path: str) -> list[Request]:
        with self.state.lock:
            return [r for r in self.state.requests if r.path == "/" + path.lstrip("/")]


class _Handler(BaseHTTPRequestHandler):
    shared: _State
    protocol_version = "HTTP/1.0"  # one request per connection: a cut is a closed socket

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        state = self.shared
        range_header = self.headers.get("Range")
        with state.lock:
            state.requests.append(Request(self.path, range_header))
            route = state.routes.get(self.path)
        if route is None:
            self.send_error(404, "no such file")
            return
        if route.status != 200:
            self.send_error(route.status)
            return
        body, start = route.body, 0
        match = _RANGE.match(range_header or "")
        if match and not route.ignore_range:
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        if not route.no_length:
            announced = route.announce if route.announce is not None else len(payload)
            self.send_header("Content-Length", str(announced))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        limit = len(payload)
        with state.lock:
            if route.cut_after is not None and route.cuts != 0:
                route.cuts -= 1
                limit = min(limit, route.cut_after)
        self._send(payload[:limit])

    def _send(self, data: bytes) -> None:
        for offset in range(0, len(data), _BLOCK):
            block = data[offset : offset + _BLOCK]
            try:
                self.wfile.write(block)
                self.wfile.flush()
            except OSError:  # the client hung up (as it should, e.g. on an oversized body)
                return
            with self.shared.lock:
                self.shared.served[self.path] = self.shared.served.get(self.path, 0) + len(block)

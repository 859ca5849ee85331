"""Real OpenAI-compatible chat servers on loopback, each behaving like a LAN server can.

`streams`: answers like llama.cpp's server (HTTP/1.1, chunked, server-sent events);
`hangs`: takes the request and never answers; `stalls`: starts a reply, then goes quiet;
`fails`: HTTP 500 with an error body. `closed_port()` is a port nothing listens on.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer:
    def __init__(self, behaviour: str, reply: tuple[str, ...] = ("The sky", " is blue", ".")) -> None:
        self.behaviour = behaviour
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.release = threading.Event()  # lets hanging handlers go when the server stops
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append(json.loads(self.rfile.read(length)))
                server.headers.append(dict(self.headers))
                server.respond(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def respond(self, h: BaseHTTPRequestHandler) -> None:
        if self.behaviour == "hangs":
            self.release.wait(30)
            return
        if self.behaviour == "fails":
            body = json.dumps({"error": {"message": "model is loading"}}).encode()
            h.send_response(500)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        send = lambda event: _chunk(h, f"data: {json.dumps(event)}\n\n")  # noqa: E731
        send({"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})
        _chunk(h, ": keep-alive\n\n")
        for i, piece in enumerate(self.reply):
            if self.behaviour == "stalls" and i == 2:
                self.release.wait(30)
                return
            send({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            time.sleep(0.01)
        send(
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 21}}
        )
        _chunk(h, "data: [DONE]\n\n")
        _chunk(h, "")


def _chunk(h: BaseHTTPRequestHandler, text: str) -> None:
    data = text.encode("utf-8")
    h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    h.wfile.flush()


def closed_port() -> str:
    """The URL of a loopback port that refuses connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"

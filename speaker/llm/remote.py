"""A chat model on another machine: any OpenAI-compatible /v1/chat/completions server, streamed.

llama.cpp's server and vLLM speak this API. The reply streams as server-sent events
(`data: {...}` lines, `data: [DONE]` at the end). Three deadlines keep a weak network from
hurting a turn: connecting, the first token, and any pause between tokens. Each failure is a
RemoteError with a `kind` (unreachable, slow, stalled, http, protocol) the caller can act on.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from speaker.errors import StageError
from speaker.llm.base import ChatMessage, GenerationOptions, GenerationStats


class RemoteError(StageError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__("llm", message)
        self.kind = kind  # unreachable | slow | stalled | http | protocol


def endpoint_path(path: str) -> str:
    """The chat completions path for a base URL given with or without /v1."""
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return path
    if path.endswith("/v1"):
        return path + "/chat/completions"
    return path + "/v1/chat/completions"


class RemoteChatModel:
    def __init__(
        self,
        url: str,
        *,
        model: str = "",
        api_key: str | None = None,
        connect_timeout_s: float = 0.5,
        first_token_timeout_s: float = 2.0,
        read_timeout_s: float = 5.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StageError("llm", f"remote URL must be http(s)://host[:port][/path], got {url!r}")
        self.url = url
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = endpoint_path(parts.path)
        self.model = model
        self.api_key = api_key
        self.connect_timeout_s = connect_timeout_s
        self.first_token_timeout_s = first_token_timeout_s
        self.read_timeout_s = read_timeout_s

    @classmethod
    def from_settings(cls, settings: Any) -> RemoteChatModel:
        """From `llm.remote` settings; the API key is read from the environment variable named there."""
        key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
        return cls(
            settings.url,
            model=settings.model,
            api_key=key,
            connect_timeout_s=settings.connect_timeout_s,
            first_token_timeout_s=settings.first_token_timeout_s,
            read_timeout_s=settings.read_timeout_s,
        )

    @property
    def name(self) -> str:
        where = f"{self.host}:{self.port}"
        return f"{self.model} at {where}" if self.model else where

    def load(self) -> None:
        """Nothing to load: the server holds the model."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        stats = stats if stats is not None else GenerationStats()
        started = time.perf_counter()
        deadline: float | None = started + self.first_token_timeout_s  # None once a token came
        connection = self._connect()
        try:
            response = self._request(connection, messages, options, deadline)
            data: list[str] = []
            while True:
                line = self._read_line(connection, response, deadline)
                if line is None or line == "data: [DONE]" or line == "data:[DONE]":
                    break
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                    continue
                if line or not data:
                    continue  # other fields (event:, id:) and comments (": keep-alive")
                event, data = self._decode("\n".join(data)), []
                text = self._take(event, stats)
                if text:
                    if deadline is not None:
                        deadline = None
                        stats.prompt_seconds = time.perf_counter() - started
                    yield text
            if data:
                text = self._take(self._decode("\n".join(data)), stats)
                if text:
                    yield text
            if stats.completion_tokens:
                stats.generate_seconds = time.perf_counter() - started - stats.prompt_seconds
        finally:
            connection.close()

    def _take(self, event: dict[str, Any], stats: GenerationStats) -> str:
        """The reply text an event carries (and what it says about the reply)."""
        usage = event.get("usage") or {}
        if usage.get("prompt_tokens"):
            stats.prompt_tokens = int(usage["prompt_tokens"])
        choices = event.get("choices") or []
        if not choices:
            return ""
        choice = choices[0]
        if choice.get("finish_reason") == "length":
            stats.extra["truncated"] = 1
        text = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
        if text:
            stats.completion_tokens += 1
        return text

    def _read_line(
        self,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        deadline: float | None,
    ) -> str | None:
        """One line of the event stream; None at its end. Timeouts follow the turn's deadlines."""
        self._set_timeout(connection, deadline)
        try:
            raw = response.readline()
        except TimeoutError as exc:
            if deadline is not None:
                raise self._slow() from exc
            raise RemoteError(
                "stalled", f"{self.name}: the reply stalled for {self.read_timeout_s} s"
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise RemoteError("stalled", f"{self.name}: the connection broke ({exc})") from exc
        if not raw:
            return None
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def _set_timeout(self, connection: http.client.HTTPConnection, deadline: float | None) -> None:
        """What is left before the first-token deadline, or the pause allowed between tokens."""
        timeout = self.read_timeout_s if deadline is None else deadline - time.perf_counter()
        if timeout <= 0:
            raise self._slow()
        if connection.sock is not None:
            connection.sock.settimeout(timeout)

    def _slow(self) -> RemoteError:
        return RemoteError("slow", f"{self.name}: no first token within {self.first_token_timeout_s} s")

    def _decode(self, payload: str) -> dict[str, Any]:
        try:
            event = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise RemoteError("protocol", f"{self.name}: not a JSON event: {payload[:80]!r}") from exc
        if not isinstance(event, dict):
            raise RemoteError("protocol", f"{self.name}: unexpected event {payload[:80]!r}")
        if "error" in event:
            raise RemoteError("http", f"{self.name}: the server reported: {str(event['error'])[:200]}")
        return event

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.connect_timeout_s, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout_s)
        try:
            connection.connect()
        except TimeoutError as exc:
            raise RemoteError(
                "unreachable", f"{self.name}: no connection within {self.connect_timeout_s} s"
            ) from exc
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise RemoteError("unreachable", f"{self.name}: cannot connect ({reason})") from exc
        return connection

    def _request(
        self,
        connection: http.client.HTTPConnection,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        deadline: float | None,
    ) -> http.client.HTTPResponse:
        body = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "seed": options.seed,
        }
        if self.model:
            body["model"] = self.model
        if options.stop:
            body["stop"] = list(options.stop)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            self._set_timeout(connection, deadline)
            connection.request("POST", self.path, body=json.dumps(body).encode("utf-8"), headers=headers)
            response = connection.getresponse()
        except TimeoutError as exc:
            raise self._slow() from exc
        except (OSError, http.client.HTTPException) as exc:
            raise RemoteError("unreachable", f"{self.name}: the request failed ({exc})") from exc
        if response.status != 200:
            detail = response.read(300).decode("utf-8", "replace").strip()
            raise RemoteError("http", f"{self.name}: HTTP {response.status} {response.reason}: {detail}")
        return response

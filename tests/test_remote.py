"""Cloud-edge collaboration against real HTTP servers on loopback, with the real local model and voice."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from chat_server import ChatServer, closed_port

from speaker.audio.sinks import WavFileSink
from speaker.audio.wavfile import probe
from speaker.dialog.modes import load_modes
from speaker.dialog.session import Dialog
from speaker.events import EventBus, EventLog
from speaker.llm.base import ChatMessage, GenerationOptions, GenerationStats
from speaker.llm.cloud_edge import CloudEdge, CloudEdgePolicy
from speaker.llm.llama import LlamaChatModel
from speaker.llm.remote import RemoteChatModel, RemoteError
from speaker.pipeline.turn import Responder
from speaker.settings import RemoteSettings, default_config_dir
from speaker.tts.piper import PiperSynthesizer

QUESTION = [ChatMessage("system", "Answer briefly."), ChatMessage("user", "Why is the sky blue?")]
OPTIONS = GenerationOptions(max_tokens=40, temperature=0.2)


def remote(url: str, **kw: float) -> RemoteChatModel:
    timeouts = {"connect_timeout_s": 0.5, "first_token_timeout_s": 0.8, "read_timeout_s": 0.8, **kw}
    return RemoteChatModel(url, model="qwen2.5-7b", **timeouts)


def test_streams_an_openai_compatible_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAN_LLM_KEY", "s3cret")
    settings = RemoteSettings(url="", api_key_env="LAN_LLM_KEY", policy="local")
    with ChatServer("streams") as server:
        model = RemoteChatModel.from_settings(replace(settings, url=server.url + "/v1", model="qwen2.5-7b"))
        stats = GenerationStats()
        pieces = list(model.stream(QUESTION, OPTIONS, stats))
    assert pieces == ["The sky", " is blue", "."]
    request = server.requests[0]
    assert request["stream"] is True and request["model"] == "qwen2.5-7b" and request["max_tokens"] == 40
    assert request["messages"] == [{"role": m.role, "content": m.content} for m in QUESTION]
    assert server.headers[0]["Authorization"] == "Bearer s3cret"
    assert stats.completion_tokens == 3 and stats.prompt_tokens == 21 and stats.prompt_seconds > 0


@pytest.mark.parametrize(
    ("behaviour", "kind", "words"),
    [
        ("hangs", "slow", "no first token within 0.8 s"),
        ("fails", "http", "HTTP 500"),
        ("refuses", "unreachable", "cannot connect"),
    ],
)
def test_failures_are_named_and_quick(behaviour: str, kind: str, words: str) -> None:
    started = time.monotonic()
    if behaviour == "refuses":
        with pytest.raises(RemoteError) as caught:
            list(remote(closed_port()).stream(QUESTION, OPTIONS))
    else:
        with ChatServer(behaviour) as server, pytest.raises(RemoteError) as caught:
            list(remote(server.url).stream(QUESTION, OPTIONS))
    assert caught.value.kind == kind and words in caught.value.message
    assert time.monotonic() - started < 10  # bounded by the timeouts, never hanging


def test_a_stall_after_the_first_token_is_its_own_failure() -> None:
    with ChatServer("stalls") as server:
        pieces = remote(server.url).stream(QUESTION, OPTIONS)
        assert next(pieces) == "The sky"
        assert next(pieces) == " is blue"
        with pytest.raises(RemoteError) as caught:
            next(pieces)
    assert caught.value.kind == "stalled"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_policy_decides_per_turn() -> None:
    clock = Clock()
    heavy = CloudEdgePolicy(RemoteSettings(url="http://lan:8080", policy="heavy", retry_after_s=30), clock)
    assert heavy.choose("why is the sky blue", "knowledge", remote_available=True).source == "remote"
    short = heavy.choose("I had a rough day", "empathy", remote_available=True)
    assert short.source == "local" and "short empathy question" in short.reason
    long = "I had a rough day at work and my boss yelled at me in front of everyone, what should I do now"
    assert heavy.choose(long, "empathy", remote_available=True).reason.startswith(
        "policy heavy: long question"
    )
    heavy.failed("slow")
    clock.now = 10
    resting = heavy.choose("why is the sky blue", "knowledge", remote_available=True)
    assert resting.source == "local" and "remote failed 10 s ago (slow)" in resting.reason
    clock.now = 31
    assert heavy.choose("why is the sky blue", "knowledge", remote_available=True).source == "remote"
    local = CloudEdgePolicy(RemoteSettings(url="http://lan:8080", policy="local"))
    assert local.choose("why", "knowledge", remote_available=True).source == "local"
    assert (
        CloudEdgePolicy(RemoteSettings()).choose("x", None, remote_available=False).reason
        == "no remote configured"
    )


def turn(
    llm: LlamaChatModel, tts: PiperSynthesizer, url: str, out: Path, question: str
) -> tuple[object, list[dict]]:
    """One spoken turn through the Responder, with the remote at `url` under the `remote` policy."""
    bus = EventBus()
    log = EventLog()
    bus.subscribe(log)
    settings = RemoteSettings(
        url=url, policy="remote", connect_timeout_s=0.5, first_token_timeout_s=1.0, read_timeout_s=1.0
    )
    cloud = CloudEdge(
        llm,
        bus,
        local_name="smollm2",
        remote=RemoteChatModel.from_settings(settings),
        policy=CloudEdgePolicy(settings),
    )
    dialog = Dialog(load_modes(default_config_dir() / "modes.yaml"))
    sink = WavFileSink(out)
    sink.open()
    result = Responder(tts=tts, sink=sink, bus=bus, llm=llm, dialog=dialog, cloud=cloud).respond(question)
    sink.close()
    return result, [e.to_dict() for e in log.events]


@pytest.mark.slow
def test_the_remote_reply_is_spoken(llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path) -> None:
    with ChatServer(
        "streams", ("Light from the sun", " scatters in the air", ". Blue", " scatters most.")
    ) as server:
        result, events = turn(llm, tts, server.url, tmp_path / "r.wav", "Why is the sky blue?")
    assert result.reply == "Light from the sun scatters in the air. Blue scatters most."
    names = [e["event"] for e in events]
    assert names.index("mode") < names.index("llm_model") < names.index("llm_first_token")
    chosen = [e for e in events if e["event"] == "llm_model"]
    assert (
        len(chosen) == 1 and chosen[0]["source"] == "remote" and chosen[0]["model"].endswith(server.url[7:])
    )
    assert chosen[0]["reason"] == "policy remote"
    assert "error" not in names and probe(tmp_path / "r.wav").duration > 1.5
    assert server.requests[0]["messages"][0]["content"].startswith(
        "You are a voice assistant"
    )  # the mode's prompt


@pytest.mark.slow
@pytest.mark.parametrize("behaviour", ["hangs", "refuses", "fails"])
def test_a_slow_or_absent_remote_falls_back_without_an_error(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path, behaviour: str
) -> None:
    out = tmp_path / "r.wav"
    if behaviour == "refuses":
        result, events = turn(llm, tts, closed_port(), out, "What is the capital of France?")
    else:
        with ChatServer(behaviour) as server:
            result, events = turn(llm, tts, server.url, out, "What is the capital of France?")
    assert "paris" in result.reply.lower()  # the local model answered
    chosen = [e for e in events if e["event"] == "llm_model"]
    assert [c["source"] for c in chosen] == ["remote", "local"]
    kind = {"hangs": "slow", "refuses": "unreachable", "fails": "http"}[behaviour]
    assert chosen[1]["fallback"] is True and chosen[1]["reason"].startswith(f"fallback: remote {kind}")
    assert not [e for e in events if e["event"] == "error"]  # the user hears an answer, not an error
    assert probe(out).duration > 0.5


@pytest.mark.slow
def test_a_remote_that_stalls_mid_reply_ends_at_what_was_said(
    llm: LlamaChatModel, tts: PiperSynthesizer, tmp_path: Path
) -> None:
    with ChatServer("stalls", ("The sky is blue.", " Light", " scatters.")) as server:
        result, events = turn(llm, tts, server.url, tmp_path / "r.wav", "Why is the sky blue?")
    assert result.reply == "The sky is blue."
    reasons = [e["reason"] for e in events if e["event"] == "llm_model"]
    assert reasons[-1].startswith("remote stalled mid-reply")
    assert not [e for e in events if e["event"] == "error"]

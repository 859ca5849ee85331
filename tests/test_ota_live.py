"""Updates inside the running speaker: the voice loop keeps answering from a real-time WAV while a new
language model is downloaded, health-checked and loaded; it is switched in between two turns; and a
new model whose first turns fail is rolled back by itself. Everything goes through handle_manifest,
the boundary the MQTT service calls."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ota_fixtures.device import GEMMA, Operator, device_settings, publish_dir
from speech import SpeechCache, concat

from speaker.app import Speaker, build_speaker
from speaker.audio.sinks import NullSink, WavFileSink
from speaker.audio.sources import WavFileSource
from speaker.audio.wavfile import write_wav
from speaker.events import ErrorEvent, Event, EventBus, EventLog, Ready, TurnDone, Wake
from speaker.models import ModelStore
from speaker.ota.events import OtaProgress, OtaResult
from speaker.ota.runtime import OtaRuntime
from speaker.ota.serve import FileServer
from speaker.pipeline.loop import run_on
from speaker.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma_server(
    store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FileServer, Path]]:
    served = publish_dir(store, tmp_path_factory.mktemp("www"), GEMMA)
    with FileServer(served[GEMMA].parent, "127.0.0.1", 0) as http:
        yield http, served[GEMMA]


def wait_for(log: EventLog, what: Callable[[Event], bool], timeout: float) -> Event:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in list(log.events):
            if what(event):
                return event
        time.sleep(0.05)
    raise AssertionError(f"not seen within {timeout} s; events: {[e.name for e in log.events]}")


def ota_results(log: EventLog, component: str = "llm") -> list[OtaResult]:
    return [e for e in log.events if isinstance(e, OtaResult) and e.component == component]


class LiveSpeaker:
    """`speaker run` assembled the way run_cmd does it, on settings given here."""

    def __init__(self, settings: Settings, store: ModelStore, sink: object) -> None:
        self.bus = EventBus()
        self.log = EventLog()
        self.bus.subscribe(self.log)
        self.ota = OtaRuntime(settings, store, self.bus)
        self.ota.open()
        self.speaker: Speaker = build_speaker(
            settings,
            sink,
            listen=True,
            bus=self.bus,
            models=self.ota.active_models(),  # type: ignore[arg-type]
        )
        self.ota.attach(self.speaker.loop)

    def close(self) -> None:
        self.ota.close()
        self.speaker.close()


def test_a_new_llm_is_switched_in_between_turns_while_the_speaker_keeps_answering(
    store: ModelStore, gemma_server: tuple[FileServer, Path], speech_dir: Path, tmp_path: Path
) -> None:
    http, gemma = gemma_server
    operator = Operator.new()
    settings = device_settings(tmp_path / "ota", operator, trial_turns=1)
    settings = dataclasses.replace(settings, llm=dataclasses.replace(settings.llm, max_tokens=30))
    speech = SpeechCache(speech_dir)
    questions = concat(
        speech.piper("Hey computer. What is the capital of France?", lead=1.0, trail=14.0),
        speech.piper("Hey computer. Why is the sky blue?", lead=0.0, trail=7.0),
    )
    wav = tmp_path / "questions.wav"
    write_wav(wav, questions)
    manifest = operator.manifest("llm", "2.0.0", [(gemma, http.url(gemma.name))], summary="Gemma 3 270M")
    announcement = operator.sign(manifest)

    sink = WavFileSink(tmp_path / "replies.wav", paced=True)
    sink.open()
    live = LiveSpeaker(settings, store, sink)
    old_llm = live.speaker.responder.llm
    # the operator announces the update as soon as the speaker listens: it lands during the first turn
    live.bus.subscribe(
        lambda e: (
            live.ota.handle_manifest(announcement, "speaker/ota/fleet/llm") if isinstance(e, Ready) else None
        )
    )
    runner = threading.Thread(target=run_on, args=(live.speaker.loop, WavFileSource(wav, realtime=True)))
    try:
        runner.start()
        runner.join(120)
        assert not runner.is_alive(), "the voice loop did not finish the input"
        wait_for(live.log, lambda e: isinstance(e, OtaResult) and e.result == "confirmed", 30)
    finally:
        live.close()
        sink.close()

    events = live.log.events
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    done = [e for e in events if isinstance(e, TurnDone)]
    assert len(done) == 2 and all(d.reply for d in done), [d.reply for d in done]
    assert [r.result for r in ota_results(live.log)] == ["installed", "switched", "confirmed"]
    switched = next(r for r in ota_results(live.log) if r.result == "switched")
    turns = list(zip([e for e in events if isinstance(e, Wake)], done, strict=True))
    for wake, turn_done in turns:  # never during a turn
        assert not wake.wall <= switched.wall <= turn_done.wall, (wake.wall, switched.wall, turn_done.wall)
    assert (
        done[0].wall < switched.wall < turns[1][0].wall
    )  # after the first answer, before the second question
    updating_from = next(e.wall for e in events if isinstance(e, OtaProgress))
    installed = next(r for r in ota_results(live.log) if r.result == "installed")
    assert updating_from < done[0].wall and installed.wall > turns[0][0].wall  # updated while answering
    assert live.speaker.responder.llm is not old_llm
    assert live.speaker.responder.llm.model_path.parent == settings.ota.dir / "llm" / "a"  # type: ignore[operator]
    cs = live.ota.slots.component("llm")
    assert (cs.active, cs.trial) == ("a", None)


def test_a_new_llm_whose_first_turn_fails_is_rolled_back_by_itself(
    store: ModelStore, gemma_server: tuple[FileServer, Path], tmp_path: Path
) -> None:
    """Gemma's tokenizer makes the same prompt longer than SmolLM2's: with a context of 256 tokens
    and replies of up to 196, every turn Gemma takes fails (prompt does not fit), while its short
    health check passes and SmolLM2 answers fine. The first failing turn rolls it back."""
    http, gemma = gemma_server
    operator = Operator.new()
    settings = device_settings(tmp_path / "ota", operator, trial_turns=2)
    settings = dataclasses.replace(
        settings,
        llm=dataclasses.replace(settings.llm, context_tokens=256, max_tokens=196),
        dialog=dataclasses.replace(settings.dialog, enabled=False),  # llm.max_tokens, not a mode's
    )
    live = LiveSpeaker(settings, store, NullSink())
    responder, swap = live.speaker.responder, live.ota.swap
    assert swap is not None
    old_llm = responder.llm
    try:
        manifest = operator.manifest("llm", "2.0.0", [(gemma, http.url(gemma.name))])
        live.ota.handle_manifest(operator.sign(manifest), "speaker/ota/fleet/llm")
        wait_for(live.log, lambda e: isinstance(e, OtaResult) and e.result == "installed", 120)
        swap()  # the loop's tick hook, as between two turns
        assert responder.llm is not old_llm
        failed = responder.respond("What is the capital of France?")
        assert failed.reply.startswith("Sorry")
        rolled = wait_for(live.log, lambda e: isinstance(e, OtaResult) and e.result == "rolled_back", 30)
        assert "does not fit the context window" in rolled.reason  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while responder.llm is not old_llm and time.monotonic() < deadline:
            swap()
            time.sleep(0.05)
        assert responder.llm is old_llm  # kept in memory for this: back at once
        answered = responder.respond("What is the capital of France?")
        assert answered.reply and not answered.reply.startswith("Sorry")
    finally:
        live.close()
    cs = live.ota.slots.component("llm")
    assert (cs.active, cs.slots["a"], cs.last_result) == ("factory", None, "rolled_back")
    assert not (settings.ota.dir / "llm" / "a").exists()  # type: ignore[operator]
    assert [r.result for r in ota_results(live.log)] == ["installed", "switched", "rolled_back"]

"""The health check of a staged model, run in a child process: `python -m speaker.ota.healthcheck`.

The child loads the model with the engine the settings name and runs one small inference:
    llm   a few tokens of a reply              tts   one sentence, which must be audible
    asr   decode a bundled sample (English models must hear words in it)
    wake  score the same sample (the default phrase, "hey computer", must be found in it)
If the model crashes or hangs the child, only the child dies: see health.py for the parent side.

Protocol: a JSON request on stdin, {"component", "model": {"path", "main", "version"}, "settings"};
one JSON line on stdout, {"ok": true, "detail": {...}} or {"ok": false, "reason": "..."}.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample_conversation.wav"
SAMPLE_SECONDS = 5.0  # "Hey computer. What is the capital of France?"
SAMPLE_PHRASE = "hey computer"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """If the updater is killed (power cut, SIGKILL), this child must not live on loading models."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _sample() -> Any:
    from speaker.audio.chunk import frames
    from speaker.audio.wavfile import read_mono16k

    audio = read_mono16k(SAMPLE)
    head = audio.audio[: int(SAMPLE_SECONDS * 16000) * 2]
    return frames(replace(audio, audio=head), 480, bytearray())


def check_llm(engine: Any, settings: Any) -> dict[str, Any]:
    from speaker.llm.base import ChatMessage, GenerationOptions, GenerationStats

    stats = GenerationStats()
    messages = [ChatMessage("system", settings.llm.system_prompt), ChatMessage("user", "Say hello.")]
    text = "".join(engine.stream(messages, GenerationOptions(max_tokens=8), stats))
    if stats.completion_tokens < 1:
        raise RuntimeError("the model wrote nothing")
    return {"tokens": stats.completion_tokens, "text": text, "tokens_per_second": stats.tokens_per_second}


def check_tts(engine: Any, settings: Any) -> dict[str, Any]:
    import numpy as np

    chunks = list(engine.synthesize("The new voice is ready."))
    seconds = sum(c.duration for c in chunks)
    peak = max((int(np.abs(c.array()).max()) for c in chunks if c.audio), default=0)
    if seconds < 0.3 or peak < 300:
        raise RuntimeError(f"the voice produced {seconds:.2f} s of audio peaking at {peak}: not speech")
    return {"seconds": round(seconds, 3), "peak": peak}


def check_asr(engine: Any, settings: Any) -> dict[str, Any]:
    stream = engine.start()
    for frame in _sample():
        stream.accept(frame)
    text = stream.finish().strip()
    if settings.asr.language.lower().startswith("en") and not any(c.isalpha() for c in text):
        raise RuntimeError("the recognizer heard no words in the sample question")
    return {"transcript": text}


def check_wake(engine: Any, settings: Any) -> dict[str, Any]:
    scores = [d.score for f in _sample() if (d := engine.process(f)) is not None]
    if settings.wake.phrase.strip().lower() == SAMPLE_PHRASE and not scores:
        raise RuntimeError(f"the detector did not hear {SAMPLE_PHRASE!r} in the sample")
    return {"detections": len(scores), "score": max(scores, default=0.0)}


CHECKS = {"llm": check_llm, "tts": check_tts, "asr": check_asr, "wake": check_wake}


def run_check(request: dict[str, Any]) -> dict[str, Any]:
    from speaker.config_loader import build
    from speaker.engines import build_engine
    from speaker.models import InstalledModel
    from speaker.settings import Settings

    component = request["component"]
    settings = build(Settings, request["settings"])
    if component == "llm":  # one thread: the speaker keeps answering on the other core meanwhile
        settings = replace(settings, llm=replace(settings.llm, threads=1))
    spec = request["model"]
    model = InstalledModel(
        f"{component}-candidate",
        (component,),
        spec["version"],
        "",
        Path(spec["path"]),
        Path(spec["main"]),
        (),
    )
    engine = build_engine(settings, None, component, model=model)  # type: ignore[arg-type]
    engine.load()
    return CHECKS[component](engine, settings)


def main() -> int:
    _die_with_parent()
    from speaker.errors import SpeakerError

    try:
        request = json.loads(sys.stdin.read())
        detail = run_check(request)
    except SpeakerError as exc:
        print(json.dumps({"ok": False, "reason": exc.message}), flush=True)
        return 1
    except Exception as exc:  # whatever a broken model makes the engine raise
        print(json.dumps({"ok": False, "reason": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"ok": True, "detail": detail}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

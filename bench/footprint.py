#!/usr/bin/env python3
"""Idle footprint: memory and CPU of a speaker listening for its wake word, with the real models.

Loads the engines one by one (resident memory after each), then listens in real time to quiet
room noise with no wake word, as a speaker spends most of its life, and prints the CPU it used
(percent of one core) and its resident memory (RSS). Then it answers one question (model and
voice at work, no audio device) and prints the peak resident memory a board must have room for.

    speaker bench footprint                      the default settings and every config/profiles/*.yaml,
                                                 each in a fresh process, as one table
    speaker --config config/profiles/pi4-2gb.yaml bench footprint    one settings file
    options: --seconds 20 (idle listening measured), --json FILE
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def measure(config: str | None, seconds: float) -> dict[str, object]:
    from skills import SkillContext, default_skills
    from speaker.audio.chunk import AudioChunk
    from speaker.audio.sinks import NullSink
    from speaker.audio.sources import WavFileSource
    from speaker.audio.wavfile import write_wav
    from speaker.engines import STAGES, build_engine
    from speaker.events import EventBus
    from speaker.models import ModelStore
    from speaker.pipeline.listening import Listener
    from speaker.pipeline.loop import VoiceLoop, run_on
    from speaker.pipeline.turn import Responder
    from speaker.settings import load_settings

    settings = load_settings(config)
    store = ModelStore.from_settings(settings)
    figures: dict[str, object] = {"config": config or "defaults", "python_mb": status_mb("VmRSS")}
    engines = {stage: build_engine(settings, store, stage) for stage in STAGES}
    started = time.monotonic()
    for stage in ("wake", "vad", "asr", "tts", "llm"):
        before = status_mb("VmRSS")
        engines[stage].load()
        figures[f"{stage}_mb"] = status_mb("VmRSS") - before
    bus = EventBus()
    responder = Responder(
        tts=engines["tts"],
        sink=NullSink(),
        bus=bus,
        llm=engines["llm"],
        llm_settings=settings.llm,
        skills=default_skills(),
        skill_context=SkillContext(language=settings.asr.language),
    )
    before = status_mb("VmRSS")
    responder.warm()
    figures["prompt_cache_mb"] = status_mb("VmRSS") - before
    figures["load_seconds"] = time.monotonic() - started
    figures["loaded_mb"] = status_mb("VmRSS")
    loop = VoiceLoop(
        wake=engines["wake"],
        listener=Listener(engines["vad"], engines["asr"], settings.vad),
        responder=responder,
        bus=bus,
        audio=settings.audio,
        wake_settings=settings.wake,
    )
    # Quiet room noise (about -50 dBFS) and no wake word: the speaker idling.
    noise = np.random.default_rng(1).normal(0.0, 100.0, int(16000 * seconds)).astype(np.int16)
    with tempfile.TemporaryDirectory(prefix="speaker-footprint-") as work:
        wav = Path(work) / "idle.wav"
        write_wav(wav, AudioChunk.from_array(noise, 16000))
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        run_on(loop, WavFileSource(wav, realtime=True))
        figures["idle_cpu_percent"] = 100.0 * (cpu_seconds() - cpu0) / (time.monotonic() - wall0)
    figures["idle_rss_mb"] = status_mb("VmRSS")
    figures["idle_peak_mb"] = status_mb("VmHWM")
    # One question answered (model and voice at work): the peak a board must have room for.
    responder.respond("Why is the sky blue?")
    figures["turn_rss_mb"] = status_mb("VmRSS")
    figures["peak_rss_mb"] = status_mb("VmHWM")
    figures["llm_threads"] = settings.llm.threads
    figures["context_tokens"] = settings.llm.context_tokens
    figures["max_tokens"] = settings.llm.max_tokens
    figures["models"] = {
        "wake": settings.wake.model,
        "asr": settings.asr.model,
        "llm": settings.llm.model,
        "tts": settings.tts.voice,
    }
    return figures


def print_one(f: dict[str, object]) -> None:
    print(f"speaker bench footprint: {f['config']}")
    print(f"  models           {', '.join(f'{k} {v}' for k, v in f['models'].items())}")  # type: ignore[union-attr]
    print(
        f"  llm              {f['llm_threads']} threads, context {f['context_tokens']} tokens, "
        f"replies up to {f['max_tokens']} tokens"
    )
    print(f"  python + imports {f['python_mb']:7.0f} MB")
    for stage in ("wake", "vad", "asr", "tts", "llm", "prompt_cache"):
        print(f"  + {stage:<14} {f[f'{stage}_mb']:7.0f} MB")
    print(f"  loaded           {f['loaded_mb']:7.0f} MB resident, in {f['load_seconds']:.1f} s")
    idle = f"{f['idle_rss_mb']:7.0f} MB resident, {f['idle_cpu_percent']:.1f} % of one core"
    print(f"  idle listening   {idle}")
    print(f"  after one answer {f['turn_rss_mb']:7.0f} MB resident, peak {f['peak_rss_mb']:.0f} MB")


def print_table(rows: list[dict[str, object]]) -> None:
    print(
        f"{'settings':<34} {'threads':>7} {'context':>7} {'loaded':>9} {'idle RSS':>9} "
        f"{'idle CPU':>9} {'peak, answering':>16} {'load':>6}"
    )
    for f in rows:
        print(
            f"{str(f['config']):<34} {f['llm_threads']:>7} {f['context_tokens']:>7} "
            f"{f['loaded_mb']:>6.0f} MB {f['idle_rss_mb']:>6.0f} MB {f['idle_cpu_percent']:>7.1f} % "
            f"{f['peak_rss_mb']:>13.0f} MB {f['load_seconds']:>5.1f}s"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="idle listening measured (default 20)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--config", help="one settings file; without it: defaults and every profile")
    args = parser.parse_args()

    if args.config:
        figures = measure(args.config, args.seconds)
        print_one(figures)
        rows = [figures]
    else:
        profiles = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "config/profiles").glob("*.yaml"))
        configs = ["config/speaker.yaml", *profiles]  # the defaults merged over themselves: the defaults
        rows = []
        for config in configs:
            print(f"measuring {config} ({args.seconds:.0f} s idle) ...", flush=True)
            with tempfile.TemporaryDirectory(prefix="speaker-footprint-") as work:
                out = Path(work) / "figures.json"
                cmd = [sys.executable, __file__, "--seconds", str(args.seconds), "--json", str(out)]
                done = subprocess.run(
                    [*cmd, "--config", str(ROOT / config)],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
                if done.returncode != 0:
                    print(done.stderr, file=sys.stderr)
                    return 1
                row = json.loads(out.read_text())
            row["config"] = config
            rows.append(row)
        print()
        print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows[0] if args.config else rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

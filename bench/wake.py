#!/usr/bin/env python3
"""Wake word CPU: what listening for the wake word costs, in percent of one core.

Feeds the configured wake engine (default: the trained classifier) 30 ms frames of
  - quiet room noise (how a speaker spends most of its life: the `idle` figure),
  - continuous talk with no wake word (a TV or a conversation: the worst case),
and prints the CPU time it used per second of audio. The pocketsphinx keyphrase spotter is
measured the same way for comparison. For a model with a phone check it also prints what one hit's
check costs (it runs only at hits of the networks). Accuracy is measured by `speaker wake eval`.

    speaker bench wake [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def room_noise(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(3)
    white = rng.standard_normal(int(seconds * 16000))
    pink = np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.arange(1, len(white) // 2 + 2)), n=len(white))
    return (pink / np.abs(pink).max() * 150).astype(np.int16)  # about -50 dBFS


def talk(seconds: float) -> np.ndarray:
    from speaker.speechgen import espeak
    from speaker.wake.training.texts import ordinary

    sentences = ordinary(evaluation=True)
    parts, total, i = [], 0, 0
    while total < seconds * 16000:
        voice = ("en-us+m3", "en-gb-scotland+f4", "en-us+klatt3")[i % 3]
        samples = espeak(sentences[i % len(sentences)], voice=voice).array()[:, 0]
        parts += [samples, np.zeros(3200, np.int16)]
        total += len(samples) + 3200
        i += 1
    return np.concatenate(parts)[: int(seconds * 16000)]


def cpu_percent(detector, audio: np.ndarray) -> tuple[float, int]:
    from speaker.audio.chunk import AudioChunk
    from speaker.wake.base import detect_all

    chunk = AudioChunk.from_array(audio, 16000)
    start = cpu_seconds()
    detections = len(detect_all(detector, chunk))
    used = cpu_seconds() - start
    return 100.0 * used / (len(audio) / 16000), detections


def phone_check_cost(detector, audio: np.ndarray, repeats: int = 10) -> dict[str, float] | None:
    """Milliseconds one hit's phone check takes, by part, and the CPU time of the whole (None: the
    model has no check). Wall time is what the check adds to a wake's latency; CPU time counts all
    threads (numpy's and onnxruntime's), so it is more than the wall time on a multi-core board."""
    from speaker.wake.features import Embedder
    from speaker.wake.pairs import taken_for

    check = getattr(detector, "phone_check", None)
    if check is None:
        return None
    embedder = Embedder()
    mel = embedder.mel(audio[: int((check.before_s + check.after_s) * 16000)].astype(np.float32))
    steps = check.features(embedder, mel)
    log_probs = check.model.log_probs(steps)
    check.last_features, check.last_log_probs = steps, log_probs  # what the pair networks hear
    parts = {
        "features": lambda: check.features(embedder, mel),
        "recognizers": lambda: check.model.log_probs(steps),
        "rivals": lambda: check.rival_score(log_probs),
        "pair networks": lambda: taken_for(detector.model.pairs, check),
        "whole check": lambda: check.score(embedder, mel),
    }
    cost = {}
    for name, run in parts.items():
        run()  # warm
        start, wall = cpu_seconds(), time.perf_counter()
        for _ in range(repeats):
            run()
        cost[name] = 1000 * (time.perf_counter() - wall) / repeats
        if name == "whole check":
            cost["CPU"] = 1000 * (cpu_seconds() - start) / repeats
    return cost


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per condition (default 60)")
    parser.add_argument("--config", help="settings file (default: the shipped ones)")
    args = parser.parse_args()

    from dataclasses import replace

    from speaker.engines import build_engine
    from speaker.models import ModelStore
    from speaker.settings import load_settings

    settings = load_settings(args.config)
    store = ModelStore.from_settings(settings)
    engines = [settings.wake.engine] + (["pocketsphinx"] if settings.wake.engine != "pocketsphinx" else [])
    conditions = {"idle (room noise)": room_noise(args.seconds), "continuous talk": talk(args.seconds)}
    print(f"wake word CPU, percent of one core ({args.seconds:.0f} s of audio each, 30 ms frames)")
    print(f"{'engine':<14} {'condition':<20} {'CPU %':>6} {'detections':>10}")
    for engine in engines:
        detector = build_engine(replace(settings, wake=replace(settings.wake, engine=engine)), store, "wake")
        detector.load()
        for name, audio in conditions.items():
            percent, detections = cpu_percent(detector, audio)
            print(f"{engine:<14} {name:<20} {percent:6.2f} {detections:10d}", flush=True)
        cost = phone_check_cost(detector, conditions["continuous talk"])
        if cost is not None:
            members = len(getattr(detector.phone_check.model, "members", [None]))
            parts = ", ".join(f"{name} {cost[name]:.0f}" for name in ("features", "recognizers", "rivals"))
            print(
                f"{engine:<14} phone check, per hit: {cost['whole check']:.0f} ms ({parts}; "
                f"{cost['CPU']:.0f} ms CPU; {members} recognizer(s), "
                f"{len(detector.phone_check.rivals)} rival sequences); "
                f"then {len(detector.model.pairs)} pair network(s) {cost['pair networks']:.2f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Voice-loop benchmark: spoken questions through the real loop, in real time, with the real models.

Prints p50/p95 of end of speech -> first reply audio and endpoint decision -> first reply audio,
the stages in between, LLM tokens/s, TTS real-time factor, CPU while idle-listening for the
wake word, and peak memory. It also answers the same questions the plain sequential way (whole
ASR, then the whole LLM reply, then the whole TTS) and prints how much sooner streaming speaks.

    speaker bench loop [--turns 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from speaker.app import build_speaker
from speaker.audio.chunk import AudioChunk, frames
from speaker.audio.sinks import NullSink, PlaybackClock
from speaker.audio.sources import WavFileSource
from speaker.audio.wavfile import read_mono16k, write_wav
from speaker.events import EventLog
from speaker.models import ModelStore
from speaker.pipeline.loop import run_on
from speaker.settings import load_settings
from speaker.speechgen import speak_to_files

QUESTIONS = [
    "What is the capital of France?",
    "Why is the sky blue?",
    "How far away is the moon?",
    "Who wrote Romeo and Juliet?",
    "What do bees make?",
    "How many legs does a spider have?",
    "What is the largest ocean?",
    "How do I clean a cast iron pan?",
    "How long should I boil an egg?",
    "How can I keep bread fresh?",
    "What is a good way to fall asleep faster?",
    "How do I remove a coffee stain?",
    "I had a rough day at work.",
    "I feel a bit lonely tonight.",
    "I am nervous about my exam tomorrow.",
    "Give me an idea for a birthday present.",
    "Suggest a name for my new puppy.",
    "Tell me a short story about a dragon.",
    "What should I cook for dinner tonight?",
    "Give me an idea for a weekend trip.",
    "What is the tallest mountain in the world?",
    "How many days are in a leap year?",
]


class PacedSink(NullSink):
    """Plays nothing but takes as long as playing would (PlaybackClock, as a paced WAV file does),
    so that synthesis and listening share the machine with playback as on a speaker. Notes every
    gap: audio that arrived after what was queued before it had finished playing."""

    def __init__(self) -> None:
        self.gaps: list[float] = []  # seconds of silence inside replies, one per gap
        self._clock = PlaybackClock()

    def play(self, chunk: AudioChunk) -> None:
        now, until = time.monotonic(), self._clock.until
        if until is not None and now > until + 0.01:
            self.gaps.append(now - until)
        self._clock.play(chunk.duration)

    def end_reply(self) -> None:
        self._clock.drain()

    def stop(self) -> None:
        self._clock.stop()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def row(name: str, values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    if not values:
        return f"  {name:<44} (none)"
    p50, p95 = percentile(values, 50) * scale, percentile(values, 95) * scale
    return f"  {name:<44} p50 {p50:7.0f} {unit}   p95 {p95:7.0f} {unit}   (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=20, help="spoken questions to answer (default 20)")
    parser.add_argument("--idle-seconds", type=float, default=20.0, help="idle listening to measure CPU")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--config", help="settings file merged over the defaults")
    args = parser.parse_args()

    settings = load_settings(args.config)
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.turns)]
    work = Path(tempfile.mkdtemp(prefix="speaker-bench-"))
    voice_path = ModelStore.from_settings(settings).require(settings.tts.voice).main
    lines = [(f"Hey computer. {q}", work / f"q{i}.wav", 0.6, 1.2) for i, q in enumerate(questions)]
    lines += [(q, work / f"plain{i}.wav", 0.2, 0.2) for i, q in enumerate(questions)]
    maker = multiprocessing.get_context("spawn").Process(target=speak_to_files, args=(voice_path, lines))
    maker.start()
    maker.join()
    if maker.exitcode != 0:
        print("could not make the spoken questions", file=sys.stderr)
        return 1

    sink = PacedSink()
    speaker = build_speaker(settings, sink, listen=True)
    assert speaker.loop is not None
    log = EventLog()
    speaker.bus.subscribe(log)

    print(
        f"speaker bench loop: {len(questions)} spoken questions in real time; models loaded in "
        f"{speaker.engines.load_seconds:.1f} s",
        flush=True,
    )
    per_turn: list[dict[str, float]] = []
    for i in range(len(questions)):
        wav = work / f"q{i}.wav"
        start, gaps = len(log.events), len(sink.gaps)
        run_on(speaker.loop, WavFileSource(wav, realtime=True))
        turn = {e.name: e for e in log.events[start:]}
        if not {"speech_end", "tts_first_audio", "turn_done"} <= turn.keys():
            print(f"  turn {i + 1}: no answer ({', '.join(turn)})", flush=True)
            continue
        end, done = turn["speech_end"], turn["turn_done"]
        first_audio = turn["tts_first_audio"].wall
        timings = done.timings  # seconds after the endpoint (negative: prepared before it)
        figures = {
            "speech_end_to_audio": first_audio - end.last_voiced_wall,
            "endpoint_to_audio": first_audio - end.wall,
            "endpoint_to_transcript": turn["transcript"].wall - end.wall,
            "endpoint_to_first_token": timings.get("llm_first_token", float("nan")),
            "endpoint_to_first_piece": timings.get("first_sentence", float("nan")),
            "prepared_ahead": timings.get("prepared", float("nan")),
            "tokens_per_second": done.llm.get("tokens_per_second", 0.0),
            "gaps": len(sink.gaps) - gaps,
            "gap_seconds": sum(sink.gaps[gaps:]),
        }
        per_turn.append(figures)
        print(
            f"  turn {i + 1:>2}: {1000 * figures['endpoint_to_audio']:5.0f} ms  "
            f"{turn['transcript'].text!r} -> {done.reply[:60]!r}",
            flush=True,
        )

    # Idle listening: low room noise, no wake word, real time.
    idle_wav = work / "idle.wav"
    room = np.random.default_rng(0).normal(0.0, 60.0, int(16000 * args.idle_seconds))  # quiet room noise
    write_wav(idle_wav, AudioChunk.from_array(room.astype(np.int16), 16000))
    # First a few seconds to settle after the last reply.
    settle_wav = work / "settle.wav"
    write_wav(settle_wav, AudioChunk.from_array(room[: 16000 * 5].astype(np.int16), 16000))
    run_on(speaker.loop, WavFileSource(settle_wav, realtime=True))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run_on(speaker.loop, WavFileSource(idle_wav, realtime=True))
    idle_cpu = 100.0 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    # The speaker's peak, before the sequential baseline below (not the speaker) adds its own.
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The same questions answered the plain way: whole ASR, then whole reply, then whole TTS.
    sequential: list[float] = []
    tts_rtf: list[float] = []
    engines = speaker.engines
    for i in range(len(questions)):
        audio = read_mono16k(work / f"plain{i}.wav")
        t0 = time.perf_counter()
        stream = engines.asr.start()
        for frame in frames(audio, 480, bytearray()):
            stream.accept(frame)
        text = stream.finish()
        reply = "".join(engines.llm.stream(speaker.responder.messages(text), speaker.responder.options()))
        t_tts = time.perf_counter()
        spoken = list(engines.tts.synthesize(reply or "Sorry."))
        done = time.perf_counter()
        sequential.append(done - t0)
        seconds = sum(c.duration for c in spoken)
        if seconds > 0:
            tts_rtf.append((done - t_tts) / seconds)

    def col(key: str) -> list[float]:
        return [t[key] for t in per_turn if t[key] == t[key]]

    streamed_p50 = percentile(col("endpoint_to_audio"), 50)
    print()
    print("latency (streamed loop, real time)")
    print(row("end of speech (last voiced frame) -> audio", col("speech_end_to_audio")))
    print(row("endpoint decision -> first reply audio", col("endpoint_to_audio")))
    print(row("  endpoint -> final transcript", col("endpoint_to_transcript")))
    print(row("  endpoint -> first LLM token", col("endpoint_to_first_token")))
    print(row("  endpoint -> first piece of the reply written", col("endpoint_to_first_piece")))
    prepared = col("prepared_ahead")
    print(row("  answer prepared ahead, started before endpoint", prepared))
    print(
        f"  (negative: before the endpoint; {len(prepared)} of {len(per_turn)} answers were prepared ahead)"
    )
    print(row("sequential: endpoint -> first audio", sequential))
    ratio = percentile(sequential, 50) / streamed_p50 if streamed_p50 else float("nan")
    print(f"  streaming speaks {ratio:.1f}x sooner than sequential (p50)")
    gaps = col("gaps")
    print(
        f"  gaps inside replies (audio not ready in time): {sum(gaps):.0f} in {len(gaps)} replies, "
        f"{sum(col('gap_seconds')):.2f} s in all"
    )
    print("throughput")
    decode = percentile(col("tokens_per_second"), 50)
    print(f"  LLM decode                                   p50 {decode:7.0f} tokens/s")
    print(f"  TTS real-time factor                         p50 {percentile(tts_rtf, 50):7.3f}")
    print("resources")
    print(f"  idle listening CPU                           {idle_cpu:7.1f} % of one core")
    print(f"  peak RSS                                     {peak_rss_mb:7.0f} MB")
    targets = [
        ("endpoint -> first audio p50 <= 350 ms", streamed_p50 <= 0.350),
        ("idle CPU <= 10% of one core", idle_cpu <= 10.0),
        ("peak RSS <= 800 MB", peak_rss_mb <= 800),
    ]
    print("targets")
    for name, ok in targets:
        print(f"  [{'met' if ok else 'MISSED'}] {name}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "turns": per_turn,
                    "sequential": sequential,
                    "tts_rtf": tts_rtf,
                    "idle_cpu_percent": idle_cpu,
                    "peak_rss_mb": peak_rss_mb,
                },
                indent=2,
            )
        )
    speaker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Dialog-mode benchmark: router speed, time to first sentence per mode, and what reusing prompt state gains.

    speaker bench modes [--rounds 3] [--json FILE]

1. Router: every utterance routed many times (no model loaded); mean and p99 per utterance,
   and how long `speaker route` takes as a fresh process.
2. Per mode: typical questions answered with the real model and voice (output to nowhere):
   time from the end of the question to the first LLM token, first sentence, first audio.
3. Prompt state: the same question answered right after another mode's turn, once with every
   mode's system prompt state saved (what the speaker does) and once with nothing saved (the
   system prompt evaluated again); and a conversation's second turn against the same prompt
   evaluated cold. Prompt tokens evaluated are llama.cpp's own count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from speaker.app import build_speaker
from speaker.audio.sinks import NullSink
from speaker.dialog.modes import load_modes
from speaker.dialog.router import ModeRouter
from speaker.llm.base import GenerationOptions, GenerationStats
from speaker.settings import load_settings

QUESTIONS = {
    "knowledge": ["Why is the sky blue?", "How far away is the moon?", "月亮为什么会发光？"],
    "empathy": ["I had a rough day at work.", "I feel a bit lonely tonight.", "我今天有点难过。"],
    "life_tips": ["How do I clean a cast iron pan?", "How can I keep bread fresh?", "衣服上的油渍怎么洗掉？"],
    "inspiration": [
        "Give me an idea for a birthday present.",
        "Suggest a name for my puppy.",
        "给我讲个小故事。",
    ],
}
ROUTED = [q for qs in QUESTIONS.values() for q in qs] + [
    "switch to inspiration mode",
    "切换到生活妙招模式",
    "and why is that?",
    "What's the difference between a crocodile and an alligator?",
    "My boss yelled at me in front of everyone today and I don't know what to do about it.",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def bench_router(config: str | None, repeats: int) -> dict[str, float]:
    settings = load_settings(config)
    router = ModeRouter(load_modes(settings.modes_path))
    times: list[float] = []
    cpu: list[float] = []  # CPU time: what routing costs, without the waits of a busy machine
    for _ in range(repeats):
        for text in ROUTED:
            t, c = time.perf_counter(), time.thread_time()
            router.route(text, current="empathy")
            cpu.append(time.thread_time() - c)
            times.append(time.perf_counter() - t)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "speaker", "route", "why is the sky blue?"], capture_output=True, check=True
    )
    process = time.perf_counter() - started
    return {"mean_ms": 1000 * statistics.mean(times), "p99_ms": 1000 * pct(times, 99),
            "max_ms": 1000 * max(times), "cpu_mean_ms": 1000 * statistics.mean(cpu),
            "cpu_p99_ms": 1000 * pct(cpu, 99), "process_s": process}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked (default 3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--config", help="settings file merged over the defaults")
    args = parser.parse_args()
    figures: dict[str, object] = {}

    router = bench_router(args.config, repeats=200)
    figures["router"] = router
    print("router (no model loaded)")
    print(f"  per utterance (wall)  mean {router['mean_ms']:.3f} ms   p99 {router['p99_ms']:.3f} ms   "
          f"max {router['max_ms']:.3f} ms")  # fmt: skip
    print(f"  per utterance (CPU)   mean {router['cpu_mean_ms']:.3f} ms   p99 {router['cpu_p99_ms']:.3f} ms")
    print(f"  `speaker route` as a new process: {router['process_s']:.2f} s", flush=True)

    settings = load_settings(args.config)
    speaker = build_speaker(settings, NullSink(), listen=False, warm=False)
    responder, llm, dialog = speaker.responder, speaker.engines.llm, speaker.responder.dialog
    assert dialog is not None
    started = time.perf_counter()
    responder.warm(("en", "zh"))
    warm_s = time.perf_counter() - started
    figures["warm_seconds"] = warm_s
    print(f"\nmodels loaded in {speaker.engines.load_seconds:.1f} s; the 8 mode prompts (English, Chinese) "
          f"evaluated and saved in {warm_s:.1f} s")  # fmt: skip

    per_mode: dict[str, dict[str, list[float]]] = {}
    print("\ntime to first sentence per mode (typed question, 2 English + 1 Chinese, reply to nowhere;")
    print("first audio: English only, the voice is English)")
    for mode, questions in QUESTIONS.items():
        rows: dict[str, list[float]] = {"llm_first_token": [], "first_sentence": [], "first_audio": []}
        responder.warm(("en", "zh"))
        for _ in range(args.rounds):
            for question in questions:
                dialog.memory.clear()
                result = responder.respond(question, mode=mode)
                for key in rows:
                    if key in result.timings:
                        rows[key].append(result.timings[key])
        per_mode[mode] = rows
        first = rows["first_sentence"]
        print(f"  {mode:<12} first token p50 {1000 * pct(rows['llm_first_token'], 50):5.0f} ms   "
              f"first sentence p50 {1000 * pct(first, 50):5.0f} ms  p95 {1000 * pct(first, 95):5.0f} ms   "
              f"first audio p50 {1000 * pct(rows['first_audio'], 50):5.0f} ms", flush=True)  # fmt: skip
    figures["per_mode"] = per_mode

    print("\nprompt state reuse (time from the call to the first token; evaluated = llama.cpp's count)")
    options = GenerationOptions(max_tokens=2, temperature=0.0)
    reuse: dict[str, dict[str, float]] = {}
    modes = list(QUESTIONS)
    for i, mode in enumerate(modes):
        other = modes[(i + 1) % len(modes)]
        dialog.memory.clear()
        plan = dialog.plan(QUESTIONS[mode][0], forced_mode=mode)
        before = dialog.plan(QUESTIONS[other][0], forced_mode=other)
        cells: dict[str, float] = {}
        responder.warm(("en", "zh"))  # every mode's prompt state saved, as on a running speaker
        for label, forget in (("saved", False), ("cold", True)):
            seconds, evaluated = [], []
            for _ in range(args.rounds):
                if forget:
                    llm.forget_saved_prompts()
                list(llm.stream(list(before.messages), options))  # another mode's turn came first
                stats = GenerationStats()
                list(llm.stream(list(plan.messages), options, stats))
                seconds.append(stats.prompt_seconds)
                evaluated.append(stats.extra["evaluated_tokens"])
            cells[f"{label}_ms"] = 1000 * statistics.median(seconds)
            cells[f"{label}_evaluated"] = statistics.median(evaluated)
        cells["prompt_tokens"] = len(llm.prompt_tokens(list(plan.messages)))
        reuse[mode] = cells
        gain = cells["cold_ms"] - cells["saved_ms"]
        print(f"  {mode:<12} saved {cells['saved_ms']:5.0f} ms ({cells['saved_evaluated']:3.0f} of "
              f"{cells['prompt_tokens']:3.0f} tokens)   cold {cells['cold_ms']:5.0f} ms "
              f"({cells['cold_evaluated']:3.0f} tokens)   gain {gain:5.0f} ms", flush=True)  # fmt: skip
    figures["prompt_state"] = reuse

    responder.warm(("en", "zh"))
    saved = (len(llm._saved), llm.saved_prompt_bytes / 1e6)
    dialog.memory.clear()
    first = dialog.plan("What is the capital of France?")
    reply = "".join(llm.stream(list(first.messages), first.options))
    dialog.remember(first, reply)
    second = dialog.plan("And of Germany?")
    reused, cold, evaluated = [], [], []
    for _ in range(args.rounds):
        "".join(llm.stream(list(first.messages), first.options))  # the first turn, as it happened
        stats = GenerationStats()
        list(llm.stream(list(second.messages), options, stats))
        reused.append(stats.prompt_seconds)
        evaluated.append(stats.extra["evaluated_tokens"])
        llm.forget_saved_prompts()
        stats_cold = GenerationStats()
        list(llm.stream(list(second.messages), options, stats_cold))
        cold.append(stats_cold.prompt_seconds)
    turn2 = {
        "prompt_tokens": stats.prompt_tokens,
        "evaluated": statistics.median(evaluated),
        "reused_ms": 1000 * statistics.median(reused),
        "cold_ms": 1000 * statistics.median(cold),
    }
    figures["second_turn"] = turn2
    print(f"  second turn of a conversation: {turn2['evaluated']:.0f} of {turn2['prompt_tokens']} tokens "
          f"evaluated, first token {turn2['reused_ms']:.0f} ms (all {turn2['prompt_tokens']} cold: "
          f"{turn2['cold_ms']:.0f} ms)")  # fmt: skip
    print(f"  saved prompt states (4 modes x English, Chinese): {saved[0]}, {saved[1]:.1f} MB")
    figures["saved_prompts"] = {"count": saved[0], "megabytes": saved[1]}

    print("targets")
    for name, ok in [
        ("router p99 < 5 ms per utterance", router["p99_ms"] < 5.0),
        ("saved prompt state is faster than evaluating it again (every mode)",
         all(c["saved_ms"] < c["cold_ms"] for c in reuse.values())),
        ("a second turn evaluates only its new tokens", turn2["evaluated"] < turn2["prompt_tokens"] / 2),
    ]:  # fmt: skip
        print(f"  [{'met' if ok else 'MISSED'}] {name}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    speaker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Doctor: free disk and memory against what the configured models need.

Memory is estimated from the model files with factors measured by bench/footprint.py on the
default models (python and libraries 60 MB; an LLM its file plus its KV cache; a piper voice
2.2 times its file; pocketsphinx ASR 2.4 times its directory, its wake word 0.75 times; vosk
about its size) plus what answering adds on top (the voice synthesizing a sentence, the model's
compute buffers): 100 MB. On the default models that gives 554 MB; the benchmark measured a
peak of 520-555 MB (x86_64; the same model files take the same memory on a Pi).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from speaker.doctor import Finding, megabytes
from speaker.doctor.models import configured_models, model_states
from speaker.engines import engine_name
from speaker.models import ModelStore
from speaker.settings import Settings

MB = 1_000_000
RUNTIME = 60 * MB
ANSWERING = 100 * MB
KV_BYTES_PER_TOKEN = 32_000  # f16 K and V for a ~100-300M model (SmolLM2-135M: 23 KB/token)
FACTORS = {
    "llm:llama": 1.0,  # the file is mapped; the KV cache is added below
    "tts:piper": 2.2,
    "asr:pocketsphinx": 2.4,
    "wake:pocketsphinx": 0.75,
    "asr:vosk": 1.1,
    "wake:vosk": 1.1,
}
OS_RESERVE = 150 * MB  # the kernel, systemd, sshd and friends on Raspberry Pi OS Lite
FETCH_MARGIN = 50 * MB


def memory_needed(settings: Settings, store: ModelStore) -> int:
    """Estimated peak resident memory of the speaker, answering, with these settings (bytes)."""
    states = model_states(settings, store)
    total = RUNTIME + ANSWERING
    for model_id, roles in configured_models(settings).items():
        status = states[model_id]
        size = (status.size if status else None) or 0
        factor = 0.0
        for role in roles:
            factor = max(
                factor, 1.0 if role == "llm" else FACTORS.get(f"{role}:{engine_name(settings, role)}", 1.0)
            )
        total += int(size * factor)
    return total + settings.llm.context_tokens * KV_BYTES_PER_TOKEN


def check_disk(settings: Settings, store: ModelStore) -> Finding:
    where = store.root
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    sizes = {i: (s.size if s else None) or 0 for i, s in model_states(settings, store).items()}
    states = model_states(settings, store)
    missing = sum(sizes[i] for i, s in states.items() if s is not None and s.state != "installed")
    largest = max(sizes.values(), default=0)
    text = f"{megabytes(free)} free for {store.root}"
    if free < missing + FETCH_MARGIN:
        return Finding(
            "disk",
            "fail",
            f"{text}; the missing models need {megabytes(missing)}",
            "free some space (sudo apt-get clean, old logs), or put models.dir on a bigger disk",
        )
    if free < missing + largest + 2 * FETCH_MARGIN:
        return Finding(
            "disk",
            "warn",
            f"{text}: no room to update the largest model ({megabytes(largest)}) beside the old one",
            "free some space, or put models.dir on a bigger disk",
        )
    return Finding("disk", "ok", f"{text}" + (f"; {megabytes(missing)} still to fetch" if missing else ""))


def read_meminfo(path: Path = Path("/proc/meminfo")) -> dict[str, int]:
    """/proc/meminfo in bytes."""
    info = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            info[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return info


def check_memory(settings: Settings, store: ModelStore, meminfo: dict[str, int] | None = None) -> Finding:
    info = meminfo if meminfo is not None else read_meminfo()
    total, available, swap = info.get("MemTotal", 0), info.get("MemAvailable", 0), info.get("SwapTotal", 0)
    need = memory_needed(settings, store)
    text = (
        f"needs about {megabytes(need)} answering; {megabytes(total)} memory, "
        f"{megabytes(available)} available, {megabytes(swap)} swap"
    )
    smaller = "use a low-resource profile (--config config/profiles/pi-zero-2w.yaml or pi4-2gb.yaml)"
    if need > total - OS_RESERVE + swap:
        return Finding(
            "memory", "fail", f"{text}: too little", f"{smaller}, or add swap (sudo apt install zram-tools)"
        )
    if need > total - OS_RESERVE:
        return Finding("memory", "warn", f"{text}: it relies on swap, answers will be slow", smaller)
    if need > available:
        return Finding(
            "memory",
            "warn",
            f"{text}: other programs use the rest (or the speaker service itself, if it runs)",
            "stop what is not needed; see `top` (press M)",
        )
    return Finding("memory", "ok", text)

#!/usr/bin/env python3
"""OTA benchmark: from the announcement of a new ~100 MB language model to the running speaker
answering with it (switched) after its health check, with the speaker's voice loop running.

The model is SmolLM2 135M (98 MB, from the model store), served over HTTP by the same server as
`speaker ota serve`, optionally throttled to a LAN's speed. Each run announces a new version
through handle_manifest (what the MQTT service calls), so the slots alternate; the loop listens
to a real-time silent input meanwhile and swaps the engine when idle. Prints per-phase times.

    speaker bench ota [--runs 3] [--mbps 0 (no limit) | 100 | 300] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from speaker.app import build_speaker
from speaker.audio.chunk import silence
from speaker.audio.sinks import NullSink
from speaker.audio.sources import WavFileSource
from speaker.audio.wavfile import write_wav
from speaker.events import EventBus, EventLog
from speaker.models import ModelStore
from speaker.ota.events import OtaProgress, OtaResult
from speaker.ota.publish import LocalFile, build_manifest, serial_now
from speaker.ota.runtime import OtaRuntime
from speaker.ota.serve import FileHandler, FileServer
from speaker.ota.signing import public_key_text, sign
from speaker.pipeline.loop import run_on
from speaker.settings import OtaSettings, load_settings
from speaker.speechgen import add_noise

MODEL = "smollm2-135m-instruct-q4_1"
TARGET_S = 15.0


class Throttled(FileHandler):
    """Sends at most `rate` bytes per second (a LAN, not loopback)."""

    rate = 0.0

    def _copy(self, path: Path, offset: int, count: int) -> None:
        if not self.rate:
            super()._copy(path, offset, count)
            return
        started, sent = time.monotonic(), 0
        with path.open("rb") as f:
            f.seek(offset)
            try:
                while sent < count:
                    block = f.read(min(256 * 1024, count - sent))
                    if not block:
                        break
                    self.wfile.write(block)
                    sent += len(block)
                    ahead = sent / self.rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            except OSError:
                return


def phase_times(events: list, t0: float) -> dict[str, float]:
    """Seconds from the announcement to the first event of each phase and to each result."""
    marks: dict[str, float] = {}
    for e in events:
        key = e.phase if isinstance(e, OtaProgress) else e.result if isinstance(e, OtaResult) else None
        if key and key not in marks:
            marks[key] = e.wall - t0
    return marks


def ended(events: list) -> list[OtaResult]:
    """The results that end an update here: switched, or anything but installed."""
    return [e for e in events if isinstance(e, OtaResult) and e.result != "installed"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="updates to time (default 3)")
    parser.add_argument("--mbps", type=float, default=0.0, help="throttle the HTTP server (Mbit/s; 0: none)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--config", help="settings file merged over the defaults")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="speaker-bench-ota-"))
    key = Ed25519PrivateKey.generate()
    base = load_settings(args.config)
    ota = OtaSettings(dir=work / "ota", trusted_keys=(public_key_text(key.public_key()),), trial_turns=0)
    settings = dataclasses.replace(base, ota=ota)
    store = ModelStore.from_settings(settings)
    source = store.require(MODEL).main
    www = work / "www"
    www.mkdir()
    served = www / source.name
    try:
        os.link(source, served)
    except OSError:
        shutil.copy2(source, served)
    size = served.stat().st_size

    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    runtime = OtaRuntime(settings, store, bus)
    runtime.open()
    speaker = build_speaker(settings, NullSink(), listen=True, bus=bus, models=runtime.active_models())
    runtime.attach(speaker.loop)
    quiet = work / "quiet.wav"
    write_wav(quiet, add_noise(silence(60.0 * args.runs + 30.0), snr_db=40.0))
    loop_thread = threading.Thread(
        target=run_on, args=(speaker.loop, WavFileSource(quiet, realtime=True)), daemon=True
    )
    loop_thread.start()

    Throttled.rate = args.mbps * 1e6 / 8
    server = FileServer(www, "127.0.0.1", 0, handler=Throttled).start()

    link = f"{args.mbps:.0f} Mbit/s" if args.mbps else "unthrottled loopback"
    print(
        f"speaker bench ota: {MODEL} ({size / 1e6:.1f} MB) over HTTP ({link}), {args.runs} update(s)",
        flush=True,
    )
    runs = []
    for i in range(args.runs):
        version = f"{100 + i}.0.0"
        manifest = build_manifest(
            "llm", version, [LocalFile(served, served.name, server.url(served.name))],
            serial=serial_now(), expires_in=timedelta(hours=1), min_firmware="0.1.0",
        )  # fmt: skip
        start_index = len(log.events)
        t0 = bus.clock.wall()
        runtime.handle_manifest(sign(manifest, key), "speaker/ota/fleet/llm")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            ends = [
                e for e in log.events[start_index:] if isinstance(e, OtaResult) and e.result != "installed"
            ]
            if ends:
                break
            time.sleep(0.02)
        marks = phase_times(log.events[start_index:], t0)
        runs.append(marks)
        if "switched" not in marks:
            print(f"  update {version}: did not switch: {ended(log.events[start_index:])}", flush=True)
            continue
        download = marks.get("verifying", 0) - marks.get("downloading", 0)
        health = marks.get("loading", 0) - marks.get("health_check", 0)
        load = marks.get("installed", 0) - marks.get("loading", 0)
        print(
            f"  update {version}: switched after {marks['switched']:5.2f} s "
            f"(download {download:4.2f} s at {size / 1e6 / max(download, 1e-6):5.0f} MB/s, "
            f"install {marks['health_check'] - marks['verifying']:4.2f} s, health check {health:4.2f} s, "
            f"load {load:4.2f} s, switch {marks['switched'] - marks['installed']:4.2f} s)",
            flush=True,
        )
    speaker.loop.stop()
    loop_thread.join(10)
    runtime.close()
    speaker.close()
    server.stop()
    shutil.rmtree(work, ignore_errors=True)

    totals = sorted(r["switched"] for r in runs if "switched" in r)
    if not totals:
        print("no update switched")
        return 1
    median = totals[len(totals) // 2]
    print("announce -> switched and healthy")
    print(f"  median {median:5.2f} s   worst {totals[-1]:5.2f} s   (n={len(totals)})")
    print(f"  [{'met' if median <= TARGET_S else 'MISSED'}] median <= {TARGET_S:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"mbps": args.mbps, "size": size, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

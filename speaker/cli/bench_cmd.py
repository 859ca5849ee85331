"""`speaker bench`: run a benchmark from bench/ and print its figures."""

from __future__ import annotations

import argparse
import runpy
import sys

from speaker.errors import SpeakerError
from speaker.settings import default_config_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="measure latency, speed, CPU and memory (bench/)",
        description="Run one of the benchmarks in bench/ and print its figures. "
        "`speaker bench loop --turns 20` feeds spoken questions through the voice loop in real time.",
    )
    p.add_argument(
        "name", nargs="?", default="loop", help="which benchmark (a file bench/NAME.py); default: loop"
    )
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the benchmark")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bench_dir = default_config_dir().parent / "bench"
    script = bench_dir / f"{args.name}.py"
    if not script.is_file():
        available = sorted(p.stem for p in bench_dir.glob("*.py") if not p.stem.startswith("_"))
        raise SpeakerError(f"no benchmark {args.name!r}; available: {', '.join(available) or 'none'}")
    sys.argv = [str(script), *args.rest]
    if args.config:
        sys.argv += ["--config", args.config]
    runpy.run_path(str(script), run_name="__main__")
    return 0

"""`speaker doctor`: check everything the speaker needs, one line each with a fix."""

from __future__ import annotations

import argparse
import sys

HELP = """\
Check what the speaker needs, one line per check, each problem with its fix:

  config       the settings are valid
  service      the systemd service (when installed): running, restarted, its last status
  audio        the microphone opens (and a 2-second level meter: speak to see it move),
               the speaker is there
  models       the configured models are installed and every file's sha256 matches; the wake
               model and its phone check's recognizers load
  resources    free disk and memory against what the configured models need
  board        CPU temperature, under-voltage and throttling (where the Pi exposes them)
  broker       the MQTT broker is reachable and accepts the credentials
               (--mqtt mqtt://USER:PASSWORD@HOST:1883, or $SPEAKER_MQTT_URL)

Exit status 1 when something stops the speaker from working (a FAIL line), 0 otherwise
(WARN lines are worth fixing but do not stop it).

examples:
  speaker doctor
  speaker doctor --only models,broker --mqtt mqtt://speaker:secret@homeassistant.local:1883
  sudo -u speaker speaker --config /etc/speaker/speaker.yaml doctor
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check devices, models, resources and broker, and say how to fix problems",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--only", metavar="CHECKS", help="comma-separated checks to run (default: all)")
    p.add_argument(
        "--mqtt", metavar="URL", help="broker to check: mqtt://USER:PASSWORD@HOST:PORT (mqtts:// for TLS)"
    )
    p.add_argument("--no-meter", action="store_true", help="open the microphone, but skip the level meter")
    p.add_argument("--quick", action="store_true", help="check models by their stamps, without re-hashing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from speaker.doctor.audio import meter_bar
    from speaker.doctor.runner import GROUPS, DoctorOptions, run_checks
    from speaker.errors import SpeakerError

    only = tuple(g.strip() for g in args.only.split(",") if g.strip()) if args.only else GROUPS
    unknown = [g for g in only if g not in GROUPS]
    if unknown:
        raise SpeakerError(f"unknown check(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    live = sys.stderr.isatty()

    def on_level(level: float) -> None:
        if live:
            print(f"\r  microphone level {meter_bar(level)}", end="", file=sys.stderr, flush=True)

    def report(finding: object) -> None:
        if live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)  # clear the meter line
        print(finding.line(), flush=True)  # type: ignore[attr-defined]

    options = DoctorOptions(
        config=args.config,
        only=only,
        mqtt_url=args.mqtt,
        meter_seconds=0.0 if args.no_meter else 2.0,
        verify=not args.quick,
        on_level=on_level,
    )
    findings = run_checks(options, report)
    blocking = [f for f in findings if f.blocking]
    warnings = [f for f in findings if f.status == "warn"]
    if blocking:
        print(f"\n{len(blocking)} problem(s) stop the speaker from working: fix the FAIL lines above.")
        return 1
    if warnings:
        print(f"\nThe speaker can work; {len(warnings)} warning(s) above are worth a look.")
    else:
        print("\nAll good: the speaker has what it needs.")
    return 0

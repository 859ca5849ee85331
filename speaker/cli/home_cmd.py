"""`speaker home`: the home devices the speaker knows, where they came from, their last state."""

from __future__ import annotations

import argparse
import json

from speaker.cli.run_cmd import add_mqtt_argument
from speaker.settings import load_settings, with_mqtt_url

HELP = """\
List the home devices the speaker can control by voice: those in devices.yaml and, with a
broker, those it imports from Home Assistant discovery and Zigbee2MQTT, with their room, what
they can do, and the last state they reported. Loads no models.

examples:
  speaker home
  speaker home --mqtt mqtt://user:pass@homeassistant.local
  speaker home --phrases            # the command phrases the recognizer listens for
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "home",
        help="list the home devices the speaker can control",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_mqtt_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--phrases", action="store_true", help="print the phrases the recognizer is biased toward")
    p.add_argument(
        "--wait", type=float, default=None, metavar="SECONDS", help="how long to wait for the broker"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from speaker.events import EventBus
    from speaker.services import Services

    settings = with_mqtt_url(load_settings(args.config), args.mqtt)
    services = Services.from_settings(settings, EventBus(), device=False)
    services.start()
    try:
        connected = services.wait_ready(args.wait)
        registry = services.registry
        if args.phrases:
            print("\n".join(services.grammar(settings.asr.language)))
            return 0
        rows = []
        for d in registry.devices():
            state = registry.state(d, "state") or registry.state(d, next(iter(d.states), ""))
            rows.append({
                "id": d.id, "name": d.name, "aliases": list(d.aliases), "room": d.room, "type": d.kind,
                "commands": sorted(d.commands), "source": d.source, "state": state.value if state else None,
            })  # fmt: skip
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
            return 0
        if services.mqtt is not None and not connected:
            print(f"(broker {services.connection.describe()} not reachable: only devices.yaml is shown)")
        if not rows:
            print("No home devices. Add them to devices.yaml, or give a broker that announces them (--mqtt).")
            return 0
        print(f"{'name':<28} {'room':<14} {'type':<8} {'source':<14} {'state':<10} commands")
        for r in rows:
            state = "" if r["state"] is None else str(r["state"])[:10]
            print(f"{r['name'][:28]:<28} {(r['room'] or '-')[:14]:<14} {r['type']:<8} {r['source']:<14} "
                  f"{state:<10} {', '.join(r['commands']) or '(reports only)'}")  # fmt: skip
        return 0
    finally:
        services.close()

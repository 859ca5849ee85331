"""`speaker models`: list, fetch, verify the models in the catalog, and print where one lives."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from speaker.errors import SpeakerError
from speaker.models import ModelStore, ProgressPrinter
from speaker.settings import load_settings

DESCRIPTION = """\
Models are files kept by the firmware's model store, described by the catalog
(config/models.yaml: files, sizes, sha256, sources). Nothing is used unless its checksum matches.
The store lives in models.dir of the settings ($SPEAKER_MODELS_DIR, else ~/.local/share/speaker/models).

  speaker models list                 what the catalog offers and what is installed
  speaker models fetch                install the default set (or: fetch ID ..., fetch --all)
  speaker models verify               re-check every installed file's sha256
  speaker models path ID              print the path an engine opens, e.g. for scripts
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, fetch and verify models",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=lambda args: _help(parser))
    commands = parser.add_subparsers(dest="models_command", metavar="ACTION")

    p = commands.add_parser(
        "list",
        help="the catalog's models and their state",
        description="One row per catalog model: id, kinds, language, default, state, size. "
        "States: installed; missing; partial (a fetch was interrupted: fetch again to resume); "
        "corrupt (a file changed: fetch repairs it); outdated (the catalog has a newer version).",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser(
        "fetch",
        help="download, verify and install models",
        description="Fetch models from the sources in the catalog, verify every file's size and sha256, "
        "then install them. With no ID, the default set. An intact model is left alone; a damaged one "
        "is repaired; an interrupted fetch resumes where it stopped.",
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="model ids (see `speaker models list`)")
    p.add_argument("--all", action="store_true", help="every model in the catalog")
    p.add_argument("--force", action="store_true", help="download every file again, even if intact")
    p.set_defaults(func=cmd_fetch)

    p = commands.add_parser(
        "verify",
        help="re-check installed models' checksums",
        description="Re-compute the sha256 of every file of the given models (default: every installed "
        "model) and compare with what was installed. Exit status 1 when anything is missing or damaged.",
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="model ids (default: all installed models)")
    p.set_defaults(func=cmd_verify)

    p = commands.add_parser(
        "path",
        help="print the path of an installed model",
        description="Print the file (or directory) the engine opens for model ID; fails with the fix "
        "command if the model is missing or damaged. --dir prints the model's directory instead.",
    )
    p.add_argument("id", metavar="ID")
    p.add_argument("--dir", action="store_true", help="print the model's directory")
    p.set_defaults(func=cmd_path)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _store(args: argparse.Namespace) -> ModelStore:
    return ModelStore.from_settings(load_settings(args.config))


def _size(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.1f} MB"


def cmd_list(args: argparse.Namespace) -> int:
    rows = _store(args).status()
    if args.json:
        data = [
            {
                "id": r.id, "kinds": list(r.kinds), "language": r.language, "version": r.version,
                "installed_version": r.installed_version,
                "default": r.default, "state": r.state, "size": r.size, "path": str(r.path),
                "problems": list(r.problems),
            }
            for r in rows
        ]  # fmt: skip
        print(json.dumps(data, indent=2))
        return 0
    table = [("ID", "KIND", "LANG", "DEFAULT", "STATE", "SIZE")]
    table += [
        (r.id, ",".join(r.kinds), r.language, "yes" if r.default else "", r.state, _size(r.size))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.all:
        ids = store.catalog.ids
    else:
        ids = args.ids or [m.id for m in store.catalog.defaults()]
    for model_id in ids:
        store.catalog.get(model_id)  # an unknown id fails before anything is downloaded
    failed = 0
    with ProgressPrinter() as progress:
        for model_id in ids:
            try:
                model = store.fetch(model_id, progress=progress, force=args.force)
            except SpeakerError as exc:
                progress.close()
                print(f"speaker: error: {exc.message}", file=sys.stderr)
                failed += 1
                continue
            progress.close()
            print(f"{model.id} {model.version}: ok ({model.main})")
    if failed:
        print(f"speaker: {failed} of {len(ids)} models could not be fetched", file=sys.stderr)
    return 1 if failed else 0


def cmd_verify(args: argparse.Namespace) -> int:
    store = _store(args)
    ids = args.ids or [r.id for r in store.status() if r.state not in ("missing", "partial")]
    if not ids:
        print("no models are installed; fetch them with: speaker models fetch")
        return 1
    bad = 0
    for model_id in ids:
        problems = store.verify(model_id)
        if problems:
            bad += 1
            print(f"{model_id}: FAILED")
            for problem in problems:
                print(f"  {problem}")
            print(f"  fix: speaker models fetch {model_id}")
        else:
            print(f"{model_id}: ok")
    return 1 if bad else 0


def cmd_path(args: argparse.Namespace) -> int:
    model = _store(args).require(args.id)
    print(model.path if args.dir else model.main)
    return 0

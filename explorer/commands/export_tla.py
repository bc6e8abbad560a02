"""``python -m explorer export-tla CONFIG [--set NAME=VALUE] [-o DIR] [--name NAME]``: the spec as TLA+.

Writes ``DIR/<Name>.tla`` and ``DIR/<Name>.cfg`` (default DIR ``out/tla``, Name the config's file name),
as ``explorer.outputs.export.tla`` lays them out. Exit status: 0 when both files are written; 2 for bad
input (config, spec, ``--set``, ``--name``, an unwritable DIR, or a spec with no TLA+ reading), one
``error:`` line on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli_common import EXIT_OK, UsageError, add_set_option, load
from explorer.outputs.export.tla import export, is_identifier, module_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a config file (TOML), e.g. spec/configs/<name>.toml")
    add_set_option(p)
    p.add_argument(
        "-o", "--out", default="out/tla", metavar="DIR",
        help="where <Name>.tla and <Name>.cfg go (default: out/tla)",
    )  # fmt: skip
    p.add_argument("--name", metavar="NAME", help="the module's name (default: from the config's file name)")
    p.add_argument(
        "--no-properties",
        action="store_true",
        help="leave the temporal properties out of the .cfg and module",
    )


def run(args: argparse.Namespace) -> int:
    config, spec = load(args.config, args.overrides)
    name = args.name if args.name is not None else module_name(config.name)
    if not is_identifier(name):
        raise UsageError(f"--name {name!r}: not a TLA+ identifier (letters, digits, _; not a reserved word)")
    shown = ", ".join(f"{k}={v!r}" for k, v in config.constants.items())
    mod = export(
        spec,
        name,
        invariants=config.check.invariants,
        deadlock=config.check.deadlock,
        properties=not args.no_properties,
        source=f"{config.path}{': ' + shown if shown else ''}",
    )
    for path in mod.write(Path(args.out)):
        print(f"Wrote {path}")
    return EXIT_OK

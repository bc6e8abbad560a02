"""``python -m explorer export-promela CONFIG [--set NAME=VALUE] [-o FILE.pml] [--bfs]``: the spec for Spin.

Writes the Promela model of the config's spec (default ``out/promela/<config>.pml``), checking the
config's invariants and deadlock as ``check`` would, and prints the Spin command lines that check it.
Exit status: 0 written; 2 bad input (a config, ``--set``, an unwritable ``-o``, a spec with no Promela
reading; one ``error:`` line on stderr).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli_common import EXIT_OK, UsageError, add_set_option, check_invariant_names, load
from explorer.outputs.export.promela import export
from explorer.outputs.export.spin import CC_FLAGS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a config file (TOML), e.g. spec/configs/<name>.toml")
    add_set_option(p)
    p.add_argument(
        "-o", "--output", metavar="FILE.pml",
        help="where to write the model (default: out/promela/<config>.pml)",
    )  # fmt: skip
    p.add_argument(
        "--bfs", action="store_true",
        help="a model for pan -DBFS: no hidden report-once flags (every failing state is reported)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    config, spec = load(args.config, args.overrides)
    invariants = config.check.invariants
    if invariants is not None:
        check_invariant_names(spec, invariants)
    shown = ", ".join(f"{k}={v!r}" for k, v in config.constants.items())
    model = export(
        spec,
        invariants,
        config.check.deadlock,
        source=f"{config.path}{': ' + shown if shown else ''}",
        report_once=not args.bfs,
    )
    path = Path(args.output) if args.output else Path("out") / "promela" / f"{config.name}.pml"
    if path.is_dir():
        raise UsageError(f"-o {path}: is a directory, expected a file name")
    try:
        model.write(path)
    except OSError as e:
        raise UsageError(f"-o {path}: cannot write it ({e.strerror})") from None
    print(
        f"Wrote {path}: {len(model.leaves)} variables, {model.steps} steps, "
        f"{len(model.invariants)} invariants, deadlock {'checked' if model.check_deadlock else 'ignored'}"
    )
    bfs = " -DBFS" if args.bfs else ""
    e_flag = "" if model.check_deadlock else " -E"
    depth = "" if args.bfs else " -m2000000"
    cc = f"cc -O1 {' '.join(CC_FLAGS[1:])}{bfs} -o pan pan.c"
    print(f"Run: spin -o2 -a {path.name} && {cc} && ./pan -c0 -n -w26{depth}{e_flag}")
    print(f"Spin's stored states (with -DBFS: nominal states) = reachable states + {model.extra_states}")
    return EXIT_OK

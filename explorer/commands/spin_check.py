"""``python -m explorer spin-check [CONFIG ...] [--matrix] [--only CELL ...] [--set NAME=VALUE] [--bfs]
[--jobs N] [--max-states N]``: Spin's counts and violations against ours.

Exports each spec (the configs given, the matrix's cells, or both), runs ``spin -a``, compiles and runs
``pan``, runs our compiled engine on the same spec, and compares (``explorer.runs.spin_check``). Exit
status: 0 every spec agrees; 1 a spec disagrees; 2 bad input (a config, ``--set``, a spec with no Promela
reading, ``spin`` or ``cc`` missing or failing; one ``error:`` line on stderr); 130 interrupted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from explorer.cli_common import (
    EXIT_OK,
    EXIT_VIOLATION,
    UsageError,
    add_set_option,
    check_invariant_names,
    load,
)
from explorer.outputs.export.spin import SpinUnavailable, spin_tools
from explorer.runs.results import DEFAULT_EXPECTATIONS, load_expectations
from explorer.runs.spin_check import Job, SpinCheck, spin_check_all


def add_spec_arguments(p: argparse.ArgumentParser) -> None:
    """Which specs to check: configs, the matrix's cells, or both (shared with tlc-check)."""
    p.add_argument("configs", nargs="*", metavar="CONFIG", help="config files (TOML) to check")
    p.add_argument("--matrix", action="store_true", help="check every cell of the matrix's expectations")
    p.add_argument(
        "--only", action="extend", nargs="+", metavar="CELL", help="with --matrix: only these cells"
    )
    p.add_argument(
        "--expectations", default=None, metavar="FILE",
        help="the matrix's expectation file (default: spec/configs/expected.toml)",
    )  # fmt: skip
    add_set_option(p)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p)
    p.add_argument("--bfs", action="store_true", help="run pan -DBFS and compare the depths too")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="specs checked at once (default 2)")
    p.add_argument(
        "--max-states", type=int, default=None, metavar="N",
        help="skip a spec with more than N reachable states (our engine counts them first)",
    )  # fmt: skip


def spec_jobs(args: argparse.Namespace) -> list[Job]:
    """The specs add_spec_arguments selected; raises UsageError for bad input."""
    if not args.configs and not args.matrix:
        raise UsageError("give CONFIG files, --matrix, or both")
    if args.only and not args.matrix:
        raise UsageError("--only selects matrix cells: use it with --matrix")
    if args.overrides and not args.configs:
        raise UsageError("--set changes a CONFIG's constants; the matrix cells have their own")
    if args.jobs < 1 or (args.max_states is not None and args.max_states < 1):
        raise UsageError("--jobs and --max-states take a positive integer")
    jobs: list[Job] = []
    for path in args.configs:
        config, spec = load(path, args.overrides)
        invariants = config.check.invariants
        if invariants is not None:
            check_invariant_names(spec, invariants)
        jobs.append(
            Job(
                config.name,
                config.module,
                dict(config.constants),
                config.check.deadlock,
                tuple(invariants) if invariants is not None else None,
            )
        )
    if args.matrix:
        _props, cells = load_expectations(
            Path(args.expectations) if args.expectations else DEFAULT_EXPECTATIONS
        )
        known = {c.name for c in cells}
        unknown = sorted(set(args.only or ()) - known)
        if unknown:
            raise UsageError(f"no matrix cell named {', '.join(unknown)}")
        jobs += [
            Job(c.name, c.model, dict(c.constants)) for c in cells if not args.only or c.name in args.only
        ]
    return jobs


def _row(r: SpinCheck, bfs: bool) -> list[Any]:
    def props(d: dict[str, int]) -> str:
        return ", ".join(f"{k}@{v}" if bfs else k for k, v in sorted(d.items())) or "-"

    verdict = "skipped" if r.skipped else ("agree" if r.agree else "DISAGREE")
    cpu = sum(r.cpu.values())
    stored: Any = r.stored or "-"
    if bfs and r.run is not None and "e" in r.run.nominal:
        stored = r.run.nominal  # pan prints the nominal count with 6 significant digits
    return [r.name, r.distinct or "-", stored, props(r.ours), props(r.spin), verdict, f"{cpu:.1f}"]


def run(args: argparse.Namespace) -> int:
    jobs = spec_jobs(args)
    try:
        spin_tools()
    except SpinUnavailable as e:
        raise UsageError(str(e)) from None
    t0 = time.perf_counter()

    def done(r: SpinCheck) -> None:
        print(f"{r.name}: {r.distinct} states, Spin {r.stored}: {outcome(r)}", flush=True)

    results = spin_check_all(jobs, args.jobs, args.bfs, args.max_states, done)
    print()
    depth = " (name@depth: ours in states, Spin's -DBFS depth)" if args.bfs else ""
    print(f"Spin against the compiled engine{depth}; Spin stores our count + 1 (its state before Init)")
    print(
        tabulate(
            [_row(r, args.bfs) for r in results],
            headers=["spec", "distinct", "Spin stored", "violated (ours)", "violated (Spin)", "", "CPU s"],
        )
    )
    return summarize(results, t0)


def outcome(r: Any) -> str:
    """One tool check's result, for its progress line: skipped (why), agree, or what disagrees."""
    return r.skipped or ("agree" if r.agree else "DISAGREE: " + "; ".join(r.problems))


def summarize(results: Sequence[Any], t0: float) -> int:
    """The last line of a tool check (spin-check, tlc-check) and its exit status: 1 if a spec disagrees."""
    bad = [r for r in results if not r.skipped and not r.agree]
    skipped = [r for r in results if r.skipped]
    print(
        f"\n{len(results) - len(bad) - len(skipped)} agree, {len(bad)} disagree, {len(skipped)} skipped"
        f" ({time.perf_counter() - t0:.0f} s)"
    )
    return EXIT_VIOLATION if bad else EXIT_OK

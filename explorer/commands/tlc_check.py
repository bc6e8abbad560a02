"""``python -m explorer tlc-check [CONFIG ...] [--matrix] [--only CELL ...] [--set NAME=VALUE] [--jar JAR]
[--jobs N] [--workers N] [--max-states N]``: TLC's distinct, generated and depth against ours.

Exports each spec (the configs given, the matrix's cells, or both) to TLA+, runs TLC on it, runs our
compiled engine on the same spec in TLC's counting, and compares (``explorer.runs.tlc_check``). Exit
status: 0 every spec agrees; 1 a spec disagrees; 2 bad input (a config, ``--set``, a spec with no TLA+
reading, no tla2tools.jar or java; one ``error:`` line on stderr); 130 interrupted.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from tabulate import tabulate

from explorer.cli_common import UsageError
from explorer.commands import spin_check
from explorer.runs.tlc_check import TlcCheck, TlcUnavailable, tlc_check_all, tlc_jar


def add_arguments(p: argparse.ArgumentParser) -> None:
    spin_check.add_spec_arguments(p)
    p.add_argument("--jar", default=None, metavar="JAR", help="tla2tools.jar (default: $TLA2TOOLS_JAR)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="specs checked at once (default 1)")
    p.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="TLC's -workers (default 1; with more, TLC's search is not level by level and the depth it "
        "reports can exceed the breadth-first depth: seen once in 127 cells, not again on a rerun)",
    )  # fmt: skip
    p.add_argument(
        "--max-states", type=int, default=None, metavar="N",
        help="skip a spec with more than N reachable states (our engine counts them first)",
    )  # fmt: skip


def _row(r: TlcCheck) -> list[Any]:
    verdict = "skipped" if r.skipped else ("agree" if r.agree else "DISAGREE")
    ours, tlc = r.ours, r.tlc
    refs = ", ".join(f"{n} {a or 'holds'}/{b or 'holds'}" for n, (a, b) in r.refinements.items()) or "-"
    return [
        r.name,
        *ours,
        *(tlc if any(tlc) else ("-", "-", "-")),
        refs,
        verdict,
        f"{r.seconds.get('tlc', 0):.1f}",
    ]


def run(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise UsageError("--workers takes a positive integer")
    jobs = spin_check.spec_jobs(args)
    try:
        jar = tlc_jar(args.jar)
    except TlcUnavailable as e:
        raise UsageError(str(e)) from None
    t0 = time.perf_counter()

    def done(r: TlcCheck) -> None:
        print(f"{r.name}: {r.ours[0]} states, TLC {r.tlc[0]}: {spin_check.outcome(r)}", flush=True)

    results = tlc_check_all(jobs, jar, args.jobs, args.max_states, args.workers, done)
    print()
    print("TLC against the compiled engine (ours in TLC's counting of states generated)")
    headers = [
        "spec",
        "distinct",
        "generated",
        "depth",
        "TLC distinct",
        "TLC generated",
        "TLC depth",
        "refinements (ours/TLC)",
        "",
        "TLC s",
    ]
    print(tabulate([_row(r) for r in results], headers=headers))
    return spin_check.summarize(results, t0)

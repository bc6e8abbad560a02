"""``python -m explorer crosscheck``: the BFS and Z3 backends compared on every matrix cell.

Runs ``explorer.runs.crosscheck.check_cell`` on every cell of the expectation file (two at a time,
``--jobs``) and prints a row per cell; each disagreement is a ``DISAGREEMENT`` line and exit status 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tabulate import tabulate

from explorer.cli_common import EXIT_INTERRUPTED, add_engine_option, natural, positive_int
from explorer.runs.crosscheck import check_cell
from explorer.runs.results import DEFAULT_EXPECTATIONS, load_expectations
from explorer.runs.workers import run_all


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--expect", default=str(DEFAULT_EXPECTATIONS), help="the matrix whose cells to compare")
    p.add_argument(
        "--layers", type=natural, default=4, help="compare layer sizes for depths 0..K (default 4)"
    )
    p.add_argument("--bmc-depth", type=natural, default=6, help="compare violations found within N steps")
    p.add_argument("--jobs", type=positive_int, default=2, help="worker processes")
    add_engine_option(p)


def run(args: argparse.Namespace) -> int:
    _props, cells = load_expectations(Path(args.expect))
    t0 = time.monotonic()
    done, interrupted = run_all(
        check_cell, [(c, args.layers, args.bmc_depth, args.engine) for c in cells], args.jobs
    )
    results = [r for r in done if r is not None]
    rows = []
    for ag in results:
        depths = ", ".join(f"{k} {b}={z}" for k, (b, z) in ag.depths.items()) or "-"
        agree = "same" if not ag.problems else "DIFFERENT"
        rows.append([ag.cell, " ".join(map(str, ag.bfs_layers)), agree, depths, f"{ag.seconds:.1f}"])
    print(tabulate(rows, headers=["cell", "BFS layer sizes", "Z3 count", "violation steps BFS=BMC", "s"]))
    problems = [f"{ag.cell}: {p}" for ag in results for p in ag.problems]
    for line in problems:
        print(f"DISAGREEMENT {line}")
    print(f"\nBFS and Z3 compared on {len(results)} cells in {time.monotonic() - t0:.1f}s: "
          f"{'they agree' if not problems else f'{len(problems)} disagreements'}")  # fmt: skip
    if interrupted:
        print(f"interrupted: {len(cells) - len(results)} of {len(cells)} cells not compared")
        return EXIT_INTERRUPTED
    return 1 if problems else 0

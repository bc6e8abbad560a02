"""``python -m explorer matrix``: every design variant x workload against its expected verdicts.

Runs every cell of the expectation file (or those named by ``--only``), prints the verdict tables, saves
the results to ``OUT/matrix.json`` (the report reads them) and, with ``--report``/``--html``, writes the
reports from them. Exit status 1 if any verdict differs from its expectation (each one a ``MISMATCH``
line on stderr), 130 if interrupted (the finished cells are printed; no report is rewritten).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from explorer.cli_common import EXIT_INTERRUPTED, UsageError, add_engine_option, positive_int
from explorer.outputs.report.data import ReportData, abstractions_of
from explorer.outputs.report.write import write_reports
from explorer.runs.matrix.cells import INTERRUPTED, MatrixInterrupted, compare, run_matrix
from explorer.runs.matrix.tables import render
from explorer.runs.results import (
    DEFAULT_EXPECTATIONS,
    MATRIX_FILE,
    QUERIES_FILE,
    load_answers,
    load_claims,
    load_expectations,
    save_matrix,
)
from spec.config import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--expect", default=str(DEFAULT_EXPECTATIONS), help="expectation file (TOML)")
    p.add_argument("--out", default="out", help="output directory (default: out/)")
    p.add_argument(
        "--only", action="extend", nargs="+", default=[], metavar="CELL", help="run only these cells"
    )
    p.add_argument("--report", help="also write the design-review report (markdown) to this path")
    p.add_argument("--html", help="also write it as one self-contained HTML file, with sequence diagrams")
    p.add_argument("--jobs", type=positive_int, default=min(2, os.cpu_count() or 1), help="worker processes")
    p.add_argument(
        "--cluster", type=positive_int, metavar="N",
        help="run the cells as tasks on a Ray cluster (a local one of N CPUs unless --address): one cell"
        " per task, the same verdicts (explorer/runs/matrix/on_cluster.py)",
    )  # fmt: skip
    p.add_argument("--address", metavar="ADDR", help="with --cluster: the running Ray cluster to use")
    add_engine_option(p)


def run(args: argparse.Namespace) -> int:
    props, cells = load_expectations(Path(args.expect))
    claims = load_claims(Path(args.expect), props, cells)
    if args.only:
        unknown = [n for n in args.only if n not in {c.name for c in cells}]
        if unknown:
            raise ConfigError(f"{args.expect}: no cell named {', '.join(unknown)}")
        cells = [c for c in cells if c.name in args.only]
    if args.address and not args.cluster:
        raise UsageError("--address needs --cluster N")
    if args.cluster:
        try:
            import ray  # noqa: F401 - only to say what is missing
        except ImportError:
            raise UsageError("--cluster needs Ray: pip install 'ray>=2.9'") from None
    out_dir = Path(args.out) / "counterexamples"
    t0 = time.monotonic()
    try:
        if args.cluster:
            from explorer.runs.matrix.on_cluster import run_matrix_on_cluster

            results = run_matrix_on_cluster(cells, out_dir, args.cluster, args.address, args.engine)
        else:
            results = run_matrix(cells, out_dir, args.jobs, args.engine)
    except MatrixInterrupted as stop:
        print(render(props, cells, stop.results))
        unfinished = sum(r.error == INTERRUPTED for r in stop.results)
        print(f"\ninterrupted: {unfinished} of {len(cells)} cells not finished; the report was not rewritten")
        return EXIT_INTERRUPTED
    print(render(props, cells, results))
    fair = next((r.fairness for r in results if r.fairness), [])
    if fair:
        strong = sorted({f[len("SF_vars(") :].split("(")[0] for f in fair if f.startswith("SF_")})
        print(
            f"\nLiveness verdicts rest on {len(fair)} fairness conditions: weak fairness of each kernel step "
            f"instance (e.g. {fair[0]}), strong fairness of {', '.join(strong) or 'none'}; user space and "
            "prog runs are not fair. The full list is in the report."
        )
    total = sum(r.distinct for r in results)
    print(
        f"\n{len(cells)} cells, {total} distinct states in all, {time.monotonic() - t0:.1f}s wall; "
        f"counterexamples under {out_dir}/"
    )
    wall = time.monotonic() - t0
    save_matrix(Path(args.out) / MATRIX_FILE, results, wall)
    if args.report or args.html:
        answers = load_answers(Path(args.out) / QUERIES_FILE)  # a corrupt file: one line, exit 2
        data = ReportData(
            props, cells, list(results), wall, claims, answers, abstractions_of(cells), Path(args.out)
        )
        for line in write_reports(data, html=args.html, markdown=args.report):
            print(line)
    problems = compare(props, cells, results)
    for line in problems:
        print(f"MISMATCH {line}", file=sys.stderr)
    return 1 if problems else 0

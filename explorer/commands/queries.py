"""``python -m explorer queries [--only NAME ...] [--depth N] [--list]``: the named Z3 queries, answered.

Each query runs in a fresh worker process, two at a time (``--jobs``), so that its trace does not
depend on what ran before it; the answers are printed as a table against the expected ones and merged
into ``OUT/queries.json`` for the report. Exit status 1 if an answer differs from its expectation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from explorer.cli_common import EXIT_INTERRUPTED, EXIT_OK, EXIT_VIOLATION, UsageError, positive_int
from explorer.runs.queries.answers import Answer, _answer, answer_record
from explorer.runs.queries.catalogue import QUERIES
from explorer.runs.results import QUERIES_FILE, meets_expectation, save_answers
from explorer.runs.workers import run_all


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=positive_int, metavar="N", help="bound every bmc query at N steps")
    p.add_argument("--only", action="extend", nargs="+", metavar="NAME", help="run only these queries")
    p.add_argument("--list", action="store_true", help="list the queries with their questions and exit")
    p.add_argument("--out", default="out", metavar="DIR", help="SAT traces go to DIR/queries/")
    p.add_argument("--jobs", type=positive_int, default=2, help="worker processes (default 2)")


def run(args: argparse.Namespace) -> int:
    names = args.only or list(QUERIES)
    unknown = [n for n in names if n not in QUERIES]
    if unknown:
        raise UsageError(f"unknown quer{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}")
    if args.list:
        for n in names:
            print(f"{n}:\n  {' '.join(QUERIES[n].doc.split())}\n")
        return EXIT_OK
    out = Path(args.out) / "queries"
    rows = []
    unexpected = 0

    # Each query in a fresh process: the same query then prints the same trace whatever ran before it
    # (Z3's shared term table otherwise changes which of several shortest traces a model picks).
    def progress(i: int, a: Answer) -> None:
        print(f"{names[i]}: {a.verdict} ({a.seconds:.1f}s)", flush=True)

    jobs = [(n, args.depth, out) for n in names]
    answers, interrupted = run_all(_answer, jobs, args.jobs, fresh=True, on_done=progress)
    for n, a in zip(names, answers, strict=True):
        if a is None:
            continue
        q = QUERIES[n]
        flag = "" if meets_expectation(a.verdict, q.expect) else f"expected {q.expect}"
        unexpected += bool(flag)
        consts = ", ".join(f"{k}={v}" for k, v in q.constants.items())
        rows.append((n, consts, a.verdict, a.detail, f"{a.seconds:.1f}", flag))
        for path in a.paths[:1]:
            rows[-1] = (*rows[-1][:3], f"{a.detail} -> {path}", *rows[-1][4:])
    print()
    print(tabulate(rows, headers=["query", "constants", "answer", "detail", "s", "note"], tablefmt="simple"))
    if interrupted:
        print(f"interrupted: {len(names) - len(rows)} of {len(names)} queries not answered")
        return EXIT_INTERRUPTED
    results = Path(args.out) / QUERIES_FILE
    save_answers(results, [answer_record(a) for a in answers if a is not None])
    print(f"answers written to {results} (the report reads them)")
    return EXIT_VIOLATION if unexpected else EXIT_OK

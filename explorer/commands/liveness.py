"""``python -m explorer liveness CONFIG``: the config's temporal properties under its fairness.

Explores the whole state graph, checks every temporal property (or those named by ``--property``) with
``explorer.engines.liveness``, prints a verdict per property and the fairness assumed, and writes each
violation's lasso to ``OUT/<config>/liveness/<property>.{txt,itf.json,dot}``.

Exit status: without expectations, 1 if a property is violated. When the config's ``[expect]`` names
temporal properties, each checked one is compared with its expectation, as ``check`` does for the
safety invariants: 0 when every verdict is the expected one (a violation that is expected is no
error), 1 when one differs (a property expected violated that holds, too) or a violated property has
no expectation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from explorer.cli_common import (
    EXIT_OK,
    EXIT_VIOLATION,
    UsageError,
    add_engine_option,
    add_set_option,
    expectations_outcome,
    load,
)
from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from explorer.engines.liveness.check import check_liveness
from explorer.outputs.traces import write_trace


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a model configuration (TOML)")
    p.add_argument(
        "--property", dest="props", action="extend", nargs="+", metavar="NAME",
        help="check only these properties (one or more names; the flag may be repeated)",
    )  # fmt: skip
    p.add_argument(
        "--no-fairness", action="store_true", help="drop every fairness assumption (as TLC without WF)"
    )
    p.add_argument(
        "--out", default="out", metavar="DIR", help="lassos go to DIR/<config>/liveness/ (default: out)"
    )
    add_set_option(p)
    add_engine_option(p)


def run(args: argparse.Namespace) -> int:
    config, spec = load(args.config, args.overrides)
    known = [t.name for t in spec.properties]
    for name in args.props or []:
        if name not in known:
            raise UsageError(
                f"spec {spec.name} has no temporal property {name} (known: {', '.join(known) or 'none'})"
            )
    res = explore_any(spec, Options(stop_on_first=False, keep_graph=True), engine=args.engine)
    if res.stopped == "interrupted":
        raise KeyboardInterrupt  # main: "error: interrupted", exit 130 (nothing to conclude yet)
    if not res.exhausted:
        raise UsageError(f"the search did not finish ({res.stopped}); liveness needs the whole state graph")
    verdicts = check_liveness(res, args.props, fairness=[] if args.no_fairness else None)
    print(f"{res.distinct} distinct states, {len(res.graph)} transitions, {res.seconds:.1f}s")
    rows = [
        (v.name, v.formula, "holds" if v.holds else f"VIOLATED ({len(v.trace.states)} states)")
        for v in verdicts
    ]
    print(tabulate(rows, headers=["property", "form", "verdict"]))
    fair = verdicts[0].fairness if verdicts else []
    print(f"\nFairness assumed: {', '.join(fair) if fair else 'none (stuttering is allowed everywhere)'}")
    bad = [v for v in verdicts if not v.holds]
    for v in bad:
        paths = write_trace(
            v.trace, Path(args.out) / config.name / "liveness" / v.name, f"{v.name} is violated.\n{v.doc}"
        )
        print(f"Wrote {paths[0]}")
    temporal = {t.name for t in spec.properties}
    if any(name in temporal for name in config.expect):
        return _against_expectations(config.expect, verdicts, temporal)
    return EXIT_VIOLATION if bad else EXIT_OK


def _against_expectations(expect: dict[str, str], verdicts: list, temporal: set[str]) -> int:
    """Compare the verdicts with the config's [expect]: 0 when every checked temporal property got its
    expected verdict, 1 otherwise (or when a violated property has no expectation)."""
    got = {v.name: "holds" if v.holds else "violated" for v in verdicts}
    print()
    wrong = 0
    for name, want in expect.items():
        if name not in temporal:
            print(f"  {name}: expected {want}; not checked by this run (a safety property: see check)")
            continue
        if name not in got:
            print(f"  {name}: expected {want}; not checked by this run (left out by --property)")
            continue
        wrong += got[name] != want
        same = got[name] == want
        print(f"  {name}: {got[name]}" + (" (as expected)" if same else f" (UNEXPECTED: expected {want})"))
    unexpected = sorted(n for n, g in got.items() if g == "violated" and n not in expect)
    return expectations_outcome(wrong, unexpected)

"""``python -m explorer check CONFIG``: explore every reachable state of a config, as TLC does.

Prints each violation's shortest counterexample (TLC-style text, changed variables marked) and writes it
to ``OUT/<config>/<property>.{txt,itf.json,dot}``, then TLC's statistics and per-action coverage. Exit
status: 0 no violation (or every verdict as the config's ``[expect]`` says), 1 a violation (or a verdict
that differs), 3 stopped at ``--max-states``/``--max-seconds`` with no violation, or a cluster worker
died (``--cluster``), 130 interrupted.

``--partitions N`` runs it over N hash partitions of the states, one thread each, and ``--cluster N``
runs the search on Ray (``explorer/engines/cluster.py``): N partitions on a local
cluster started for the run, or on the running cluster at ``--address``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path
from typing import IO

from tabulate import tabulate

from explorer.cli_common import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_VIOLATION,
    UsageError,
    add_engine_option,
    add_invariants_option,
    add_set_option,
    check_invariant_names,
    expectations_outcome,
    load,
    positive_float,
    positive_int,
)
from explorer.engines.bfs import DEADLOCK, ModelError, Options, Result, Violation
from explorer.engines.compiled.engine import STORES, explore_any
from explorer.engines.refinement import check_refinements
from explorer.outputs.traces import format_text, write_trace
from spec import symmetry
from spec.config import Config
from spec.lang import SpecError


def violation_title(v: Violation, refinement: bool = False) -> str:
    """The first line of a counterexample, in TLC's words, followed by the property's rationale."""
    head = "Deadlock reached." if v.name == DEADLOCK else f"Invariant {v.name} is violated."
    if refinement:
        head = f"Refinement {v.name} is violated: the last step is no step of the abstract spec."
    return f"{head}\n{v.doc}" if v.doc else head


def dump_violation(v: Violation, out_dir: Path, refinement: bool = False) -> list[Path]:
    """Write ``out_dir/<violation>.{txt,itf.json,dot}``."""
    return write_trace(v.trace, out_dir / v.name, violation_title(v, refinement))


_STOPPED = {
    None: "every reachable state explored",
    "violation": "stopped at the first violation",
    "max-states": "stopped at the state limit (search incomplete)",
    "max-seconds": "stopped at the time limit (search incomplete)",
    "interrupted": "interrupted (search incomplete)",
}


def print_statistics(res: Result, file: IO[str] | None = None) -> None:
    rate = res.distinct / res.seconds if res.seconds > 0 else 0.0
    rows = [
        ("distinct states", res.distinct),
        ("states generated" + (" (TLC's counting)" if res.spec.counting == "tlc" else ""), res.generated),
        ("depth", res.depth),
        ("left on queue", res.queue_left),
        ("seconds", f"{res.seconds:.2f}"),
        ("distinct/s", f"{rate:.0f}"),
    ]
    store = getattr(res, "store_bytes", None)
    if store is not None and res.distinct:
        rows.append(("store B/state", f"{store / res.distinct:.1f}"))
    runs, spilled = getattr(res, "spilled", (0, 0))
    if runs:
        rows.append(("on disk", f"{spilled} states in {runs} sorted runs"))
    if res.distinct:  # the whole process's peak, what the machine must have (Linux: ru_maxrss in KiB)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        parts = getattr(res, "partition_peaks", None) or []  # a cluster's partitions: other processes
        peak += sum(parts)
        whose = (
            f": this process and the partitions' {' + '.join(f'{p / 2**20:.0f}' for p in parts)}"
            if parts
            else ""
        )
        rows.append(("peak memory", f"{peak / 2**20:.0f} MiB{whose} ({peak / res.distinct:.1f} bytes/state)"))
    print(f"Search: {_STOPPED.get(res.stopped, res.stopped)}.", file=file)
    print(tabulate(rows, tablefmt="plain", disable_numparse=True), file=file)


def print_coverage(res: Result, file: IO[str] | None = None) -> None:
    """TLC's per-action coverage; an action that never fired often means a wrong guard."""
    rows = [(name, gen, dist) for name, (gen, dist) in res.coverage.items()]
    print(tabulate(rows, headers=["action", "generated", "distinct"], tablefmt="simple"), file=file)
    never = [name for name, (gen, _) in res.coverage.items() if gen == 0]
    if never and res.exhausted:
        print(f"Never enabled: {', '.join(never)}", file=file)
    elif never:
        print(f"Not enabled in the part explored: {', '.join(never)}", file=file)


def describe_engine(res: Result) -> str:
    """One line: which engine produced res (and what compiling it cost)."""
    workers = getattr(res, "cluster_workers", None)
    if workers is not None:
        return f"Engine: Ray cluster, {workers} partitions (explorer/engines/cluster.py)"
    parts = getattr(res, "partitions", None)
    if parts is not None:
        return f"Engine: native, {parts} partitions on {parts} threads (explorer/engines/partitioned.py)"
    lib = getattr(res, "native", None)
    if lib is None:
        return "Engine: python (explorer.bfs)"
    how = f"compiled in {lib.compile_seconds:.1f}s" if lib.compile_seconds else "cached"
    store = ", compact store" if getattr(res.store, "compact", False) else ""
    return f"Engine: native (C, {how}: {lib.path.with_suffix('.c')}{store})"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a config file (TOML), e.g. spec/configs/<name>.toml")
    add_engine_option(p)
    p.add_argument(
        "--workers", type=positive_int, default=1, metavar="N",
        help="threads of the native search (same counts and traces as one; default 1)",
    )  # fmt: skip
    p.add_argument(
        "--symmetry", action="store_true",
        help="store one state per orbit under the spec's declared symmetry (native engine; counts orbits,"
        " traces stay concrete)",
    )  # fmt: skip
    p.add_argument("--no-deadlock", action="store_true", help="do not report deadlocks")
    p.add_argument(
        "--continue",
        dest="keep_going",
        action="store_true",
        help="keep exploring after a violation (reports the first of each kind)",
    )
    p.add_argument("--max-states", type=positive_int, metavar="N", help="stop after N distinct states")
    p.add_argument("--max-seconds", type=positive_float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--partitions", type=positive_int, metavar="N",
        help="search over N hash partitions of the states, one thread each (explorer/engines/partitioned.py):"
        " same counts and shortest counterexamples, insertion on every core too",
    )  # fmt: skip
    p.add_argument(
        "--cluster", type=positive_int, metavar="N",
        help="search on a Ray cluster of N partitions (a local one unless --address): same counts and"
        " shortest counterexamples as one machine; whole levels, so a violation stops at its level's end",
    )  # fmt: skip
    p.add_argument(
        "--address", metavar="ADDR",
        help="with --cluster: the running Ray cluster to use (ray start --head; 'auto' finds a local one)",
    )  # fmt: skip
    p.add_argument(
        "--store", choices=STORES, default="plain",
        help="plain: every state's packed bytes and links in memory (what liveness and refinements read);"
        " compact: 3-6 bytes a state in memory (tree compression into a quotient table), parent links in a"
        " file under --out that is removed at exit: for the largest models (same counts and traces)",
    )  # fmt: skip
    p.add_argument(
        "--store-memory", type=positive_int, metavar="MIB",
        help="with --store compact: the most memory its table of states may take; past it the table is"
        " written to sorted runs on disk under --out and searched there (as when an allocation fails)",
    )  # fmt: skip
    add_invariants_option(p)
    add_set_option(p)
    p.add_argument("--out", default="out", metavar="DIR", help="where dumps go: DIR/<config>/ (default: out)")


def run(args: argparse.Namespace) -> int:
    if args.address and not args.cluster:
        raise UsageError("--address needs --cluster N")
    if args.cluster and args.partitions:
        raise UsageError("--partitions and --cluster are two ways to partition the search: pick one")
    flag = "--cluster" if args.cluster else "--partitions" if args.partitions else None
    if flag and (args.engine == "python" or args.workers > 1):
        raise UsageError(f"{flag} runs the compiled engine's steps, one thread or worker a partition")
    compact = args.store == "compact"
    if args.store_memory and not compact:
        raise UsageError("--store-memory is the compact store's budget: it needs --store compact")
    if compact and (flag or args.engine == "python"):
        raise UsageError(
            "--store compact is the compiled engine's single-machine store (no --partitions,"
            " --cluster or --engine python)"
        )
    config, spec = load(args.config, args.overrides)
    invariants = args.invariants if args.invariants is not None else config.check.invariants
    if invariants is not None:
        check_invariant_names(spec, invariants)
    # A config's [expect] needs every property's verdict, not only the first violation's.
    opts = Options(
        check_deadlock=config.check.deadlock and not args.no_deadlock,
        stop_on_first=not args.keep_going and not config.expect,
        max_states=args.max_states if args.max_states is not None else config.check.max_states,
        max_seconds=args.max_seconds if args.max_seconds is not None else config.check.max_seconds,
        invariants=invariants,
    )
    checked = invariants if invariants is not None else [p.name for p in spec.invariants]
    # the spec's refinements (Spec.refines) need the state graph of concrete steps; --invariant narrows
    # the check to its names, the partitioned searches and the compact store keep no graph, and under
    # symmetry an edge joins two orbits' representatives, which need not be a step of the spec
    refines = [r.name for r in spec.refinements] if invariants is None else []
    no_graph = args.cluster or args.partitions or compact
    reduce = args.symmetry and bool(symmetry.generators(spec))  # no group of 2 or more values: none
    if refines and not no_graph and not reduce:
        opts.keep_graph = True
    shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in config.constants.items())  # TOML-like: true, "x"
    print(f"Checking {config.name} ({config.module}{f': {shown}' if shown else ''})")
    deadlock = "checked" if opts.check_deadlock else "ignored"
    refined = "; refinements: " + (
        ", ".join(refines)
        if opts.keep_graph
        else "not checked "
        + ("with the compact store" if compact else "over partitions" if no_graph else "under symmetry")
    )
    print(f"Invariants: {', '.join(checked) or 'none'}{refined if refines else ''}; deadlock: {deadlock}")
    if opts.keep_graph:
        checked = [*checked, *refines]
    out_dir = Path(args.out) / config.name
    if args.symmetry and not reduce:
        # not an error: the counts are the search without it, and saying so keeps them from being
        # read as orbits
        print(
            f"notice: spec {spec.name} declares no symmetry of two or more values (Spec.symmetric):"
            " --symmetry reduces nothing, every state is stored",
            file=sys.stderr,
        )
    try:
        if args.cluster:
            res = _on_cluster(args, config, opts, reduce)
        elif args.partitions:
            from explorer.engines.partitioned import explore_partitioned

            res = explore_partitioned(spec, opts, parts=args.partitions, progress=_progress, symmetry=reduce)
        else:
            res = explore_any(
                spec, opts, engine=args.engine, symmetry=reduce, threads=args.workers,
                compact_dir=_links_dir(out_dir) if compact else None,
                store_memory=(args.store_memory or 0) << 20,
            )  # fmt: skip
    except ClusterIncomplete as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except OSError as e:  # the compact store's files (created under --out, which was checked writable)
        if not compact:
            raise
        raise UsageError(f"--store compact: {e.strerror or e}") from None
    except ModelError as e:
        paths = write_trace(e.trace, out_dir / "ModelError", f"Error: {e}")
        raise SpecError(f"{e}; the trace to it: {paths[0]}") from e
    print(describe_engine(res) + (" with symmetry reduction" if reduce else ""))
    if opts.keep_graph and refines:
        res.violations += check_refinements(res)
    for v in res.violations:
        print()
        refinement = v.name in refines
        print(format_text(v.trace, "Error: " + violation_title(v, refinement)))
        paths = dump_violation(v, out_dir, refinement)
        print(f"Wrote {', '.join(str(p) for p in paths)}")
    print()
    print_statistics(res)
    print()
    print_coverage(res)
    if res.stopped == "interrupted":
        return EXIT_INTERRUPTED
    if config.expect and res.exhausted:
        return _against_expectations(config, res, {*checked, *([DEADLOCK] if opts.check_deadlock else [])})
    if res.violations:
        return EXIT_VIOLATION
    if res.stopped in ("max-states", "max-seconds"):
        limit = f"{opts.max_states} states" if res.stopped == "max-states" else f"{opts.max_seconds} s"
        print(f"incomplete: stopped at {limit}; no violation among the {res.distinct} states explored.")
        return EXIT_INCOMPLETE
    print("No violation found.")
    return EXIT_OK


def _links_dir(out_dir: Path) -> Path:
    """Where the compact store's link file goes: the config's dump folder (on the disk the user chose
    with --out, not a /tmp that may be memory)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(
            f"--store compact: cannot create {out_dir} for its link file ({e.strerror})"
        ) from None
    return out_dir


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ClusterIncomplete(Exception):
    """The cluster search could not finish (a worker died): exit 3, nothing reported as holding."""


def _on_cluster(args: argparse.Namespace, config: Config, opts: Options, symmetry: bool) -> Result:
    try:
        import ray  # noqa: F401 - only to say what is missing
    except ImportError:
        raise UsageError("--cluster needs Ray: pip install 'ray>=2.9'") from None
    from explorer.engines.cluster import ClusterError, Recipe, explore_cluster

    recipe = Recipe(config.module, dict(config.constants), str(config.path.parent))
    try:
        return explore_cluster(
            recipe, opts, workers=args.cluster, address=args.address, progress=_progress, symmetry=symmetry
        )
    except ClusterError as e:
        raise ClusterIncomplete(str(e)) from None


def _against_expectations(config: Config, res: Result, checked: set[str]) -> int:
    """Compare an exhaustive search with the config's [expect]: exit 0 when every verdict of the
    properties ``checked`` is the expected one (a violation that is expected is not an error), 1
    otherwise."""
    found = {v.name for v in res.violations}
    temporal = {t.name for t in res.spec.properties}
    print()
    if not found:
        print("No violation found.")
    wrong = 0
    for name, want in config.expect.items():
        if name not in checked:
            why = "a temporal property: liveness compares it" if name in temporal else "left out"
            print(f"  {name}: expected {want}; not checked by this run ({why})")
            continue
        got = "violated" if name in found else "holds"
        wrong += got != want
        print(f"  {name}: {got}" + (" (as expected)" if got == want else f" (UNEXPECTED: expected {want})"))
    unexpected = sorted(found - set(config.expect))
    return expectations_outcome(wrong, unexpected)

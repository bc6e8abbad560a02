"""Z3 subcommands: ``python -m explorer bmc`` and ``python -m explorer prove``.

    python -m explorer bmc <config.toml> --depth K [--invariant NAME ...]
        Bounded model checking up to K steps. A violation is printed (shortest, as in BFS), dumped with
        traces.write_trace under ``out/bmc/<config>/<invariant>.{txt,itf.json,dot}``; exit 1. Exit 0
        when no violation exists within K steps (which says nothing about K + 1).

    python -m explorer prove <config.toml> --invariant NAME [--strengthen NAME ...] [--aux]
        Induction: PROVED (with the time), or the counterexample to induction (CTI): a pre-state that
        satisfies the invariant and the strengthening, an enabled action, and a post-state that
        violates one of them; dumped under ``out/prove/<config>/<invariant>.*``; exit 1. Strengthening
        names resolve against the spec's invariants plus the auxiliary invariants of
        ``invariants/delayed_work/lemmas.py``; ``--aux`` strengthens with all of them and every other safety
        invariant (the strengthening that makes rfc_repaired's safety inductive).

``--set name=value`` overrides a constant, checked against the model's PARAMS like a config value but
with no upper bound on integers (PARAMS caps cpus and items at 3 for BFS; induction has no such limit):
``--set cpus=8 --set items=16 --set progs=2``.

``--engine step`` (default) runs ``explorer.engines.smt.induction.prove_by_step``: one query per
transition and changed invariant atom; with ``--symmetry`` only for the steps in canonical order, the
others covered by the spec's declared symmetry once Z3 has confirmed it. ``--engine whole`` runs
``prove``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from explorer.cli_common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_VIOLATION,
    UsageError,
    add_invariants_option,
    add_set_option,
    positive_int,
)
from explorer.engines.smt.bmc import bmc
from explorer.engines.smt.induction import prove, prove_by_step
from explorer.engines.smt.lemmas import _aux_names, add_aux_invariants, full_strengthening
from explorer.outputs.traces import format_cti, format_text, write_trace
from spec.config import Config, build_spec, load_config, parse_overrides
from spec.lang import Predicate, Spec

# --------------------------------------------------------------------------- building the spec


def load_with_overrides(config_path: str, items: Sequence[str]) -> tuple[Config, Spec, dict[str, Any]]:
    """Load a config and build its spec with ``--set`` values on top of its constants (validated as
    the config's own values are, but with no upper bound on integers: induction has no size limit)."""
    config = load_config(config_path)
    overrides = parse_overrides(config, list(items), unbounded=True)
    config.constants.update(overrides)
    return config, build_spec(config), overrides


def resolve(spec: Spec, names: Sequence[str]) -> list[Predicate]:
    known = [p.name for p in spec.invariants]
    for n in names:
        if n not in known:
            raise UsageError(f"spec {spec.name} has no invariant {n} (known: {', '.join(known)})")
    return [spec.invariant_named(n) for n in names]


# --------------------------------------------------------------------------- output


def _stem(config: Config, overrides: dict[str, Any]) -> str:
    if not overrides:
        return config.name
    return config.name + "-" + "-".join(f"{k}{v}" for k, v in sorted(overrides.items()))


# --------------------------------------------------------------------------- bmc


def add_bmc_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a config file (TOML)")
    p.add_argument(
        "--depth", type=positive_int, required=True, metavar="K", help="check paths of up to K steps"
    )
    add_invariants_option(p)
    p.add_argument("--deadlock", action="store_true", help="also report a reachable deadlock")
    _add_set_and_out(p, "bmc")


def _add_set_and_out(p: argparse.ArgumentParser, command: str) -> None:
    add_set_option(p)
    p.add_argument("--force", action="store_true", help=f"run even above {MAX_INSTANCES} action instances")
    p.add_argument(
        "--out", default="out", metavar="DIR", help=f"dumps go to DIR/{command}/<config>/ (default: out)"
    )


# Beyond this many action instances one Z3 step of the encoding takes minutes and gigabytes (cpus=1000
# gave 14,008 instances and 0.87 GB after 10 minutes without an answer); 8 CPUs x 16 items x 2 progs,
# the largest size make check proves, has 374. --force goes on anyway.
MAX_INSTANCES = 4000


def _load_for(args: argparse.Namespace) -> tuple[Config, Spec, dict[str, Any]]:
    """The config and spec of a bmc/prove command line (with --set), auxiliary invariants added."""
    config, spec, overrides = load_with_overrides(args.config, args.overrides)
    n = len(spec.instances())
    if n > MAX_INSTANCES and not args.force:
        raise UsageError(
            f"{spec.name} has {n} action instances, more than {MAX_INSTANCES} that Z3 handles in minutes;"
            " pass --force to try anyway"
        )
    add_aux_invariants(spec)
    return config, spec, overrides


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_bmc(args: argparse.Namespace) -> int:
    config, spec, overrides = _load_for(args)
    names = args.invariants if args.invariants is not None else config.check.invariants
    if names is None:
        names = [p.name for p in spec.invariants if p.name not in _aux_names(spec)]
    resolve(spec, names)
    print(f"BMC of {config.name} ({spec.name}) to depth {args.depth}: {', '.join(names)}")
    r = bmc(spec, args.depth, names, check_deadlock=args.deadlock, progress=_progress)
    per = " ".join(f"{k}:{t:.2f}s" for k, t in enumerate(r.seconds_per_depth))
    if r.interrupted:
        print(f"interrupted: no violation within {r.depth} steps ({r.seconds:.2f}s; per depth {per}).")
        return EXIT_INTERRUPTED
    if r.ok:
        print(f"No violation within {args.depth} steps ({r.seconds:.2f}s; per depth {per}).")
        return EXIT_OK
    assert r.trace is not None
    head = "Deadlock reached." if r.violation == "Deadlock" else f"Invariant {r.violation} is violated."
    title = f"{head} (BMC, {r.depth} steps)\n{r.detail}" if r.detail else f"{head} (BMC, {r.depth} steps)"
    print(format_text(r.trace, "Error: " + title))
    paths = write_trace(r.trace, Path(args.out) / "bmc" / _stem(config, overrides) / r.violation, title)
    print(f"Wrote {', '.join(str(x) for x in paths)}")
    print(f"Found at depth {r.depth} in {r.seconds:.2f}s (per depth {per}).")
    return EXIT_VIOLATION


# --------------------------------------------------------------------------- prove


def add_prove_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a config file (TOML)")
    p.add_argument("--invariant", required=True, metavar="NAME", help="the invariant to prove")
    p.add_argument(
        "--strengthen",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="auxiliary invariants assumed and proved with it (spec invariants or the model's lemmas)",
    )
    p.add_argument(
        "--aux", action="store_true", help="strengthen with every other invariant, safety and auxiliary"
    )
    p.add_argument(
        "--engine",
        choices=["step", "whole"],
        default="step",
        help="step: one query per transition and changed atom (default); whole: explorer.smt.prove",
    )
    p.add_argument("--check-types", action="store_true", help="also prove no enabled step leaves a type")
    p.add_argument(
        "--symmetry",
        action="store_true",
        help="step engine: query only canonical steps, covering the rest by the spec's declared"
        " symmetry after proving that it holds (see explorer.smt.prove_by_step)",
    )
    _add_set_and_out(p, "prove")


def run_prove(args: argparse.Namespace) -> int:
    config, spec, overrides = _load_for(args)
    resolve(spec, [args.invariant, *args.strengthen])
    strengthen = list(dict.fromkeys(args.strengthen))
    if args.aux:
        strengthen += [n for n in full_strengthening(spec, args.invariant) if n not in strengthen]
    strengthen = [n for n in strengthen if n != args.invariant]
    shown = ", ".join(f"{k}={v}" for k, v in spec.constants.items())
    print(f"Induction on {config.name} ({shown})")
    print(f"Invariant {args.invariant}; strengthening: {', '.join(strengthen) or 'none'}")
    if args.engine == "step":
        r = prove_by_step(spec, args.invariant, strengthen, args.check_types, symmetry=args.symmetry)
        assert r.stats is not None
        print(f"Symmetry: {r.stats.note}; {r.stats.queries} consecution queries")
    else:
        r = prove(spec, args.invariant, strengthen, check_types=args.check_types)
    if r.ok:
        print(f"PROVED: {args.invariant} (with the strengthening) is inductive; {r.seconds:.2f}s")
        return EXIT_OK
    title = f"NOT INDUCTIVE: {r.failed} fails at {r.stage} ({r.seconds:.2f}s)"
    text = format_cti(r, title)
    print(text)
    assert r.trace is not None
    paths = write_trace(r.trace, Path(args.out) / "prove" / _stem(config, overrides) / args.invariant, title)
    cti_txt = paths[0].with_name(paths[0].name.replace(".txt", ".cti.txt"))
    cti_txt.write_text(text + "\n", encoding="utf-8")
    print(f"Wrote {', '.join(str(x) for x in [cti_txt, *paths])}")
    return EXIT_VIOLATION

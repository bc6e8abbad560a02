"""Z3 backend timings: BMC time per depth, induction time, and layer counting against BFS.

Usage (from the repository root):
    python bench/bench_smt.py                                  # the built-in specs
    python bench/bench_smt.py tests.classic.twophase:make_spec --depth 8 --kw rms=2
    python bench/bench_smt.py --delayed-work                   # BMC per depth + induction, 2x2 and 3x3
    python bench/bench_smt.py --delayed-work --sizes 2x2 4x8 8x16 --progs 2   # beyond BFS (minutes)
A factory is ``module:function`` returning a Spec; ``--kw name=int`` passes integer keyword arguments.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a script run from anywhere

from explorer.engines.bfs import Options, explore  # noqa: E402
from explorer.engines.smt.bmc import bmc  # noqa: E402
from explorer.engines.smt.induction import ProveResult, prove  # noqa: E402
from explorer.engines.smt.layers import count_layers  # noqa: E402
from spec.lang import Spec, SpecError  # noqa: E402


def bench(
    factory: Callable[[], Spec], depth: int, count: bool = True, methods: tuple[str, ...] = ("image",)
) -> None:
    """Print BMC seconds per depth, the induction time of each invariant, and (optionally) the time
    to count layers with Z3 against BFS's time for the same layers."""
    spec = factory()
    print(f"== {spec.name} {spec.constants or ''}: {len(spec.instances())} action instances")
    r = bmc(spec, depth, check_deadlock=False)
    per = " ".join(f"{k}:{t * 1000:.0f}ms" for k, t in enumerate(r.seconds_per_depth))
    outcome = "no violation" if r.ok else f"{r.violation} at depth {r.depth}"
    print(f"bmc to depth {depth}: {outcome}, {r.seconds:.2f}s total; per depth {per}")
    for p in spec.invariants:
        pr = prove(spec, p.name)
        verdict = "inductive" if pr.ok else f"not inductive ({pr.stage}, {pr.failed})"
        print(f"prove {p.name}: {verdict}, {pr.seconds * 1000:.0f}ms")
    if count:
        t0 = time.monotonic()
        res = explore(spec, Options(check_deadlock=False, stop_on_first=False), progress=lambda _line: None)
        t_bfs = time.monotonic() - t0
        k = min(depth, len(res.layers) - 1)
        for method in methods:
            t0 = time.monotonic()
            layers = count_layers(spec, k, method)
            t_smt = time.monotonic() - t0
            agree = "agree" if layers == res.layers[: k + 1] else f"DISAGREE with BFS {res.layers[: k + 1]}"
            print(
                f"count_layers({method}) to {k}: {layers} ({sum(layers)} states) {t_smt:.2f}s, "
                f"BFS {t_bfs * 1000:.0f}ms: {agree}"
            )


def bench_delayed_work(depth: int, sizes: list[str], progs: int, full_up_to: int) -> None:
    """delayed_work figures: BMC seconds per depth on the default config (rfc_fixed, array, 2 CPUs x
    2 items), then the time to prove every safety invariant inductive with the auxiliary invariants
    (invariants/delayed_work/lemmas.py) of rfc_repaired for each CPUS x ITEMS size: with the symmetry
    reduction, and without it (every step queried) up to --full-up-to CPUS*ITEMS."""
    from explorer.engines.smt.induction import prove_by_step
    from explorer.engines.smt.lemmas import add_aux_invariants, full_strengthening
    from invariants.delayed_work.properties import SAFETY
    from spec.delayed_work import make_spec

    spec = make_spec()
    r = bmc(spec, depth, SAFETY)
    per = " ".join(f"{k}:{t:.2f}s" for k, t in enumerate(r.seconds_per_depth))
    outcome = "no violation" if r.ok else f"{r.violation} at depth {r.depth}"
    print(
        f"== delayed_work rfc_fixed 2x2: bmc to depth {depth}: {outcome}, {r.seconds:.1f}s; per depth {per}"
    )
    for size in sizes:
        cpus, _, items = size.partition("x")
        spec = make_spec(variant="rfc_repaired", cpus=int(cpus), items=int(items), progs=progs)
        add_aux_invariants(spec)
        strengthen = full_strengthening(spec, SAFETY[0])
        engines: list[tuple[str, Callable[..., ProveResult], dict]] = [
            ("step+symmetry", prove_by_step, {"symmetry": True})
        ]
        if int(cpus) * int(items) <= full_up_to:  # every step queried: 4x8 already takes minutes
            engines.append(("step", prove_by_step, {}))
        if int(cpus) * int(items) <= 9:  # prove: one query per conjunct over all of Next
            engines.append(("whole", prove, {}))
        for name, engine, options in engines:
            pr = engine(spec, SAFETY[0], strengthen, **options)
            verdict = "PROVED" if pr.ok else f"CTI ({pr.failed} at {pr.stage})"
            detail = ""
            if pr.stats is not None:
                st = pr.stats
                detail = f"; {st.queries} consecution queries"
                if name == "step+symmetry":
                    detail += (
                        f", {st.by_symmetry} steps by symmetry (invariant shown symmetric in"
                        f" {st.seconds_invariance:.1f}s, steps mapped in {st.seconds_mapping:.1f}s)"
                    )
                if st.slowest:
                    detail += f", slowest {st.slowest[0][1]} {st.slowest[0][0]:.1f}s"
            print(
                f"induction rfc_repaired {cpus} CPUs x {items} items x {progs} progs "
                f"({len(spec.instances())} action instances), engine {name}: {verdict} in {pr.seconds:.1f}s"
                + detail,
                flush=True,
            )


def _factory(ref: str, kwargs: dict[str, int]) -> Callable[[], Spec]:
    mod, _, fn = ref.partition(":")
    f = getattr(importlib.import_module(mod), fn or "make_spec")
    return lambda: f(**kwargs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("factory", nargs="*", help="module:function returning a Spec")
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--kw", action="append", default=[], help="name=int keyword argument for the factory")
    ap.add_argument("--no-count", action="store_true", help="skip counting layers with Z3")
    ap.add_argument("--unroll", action="store_true", help="also count layers by path unrolling (slower)")
    ap.add_argument("--delayed-work", action="store_true", help="the delayed_work figures (BMC, induction)")
    ap.add_argument("--sizes", nargs="+", default=["2x2", "3x3"], help="CPUSxITEMS sizes for --delayed-work")
    ap.add_argument("--progs", type=int, default=2, help="progs for the --delayed-work induction sizes")
    ap.add_argument(
        "--full-up-to", type=int, default=16, help="also prove without symmetry while CPUS*ITEMS <= N"
    )
    args = ap.parse_args(argv)
    if args.delayed_work:
        bench_delayed_work(args.depth, args.sizes, args.progs, args.full_up_to)
        return 0
    kwargs = {k: int(v) for k, _, v in (kv.partition("=") for kv in args.kw)}
    refs = args.factory or ["tests.classic.diehard:make_spec", "tests.test_smt:make_queue_spec"]
    methods = ("image", "unroll") if args.unroll else ("image",)
    status = 0
    for ref in refs:
        try:
            bench(_factory(ref, kwargs), args.depth, count=not args.no_count, methods=methods)
        except (ImportError, AttributeError, SpecError) as e:  # one line per spec that cannot be run
            print(f"{ref}: {type(e).__name__}: {e}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())

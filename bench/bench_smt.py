"""Z3 backend timings: BMC time per depth, induction time, and layer counting against BFS.

Usage (from the repository root):
    python bench/bench_smt.py                                  # the built-in specs
    python bench/bench_smt.py tests.classic.twophase:make_spec --depth 8 --kw rms=2
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

from explorer import smt  # noqa: E402
from explorer.bfs import Options, explore  # noqa: E402
from spec.lang import Spec, SpecError  # noqa: E402


def bench(
    factory: Callable[[], Spec], depth: int, count: bool = True, methods: tuple[str, ...] = ("image",)
) -> None:
    """Print BMC seconds per depth, the induction time of each invariant, and (optionally) the time
    to count layers with Z3 against BFS's time for the same layers."""
    spec = factory()
    print(f"== {spec.name} {spec.constants or ''}: {len(spec.instances())} action instances")
    r = smt.bmc(spec, depth, check_deadlock=False)
    per = " ".join(f"{k}:{t * 1000:.0f}ms" for k, t in enumerate(r.seconds_per_depth))
    outcome = "no violation" if r.ok else f"{r.violation} at depth {r.depth}"
    print(f"bmc to depth {depth}: {outcome}, {r.seconds:.2f}s total; per depth {per}")
    for p in spec.invariants:
        pr = smt.prove(spec, p.name)
        verdict = "inductive" if pr.ok else f"not inductive ({pr.stage}, {pr.failed})"
        print(f"prove {p.name}: {verdict}, {pr.seconds * 1000:.0f}ms")
    if count:
        t0 = time.monotonic()
        res = explore(spec, Options(check_deadlock=False, stop_on_first=False), progress=lambda _line: None)
        t_bfs = time.monotonic() - t0
        k = min(depth, len(res.layers) - 1)
        for method in methods:
            t0 = time.monotonic()
            layers = smt.count_layers(spec, k, method)
            t_smt = time.monotonic() - t0
            agree = "agree" if layers == res.layers[: k + 1] else f"DISAGREE with BFS {res.layers[: k + 1]}"
            print(
                f"count_layers({method}) to {k}: {layers} ({sum(layers)} states) {t_smt:.2f}s, "
                f"BFS {t_bfs * 1000:.0f}ms: {agree}"
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
    args = ap.parse_args(argv)
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

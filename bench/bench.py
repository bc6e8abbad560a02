"""Explorer throughput, measured, not asserted: `make bench` (or `python bench/bench.py`).

For each spec it prints distinct states per second and states generated per second of explorer.bfs, the
same figures for a naive reference search measured in the same run (a dict of states and
spec.lang.successors, the obvious implementation), their ratio, and the memory per stored state (a
separate run under tracemalloc, so the timing runs are not slowed by it). It then times the liveness
pass (SCCs under fairness) on the largest matrix cell.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tabulate import tabulate  # noqa: E402

from explorer.bfs import Options, explore  # noqa: E402
from explorer.liveness import check_liveness  # noqa: E402
from spec.delayed_work import make_spec  # noqa: E402
from spec.lang import Spec, successors  # noqa: E402
from tests.classic import twophase  # noqa: E402


def naive_bfs(spec: Spec) -> tuple[int, int]:
    """The reference: what a first implementation would do (a set of states, successors(), every
    invariant on every new state, no parent links or statistics). Returns (distinct, generated)."""
    seen = {}
    queue = deque()
    generated = 0
    invs = [p.fn for p in spec.invariants]
    for s in spec.init_states():
        generated += 1
        if s not in seen:
            seen[s] = None
            queue.append(s)
            [inv(s) for inv in invs]
    while queue:
        s = queue.popleft()
        for _inst, t in successors(spec, s):
            generated += 1
            if t not in seen:
                seen[t] = None
                queue.append(t)
                [inv(t) for inv in invs]
    return len(seen), generated


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bytes_per_state(spec: Spec) -> float:
    tracemalloc.start()
    res = explore(spec, Options(stop_on_first=False), progress=lambda _l: None)
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / max(res.distinct, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller specs only")
    args = ap.parse_args()
    specs = [("TwoPhase rms=5", lambda: twophase.make_spec(rms=5))]
    if not args.quick:
        specs += [
            ("TwoPhase rms=6", lambda: twophase.make_spec(rms=6)),
            ("delayed_work rfc_fixed", lambda: make_spec(variant="rfc_fixed")),
            ("delayed_work rfc_fixed cb=submits", lambda: make_spec(variant="rfc_fixed", callback="submits")),
        ]
    rows = []
    for name, factory in specs:
        res, t_bfs = timed(
            lambda f=factory: explore(f(), Options(stop_on_first=False), progress=lambda _l: None)
        )
        (n_ref, g_ref), t_ref = timed(lambda f=factory: naive_bfs(f()))
        assert (n_ref, g_ref) == (res.distinct, res.generated), "the reference disagrees with explorer.bfs"
        rows.append(
            [
                name,
                res.distinct,
                res.generated,
                f"{res.distinct / t_bfs:,.0f}",
                f"{res.generated / t_bfs:,.0f}",
                f"{n_ref / t_ref:,.0f}",
                f"{t_ref / t_bfs:.2f}x",
                f"{bytes_per_state(factory()):,.0f}",
            ]
        )
    print(
        tabulate(
            rows,
            headers=["spec", "distinct", "generated", "distinct/s", "generated/s", "naive distinct/s",
                     "speed-up", "bytes/state"],
        )
    )  # fmt: skip

    cell = {"variant": "usercnt", "callback": "submits"}
    spec = make_spec(**cell)
    res, t_bfs = timed(
        lambda: explore(spec, Options(stop_on_first=False, keep_graph=True), progress=lambda _l: None)
    )
    verdicts, t_live = timed(lambda: check_liveness(res))
    tracemalloc.start()  # only the liveness pass's own allocations are traced
    check_liveness(res)
    _, peak_live = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\nliveness on the largest matrix cell {cell}: {res.distinct} states, {len(res.graph.src)} edges; "
        f"BFS keeping the graph {t_bfs:.1f}s, liveness pass {t_live:.1f}s for {len(verdicts)} properties "
        f"(+{100 * t_live / t_bfs:.0f}% time), {peak_live / 2**20:.0f} MiB peak allocated by the pass"
    )


if __name__ == "__main__":
    main()

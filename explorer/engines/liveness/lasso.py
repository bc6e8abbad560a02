"""The counterexample of a failed liveness property: a lasso through a fair component.

Counterexamples are lassos (``bfs.Trace`` with ``loop`` set): a shortest prefix from an initial state to
the cycle's first state, then a cycle through the fair component that takes or visits whatever each
fairness condition needs, returning to its first state, so ``states[-1] == states[loop]``. A stuttering
step is ``steps[i] is None`` for ``i > 0`` (its state equals the previous one); a pure stuttering lasso
ends with its last state repeated once.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence

from explorer.engines.bfs import Result, Trace
from explorer.engines.liveness.graph import _Search
from spec.lang import Instance


def _enabled_at(search: _Search, v: int) -> set[int]:
    off = search.g.off
    return {c for e in range(off[v], off[v + 1]) for c in search.step_conds(v, e)}


def cycle(
    search: _Search, comp: list[int], entry: int, must: Sequence[bytearray] = ()
) -> list[tuple[int, int]]:
    """A fair closed walk in comp from entry back to entry that visits a state of each ``must`` set
    (each holds one in comp): [(state, instance or -1 for stutter)]."""
    tag = search.new_tag(comp)
    off, dst, ins, mark, conds = search.g.off, search.g.dst, search.g.inst, search.mark, search.conds
    wf_ok = [False] * len(conds)
    sf_seen = [False] * len(conds)
    taken = [False] * len(conds)
    seen = [False] * len(must)

    def visit(v: int) -> None:
        for k, m in enumerate(must):
            seen[k] = seen[k] or bool(m[v])
        en = _enabled_at(search, v)
        for c in search.wf:
            if c not in en:
                wf_ok[c] = True
        for c in en:
            if conds[c].kind == "SF":
                sf_seen[c] = True

    def unsatisfied() -> set[int]:
        u = {c for c in search.wf if not (wf_ok[c] or taken[c])}
        u.update(c for c in search.sf if sf_seen[c] and not taken[c])
        return u

    def serving_edge(v: int, u: set[int]) -> int | None:
        for e in range(off[v], off[v + 1]):
            if mark[dst[e]] == tag and search.walks(e) and any(c in u for c in search.step_conds(v, e)):
                return e
        return None

    def bfs(start: int, goal: Callable[[int], bool]) -> list[tuple[int, int]]:
        """Shortest path inside comp from start to the first state satisfying goal (start included), as
        (state, edge into it)."""
        if goal(start):
            return []
        pred: dict[int, tuple[int, int]] = {start: (-1, -1)}
        frontier = [start]
        while frontier:
            nxt = []
            for v in frontier:
                for e in range(off[v], off[v + 1]):
                    w = dst[e]
                    if mark[w] != tag or w in pred or not search.walks(e):
                        continue
                    pred[w] = (v, e)
                    if goal(w):
                        path = []
                        while w != start:
                            p, pe = pred[w]
                            path.append((w, pe))
                            w = p
                        path.reverse()
                        return path
                    nxt.append(w)
            frontier = nxt
        raise AssertionError("liveness: fair component is not strongly connected")  # a bug, not a user error

    walk: list[tuple[int, int]] = []
    cur = entry

    def advance(path: list[tuple[int, int]]) -> None:
        nonlocal cur
        for v, e in path:
            visit(v)
            for c in search.conds_of(e):
                taken[c] = True  # a walk step is an edge between distinct states: a real A step
            walk.append((v, ins[e]))
            cur = v

    visit(entry)
    while True:
        u = unsatisfied()
        missing = next((m for k, m in enumerate(must) if not seen[k]), None)
        if not u and missing is not None:
            advance(bfs(cur, lambda v, m=missing: bool(m[v])))  # then the loop re-checks the conditions
            continue
        if not u:
            if cur == entry:
                break
            # Closing the walk may visit states that enable an SF action: the loop re-checks.
            advance(bfs(cur, lambda v: v == entry))
            continue
        wf_u = [c for c in u if conds[c].kind == "WF"]

        def serves(v: int, u: set[int] = u, wf_u: list[int] = wf_u) -> bool:
            if wf_u:
                en = _enabled_at(search, v)
                if any(c not in en for c in wf_u):
                    return True  # visiting v satisfies a WF condition: it is disabled there
            return serving_edge(v, u) is not None

        advance(bfs(cur, serves))
        if u <= unsatisfied():
            # Nothing was satisfied on the way, so cur was chosen for an edge that serves u: take it.
            e = serving_edge(cur, u)
            assert e is not None
            advance([(dst[e], e)])
    if not walk:
        walk.append((entry, -1))  # every condition holds at entry: stutter there forever
    return walk


def _lasso(
    res: Result,
    search: _Search,
    comp: list[int],
    entry: int,
    pred_state: array | None,
    pred_inst: array | None,
    must: Sequence[bytearray] = (),
) -> Trace:
    insts = res.spec.instances()
    store = res.store
    tail: list[tuple[int, int]] = []  # (state, instance) from a P /\ ~Q source to entry, leads-to only
    head = entry
    if pred_state is not None and pred_inst is not None:
        while pred_state[head] != -1:
            tail.append((head, pred_inst[head]))
            head = pred_state[head]
        tail.reverse()
    path = store.path_to(head)
    states = [store.states[v] for v in path]
    steps: list[Instance | None] = [None if store.via[v] < 0 else insts[store.via[v]] for v in path]
    for v, i in tail:
        states.append(store.states[v])
        steps.append(insts[i])
    loop = len(states) - 1
    for v, i in cycle(search, comp, entry, must):
        states.append(store.states[v])
        steps.append(insts[i] if i >= 0 else None)
    return Trace(res.spec, states, steps, loop)

"""Fair-cycle search on the explored state graph: ``P ~> Q``, ``[]<>P`` and ``<>[]P`` under WF/SF.

The semantics are TLC's, stated here once so that a verdict can be read without the code:

* Behaviours are infinite. Every state may stutter (``[Next]_vars``), so every state carries an implicit
  self-loop that takes no action; a state with no successor stutters forever. Hence every strongly
  connected component (SCC) of the graph, a single state included, contains a cycle.
* Fairness is about ``<A>_vars`` steps, as in TLA+'s ``WF_vars(A)`` / ``SF_vars(A)``: an action instance
  is *enabled* in state s iff the explored graph has an edge of that instance from s to a *different*
  state, and it is *taken* on a cycle iff the cycle uses such an edge. An instance whose only step from s
  is a self-loop is therefore not enabled there (its step would change no variable).
  Enabledness is read from the whole graph, not from the sub-graph being searched: an action that would
  leave the ``~Q`` region is still enabled inside it, and a cycle that never takes it is unfair.
  Successors cut off by a state constraint are not in the graph, so they do not enable anything.
* An infinite path ending in a cycle C is fair iff for every WF instance A: A is disabled in some state of
  C or taken on C; and for every SF instance A: A is disabled in every state of C or taken on C.
* ``Fairness(params=None)`` gives every instance of the action its own condition (``\\A c: WF(A(c))``);
  explicit params that name only some of the action's parameters do the same for the matching instances.

Properties:
* ``P ~> Q`` fails iff from a reachable ``P /\\ ~Q`` state a fair infinite path stays in ``~Q`` forever.
* ``[]<>P`` fails iff a reachable fair cycle lies entirely in ``~P``.
* ``<>[]P`` fails iff a reachable fair cycle contains a ``~P`` state.

Algorithm: SCCs of the relevant sub-graph (iterative Tarjan; graphs can have millions of edges), each
checked for a fair cycle. For WF alone an SCC is fair iff every WF instance is disabled somewhere in it or
has an edge inside it (a cycle through the whole SCC then does). An SF instance enabled somewhere in the
SCC but never taken inside it rules out every state where it is enabled; those states are removed and
the rest decomposed again (Emerson-Lei / Streett refinement) until each piece is fair or empty.

Counterexamples are lassos (``bfs.Trace`` with ``loop`` set): a shortest prefix from an initial state to
the cycle's first state, then a cycle through the fair component that takes or visits whatever each
fairness condition needs, returning to its first state, so ``states[-1] == states[loop]``. A stuttering
step is ``steps[i] is None`` for ``i > 0`` (its state equals the previous one); a pure stuttering lasso
ends with its last state repeated once.
"""

from __future__ import annotations

import ctypes
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from explorer.engines.bfs import Result, Trace
from explorer.engines.compiled.engine import I32, I64, graph_core
from spec.lang import Fairness, Instance, Spec, SpecError, Temporal

_NOT = bytes([1, 0]) + bytes(254)  # bytes.translate table: 0 -> 1, 1 -> 0

KINDS = ("leadsto", "alwayseventually", "eventuallyalways")


@dataclass
class LivenessVerdict:
    """The outcome of one temporal property, with the fairness it was checked under."""

    name: str
    kind: str  # one of KINDS
    holds: bool
    fairness: list[str]  # e.g. ["WF_vars(Drain(c=CPU0))"]; empty means no fairness was assumed
    trace: Trace | None = None  # a fair lasso that violates the property, when it does not hold
    doc: str = ""
    seconds: float = 0.0
    components: int = 0  # SCCs examined, refinements included (a measure of the work done)
    region: int = 0  # states in the searched sub-graph (~Q reachable from P/\~Q, ~P, or all)

    @property
    def formula(self) -> str:
        return {"leadsto": "P ~> Q", "alwayseventually": "[]<>P", "eventuallyalways": "<>[]P"}[self.kind]


@dataclass
class _Cond:
    kind: str  # "WF" or "SF"
    inst: int
    label: str


def fairness_conditions(spec: Spec, fairness: Sequence[Fairness] | None = None) -> list[str]:
    """The per-instance fairness conditions, as printed in a verdict (``WF_vars(A(c=CPU0))``)."""
    return [c.label for c in _conditions(spec, spec.fairness if fairness is None else fairness)]


def _conditions(spec: Spec, fairness: Sequence[Fairness]) -> list[_Cond]:
    insts = spec.instances()
    out: list[_Cond] = []
    seen: set[tuple[str, int]] = set()
    for f in fairness:
        if f.kind not in ("WF", "SF"):
            raise SpecError(f"spec {spec.name}: fairness kind {f.kind!r} is not WF or SF")
        action = next((a for a in spec.actions if a.name == f.action), None)
        if action is None:
            known = ", ".join(a.name for a in spec.actions) or "none"
            raise SpecError(f"spec {spec.name}: {f.kind} names unknown action {f.action} (known: {known})")
        want: dict[str, Any] = {}
        for k, v in f.params or ():
            if k not in action.params:
                raise SpecError(f"spec {spec.name}: {f.kind}({f.action}) names unknown parameter {k}")
            t = action.param_types.get(k)
            # Accept an Enum value by name (c="CPU0") as well as by index (c=0).
            if isinstance(v, str) and t is not None and hasattr(t, "names") and v in t.names:
                v = t.names.index(v)
            want[k] = v
        matched = [i for i in insts if i.action is action and all(i.args[k] == v for k, v in want.items())]
        if not matched:
            shown = ", ".join(f"{k}={v!r}" for k, v in want.items())
            raise SpecError(f"spec {spec.name}: {f.kind}({f.action}({shown})) matches no action instance")
        for i in matched:
            if (f.kind, i.index) not in seen:  # the same condition declared twice is one condition
                seen.add((f.kind, i.index))
                out.append(_Cond(f.kind, i.index, f"{f.kind}_vars({i.label})"))
    return out


def _eval(pred: Callable[[Any], Any], states: Sequence[Any], what: str) -> bytearray:
    """pred over every stored state, as a 0/1 array indexed by state id (in C when the store is the
    compiled engine's and pred was compiled with it)."""
    evaluate = getattr(states, "evaluate", None)
    fast = evaluate(pred) if evaluate is not None else None
    if fast is not None:
        return fast
    out = bytearray(len(states))
    for sid, s in enumerate(states):
        r = pred(s)
        if r is True:
            out[sid] = 1
        elif r is not False:
            raise SpecError(f"{what} returned {type(r).__name__}, not a Boolean")
    return out


@dataclass
class _Csr:
    """Out-edges by source state (compressed rows), self-loops dropped: they are stuttering steps."""

    n: int
    off: array  # edges of v are off[v] .. off[v+1]-1
    dst: array
    inst: array


def _zeros(typecode: str, n: int) -> array:
    """An array of n zeros, built in C (``array(t, bytes(k))`` would build and copy a bytes object)."""
    return array(typecode, [0]) * n


def _int32(a: array) -> array:
    return a if a.typecode == "i" else array("i", a)


def _ptr(a: Any, ctype: Any) -> Any:
    """A ctypes pointer to the buffer of an array or bytearray (no copy)."""
    return (ctype * max(1, len(a))).from_buffer(a) if len(a) else None


def _build_csr(res: Result, core: Any = None) -> _Csr:
    g = res.graph
    assert g is not None
    n = len(res.store)
    if core is not None:
        src, dst_all, inst_all = _int32(g.src), _int32(g.dst), _int32(g.inst)
        m = len(src)
        off = _zeros("q", n + 1)
        dst = _zeros("i", m)
        ins = _zeros("i", m)
        kept = core.gc_csr(
            ctypes.c_int64(n), ctypes.c_int64(m), _ptr(src, I32), _ptr(dst_all, I32), _ptr(inst_all, I32),
            _ptr(off, I64), _ptr(dst, I32), _ptr(ins, I32),
        )  # fmt: skip
        if kept < 0:
            raise MemoryError("liveness: out of memory building the graph")
        del dst[kept:], ins[kept:]
        return _Csr(n, off, dst, ins)
    off = array("q", bytes(8 * (n + 1)))
    dst = array("q")
    ins = array("l")
    srcs = array("q")
    in_order = True
    prev = -1
    for s, d, i in zip(g.src, g.dst, g.inst, strict=True):
        if s == d:
            continue
        if s < prev:
            in_order = False
        prev = s
        off[s + 1] += 1
        dst.append(d)
        ins.append(i)
        srcs.append(s)
    for v in range(n):
        off[v + 1] += off[v]
    if not in_order:
        # BFS appends edges source by source, so this is only a fallback for hand-built graphs.
        order = sorted(range(len(dst)), key=srcs.__getitem__)
        dst = array("q", (dst[k] for k in order))
        ins = array("l", (ins[k] for k in order))
    return _Csr(n, off, dst, ins)


class _Search:
    """SCC decomposition and fair-component refinement over one graph, shared by all properties."""

    def __init__(self, csr: _Csr, conds: list[_Cond], n_insts: int, core: Any = None) -> None:
        self.g = csr
        self.core = core
        self.n_insts = n_insts
        self.conds = conds
        by_inst: list[list[int]] = [[] for _ in range(n_insts)]
        for ci, c in enumerate(conds):
            by_inst[c.inst].append(ci)
        self.by_inst: list[tuple[int, ...]] = [tuple(x) for x in by_inst]
        self.wf = [ci for ci, c in enumerate(conds) if c.kind == "WF"]
        self.sf = [ci for ci, c in enumerate(conds) if c.kind == "SF"]
        n = csr.n
        # mark[v] == tag means v is in the set currently being decomposed; 0 is never a live tag.
        self.mark = array("q", bytes(8 * n))
        self.tag = 0
        self.idx = array("q", bytes(8 * n))
        self.low = array("q", bytes(8 * n))
        self.onstack = bytearray(n)
        self.examined = 0

    def new_tag(self, nodes: Sequence[int]) -> int:
        self.tag += 1
        t = self.tag
        mark = self.mark
        for v in nodes:
            mark[v] = t
        return t

    def sccs(self, nodes: Sequence[int], tag: int) -> list[list[int]]:
        """Tarjan's SCCs of the sub-graph induced by {v : mark[v] == tag}, with an explicit call stack."""
        off, dst, mark = self.g.off, self.g.dst, self.mark
        idx, low, onstack = self.idx, self.low, self.onstack
        for v in nodes:
            idx[v] = -1
        counter = 0
        stack: list[int] = []
        out: list[list[int]] = []
        for root in nodes:
            if idx[root] != -1:
                continue
            idx[root] = low[root] = counter
            counter += 1
            stack.append(root)
            onstack[root] = 1
            call_v = [root]
            call_e = [off[root]]
            while call_v:
                v = call_v[-1]
                e = call_e[-1]
                end = off[v + 1]
                descended = False
                while e < end:
                    w = dst[e]
                    e += 1
                    if mark[w] != tag:
                        continue
                    iw = idx[w]
                    if iw == -1:
                        call_e[-1] = e
                        idx[w] = low[w] = counter
                        counter += 1
                        stack.append(w)
                        onstack[w] = 1
                        call_v.append(w)
                        call_e.append(off[w])
                        descended = True
                        break
                    if onstack[w] and iw < low[v]:
                        low[v] = iw
                if descended:
                    continue
                call_v.pop()
                call_e.pop()
                if call_v:
                    u = call_v[-1]
                    if low[v] < low[u]:
                        low[u] = low[v]
                if low[v] == idx[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        onstack[w] = 0
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
        return out

    def _classify(self, comp: list[int], tag: int) -> tuple[str, list[int]]:
        """("fair", []), ("unfair", []) or ("refine", states to drop) for an SCC whose nodes carry tag."""
        k = len(self.conds)
        if k == 0:
            return "fair", []
        off, dst, ins, mark, by_inst = self.g.off, self.g.dst, self.g.inst, self.mark, self.by_inst
        enabled_in = [0] * k  # number of states of comp where the condition's instance is enabled
        last = [-1] * k
        taken = [False] * k
        for v in comp:
            for e in range(off[v], off[v + 1]):
                cs = by_inst[ins[e]]
                if not cs:
                    continue
                inside = mark[dst[e]] == tag
                for c in cs:
                    if last[c] != v:
                        last[c] = v
                        enabled_in[c] += 1
                    if inside:
                        taken[c] = True
        size = len(comp)
        for c in self.wf:
            # Enabled everywhere and never taken inside: no cycle within comp can satisfy it.
            if enabled_in[c] == size and not taken[c]:
                return "unfair", []
        bad = {self.conds[c].inst for c in self.sf if enabled_in[c] and not taken[c]}
        if not bad:
            return "fair", []
        drop = [v for v in comp if any(ins[e] in bad for e in range(off[v], off[v + 1]))]
        return "refine", drop

    def fair_components(self, nodes: Sequence[int], required: bytearray | None) -> list[list[int]]:
        """The maximal fair SCCs within nodes (that contain a required state, if given)."""
        if self.core is not None:
            return self._fair_components_c(nodes, required)
        work = self.sccs(nodes, self.new_tag(nodes))
        fair: list[list[int]] = []
        while work:
            comp = work.pop()
            self.examined += 1
            if required is not None and not any(required[v] for v in comp):
                continue  # no sub-component of it can contain a required state either
            tag = self.new_tag(comp)
            verdict, drop = self._classify(comp, tag)
            if verdict == "fair":
                fair.append(comp)
            elif verdict == "refine":
                for v in drop:
                    self.mark[v] = 0
                rest = [v for v in comp if self.mark[v] == tag]
                if rest:
                    work.extend(self.sccs(rest, tag))
        return fair

    def _fair_components_c(self, nodes: Sequence[int], required: bytearray | None) -> list[list[int]]:
        """fair_components in C (graph_core.c's gc_fair); the same components, examined count included."""
        g, n = self.g, self.g.n
        conds = self.conds
        by_off = array("q", [0])
        by_cond = array("i")
        for cs in self.by_inst:
            by_cond.extend(cs)
            by_off.append(len(by_cond))
        is_sf = bytearray(c.kind == "SF" for c in conds)
        cond_inst = array("i", [c.inst for c in conds])
        node_arr = nodes if isinstance(nodes, array) and nodes.typecode == "i" else array("i", nodes)
        members = _zeros("i", len(node_arr))
        sizes = _zeros("q", max(1, len(node_arr)))
        tag = ctypes.c_int64(self.tag)
        examined = ctypes.c_int64(0)
        k = self.core.gc_fair(
            ctypes.c_int64(n), _ptr(g.off, I64), _ptr(g.dst, I32), _ptr(g.inst, I32),
            ctypes.c_int32(self.n_insts), ctypes.c_int32(len(conds)), _ptr(is_sf, ctypes.c_int8),
            _ptr(cond_inst, I32), _ptr(by_off, I64), _ptr(by_cond, I32), _ptr(node_arr, I32),
            ctypes.c_int64(len(node_arr)), _ptr(required, ctypes.c_uint8) if required is not None else None,
            _ptr(members, I32), _ptr(sizes, I64),
            _ptr(self.mark, I64), _ptr(self.idx, I64), _ptr(self.low, I64),
            _ptr(self.onstack, ctypes.c_int8), ctypes.byref(tag), ctypes.byref(examined),
        )  # fmt: skip
        if k < 0:
            raise MemoryError("liveness: out of memory decomposing the graph")
        self.tag = tag.value
        self.examined += examined.value
        comps: list[list[int]] = []
        start = 0
        for size in sizes[:k]:
            comps.append(members[start : start + size].tolist())
            start += size
        return comps

    # ---- lasso cycle construction

    def _enabled_at(self, v: int) -> set[int]:
        off, ins, by_inst = self.g.off, self.g.inst, self.by_inst
        return {c for e in range(off[v], off[v + 1]) for c in by_inst[ins[e]]}

    def cycle(self, comp: list[int], entry: int) -> list[tuple[int, int]]:
        """A fair closed walk in comp from entry back to entry: [(state, instance or -1 for stutter)]."""
        tag = self.new_tag(comp)
        off, dst, ins, mark, by_inst, conds = (
            self.g.off,
            self.g.dst,
            self.g.inst,
            self.mark,
            self.by_inst,
            self.conds,
        )
        wf_ok = [False] * len(conds)
        sf_seen = [False] * len(conds)
        taken = [False] * len(conds)

        def visit(v: int) -> None:
            en = self._enabled_at(v)
            for c in self.wf:
                if c not in en:
                    wf_ok[c] = True
            for c in en:
                if conds[c].kind == "SF":
                    sf_seen[c] = True

        def unsatisfied() -> set[int]:
            u = {c for c in self.wf if not (wf_ok[c] or taken[c])}
            u.update(c for c in self.sf if sf_seen[c] and not taken[c])
            return u

        def serving_edge(v: int, u: set[int]) -> int | None:
            for e in range(off[v], off[v + 1]):
                if mark[dst[e]] == tag and any(c in u for c in by_inst[ins[e]]):
                    return e
            return None

        def bfs(start: int, goal: Callable[[int], bool]) -> list[tuple[int, int]]:
            """Shortest path inside comp from start to the first state satisfying goal (start included)."""
            if goal(start):
                return []
            pred: dict[int, tuple[int, int]] = {start: (-1, -1)}
            frontier = [start]
            while frontier:
                nxt = []
                for v in frontier:
                    for e in range(off[v], off[v + 1]):
                        w = dst[e]
                        if mark[w] != tag or w in pred:
                            continue
                        pred[w] = (v, e)
                        if goal(w):
                            path = []
                            while w != start:
                                p, pe = pred[w]
                                path.append((w, ins[pe]))
                                w = p
                            path.reverse()
                            return path
                        nxt.append(w)
                frontier = nxt
            raise AssertionError(
                "liveness: fair component is not strongly connected"
            )  # a bug, not a user error

        walk: list[tuple[int, int]] = []
        cur = entry

        def advance(path: list[tuple[int, int]]) -> None:
            nonlocal cur
            for v, i in path:
                visit(v)
                for c in by_inst[i]:
                    taken[c] = True  # a walk step is an edge between distinct states: a real A step
                walk.append((v, i))
                cur = v

        visit(entry)
        while True:
            u = unsatisfied()
            if not u:
                if cur == entry:
                    break
                # Closing the walk may visit states that enable an SF action: the loop re-checks.
                advance(bfs(cur, lambda v: v == entry))
                continue
            wf_u = [c for c in u if conds[c].kind == "WF"]

            def serves(v: int, u: set[int] = u, wf_u: list[int] = wf_u) -> bool:
                if wf_u:
                    en = self._enabled_at(v)
                    if any(c not in en for c in wf_u):
                        return True  # visiting v satisfies a WF condition: it is disabled there
                return serving_edge(v, u) is not None

            advance(bfs(cur, serves))
            if u <= unsatisfied():
                # Nothing was satisfied on the way, so cur was chosen for an edge that serves u: take it.
                e = serving_edge(cur, u)
                assert e is not None
                advance([(dst[e], ins[e])])
        if not walk:
            walk.append((entry, -1))  # every condition holds at entry: stutter there forever
        return walk


def _require_graph(result: Result) -> None:
    if result.graph is None:
        raise ValueError("liveness checking needs the state graph: explore with Options(keep_graph=True)")
    if not result.exhausted:
        raise ValueError(
            f"liveness checking needs the whole state space, but the search stopped early "
            f"({result.stopped}); explore with Options(check_deadlock=False) if terminal states are "
            "expected, and stop_on_first=False to keep going past invariant violations"
        )


def check_liveness(
    result: Result,
    props: Sequence[str | Temporal] | None = None,
    fairness: Sequence[Fairness] | None = None,
    impl: str = "auto",
) -> list[LivenessVerdict]:
    """Check temporal properties on an exhausted search with ``keep_graph=True``.

    ``props``: property names or Temporal objects (default: all of ``result.spec.properties``).
    ``fairness``: overrides ``spec.fairness`` (default: the spec's own fairness).
    ``impl``: "c" runs the graph algorithms compiled (``graph_core.c``), "python" the reference code
    below; "auto" is "c" where a C compiler exists. Both give the same verdicts, counts and lassos.
    """
    if impl not in ("auto", "c", "python"):
        raise ValueError(f"check_liveness: impl must be auto, c or python, not {impl!r}")
    core = None if impl == "python" else graph_core()
    if impl == "c" and core is None:
        raise ValueError("check_liveness: impl='c' needs a C compiler")
    _require_graph(result)
    spec = result.spec
    chosen: list[Temporal] = []
    for p in spec.properties if props is None else props:
        if isinstance(p, Temporal):
            chosen.append(p)
            continue
        t = next((x for x in spec.properties if x.name == p), None)
        if t is None:
            known = ", ".join(x.name for x in spec.properties) or "none"
            raise ValueError(f"spec {spec.name}: no temporal property named {p} (known: {known})")
        chosen.append(t)
    for t in chosen:
        if t.kind not in KINDS:
            raise ValueError(
                f"property {t.name}: unknown kind {t.kind!r} (expected one of {', '.join(KINDS)})"
            )
        if t.kind == "leadsto" and t.q is None:
            raise ValueError(f"property {t.name}: leads-to needs a Q predicate")
    conds = _conditions(spec, spec.fairness if fairness is None else fairness)
    labels = [c.label for c in conds]
    if not chosen:
        return []
    search = _Search(_build_csr(result, core), conds, len(spec.instances()), core)
    return [_check_one(result, search, t, labels) for t in chosen]


def _check_one(res: Result, search: _Search, prop: Temporal, labels: list[str]) -> LivenessVerdict:
    t0 = time.monotonic()
    store = res.store
    states = store.states
    n = len(states)
    g = search.g
    examined0 = search.examined
    p = _eval(prop.p, states, f"property {prop.name}: P")
    # For leads-to, pred_state/pred_inst link each ~Q state back towards its P /\ ~Q source (-1 at a
    # source, whose own prefix comes from the BFS parent links).
    pred_state: array | None = None
    pred_inst: array | None = None
    required: bytearray | None = None
    if prop.kind == "leadsto":
        assert prop.q is not None
        q = _eval(prop.q, states, f"property {prop.name}: Q")
        nodes, dist, pred_state, pred_inst = _reach_not_q(res, g, p, q, search.core)
    elif prop.kind == "alwayseventually":
        nodes = _select(search.core, n, p, 0)
        dist = None
    else:
        nodes = _select(search.core, n, None, 0)
        required = p.translate(_NOT)
        dist = None
    fair = search.fair_components(nodes, required) if nodes else []
    verdict = LivenessVerdict(
        prop.name,
        prop.kind,
        not fair,
        list(labels),
        None,
        prop.doc,
        0.0,
        search.examined - examined0,
        len(nodes),
    )
    if fair:
        # The counterexample with the shortest prefix: states are numbered in BFS order, so for the last two
        # kinds the smallest id is the shallowest; for leads-to dist counts the detour through P /\ ~Q.
        best: tuple[int, int, list[int]] | None = None
        for comp in fair:
            cands = comp if required is None else [v for v in comp if required[v]]
            entry = min(cands, key=(lambda v: (dist[v], v)) if dist is not None else None)
            key = (dist[entry] if dist is not None else entry, entry)
            if best is None or key < best[:2]:
                best = (key[0], key[1], comp)
        assert best is not None
        entry, comp = best[1], best[2]
        verdict.trace = _lasso(res, search, comp, entry, pred_state, pred_inst)
    verdict.seconds = time.monotonic() - t0
    return verdict


def _select(core: Any, n: int, mask: bytearray | None, want: int) -> array:
    """The states v, ascending, with mask[v] == want (every state when mask is None)."""
    if core is None:
        return array("i", range(n)) if mask is None else array("i", (v for v in range(n) if mask[v] == want))
    out = _zeros("i", n)
    k = core.gc_select(
        ctypes.c_int64(n), None if mask is None else _ptr(mask, ctypes.c_uint8), want, _ptr(out, I32)
    )
    del out[k:]
    return out


def _reach_not_q(
    res: Result, g: _Csr, p: bytearray, q: bytearray, core: Any = None
) -> tuple[Sequence[int], array, array, array]:
    """The ~Q states reachable inside ~Q from a P /\\ ~Q state, with shortest-prefix links.

    A multi-source BFS where each source starts at its own BFS depth, so dist[v] is the length of the
    shortest path init ->* (P /\\ ~Q state) ->* v whose second part stays in ~Q.
    """
    n = g.n
    if core is not None:
        parent = _int32(res.store.parent)
        nodes = _zeros("i", n)
        dist, pred_state, pred_inst = (_zeros("q", n) for _ in range(3))
        nn = core.gc_reach_not_q(
            ctypes.c_int64(n), _ptr(g.off, I64), _ptr(g.dst, I32), _ptr(g.inst, I32), _ptr(parent, I32),
            _ptr(p, ctypes.c_uint8), _ptr(q, ctypes.c_uint8), _ptr(nodes, I32), _ptr(dist, I64),
            _ptr(pred_state, I64), _ptr(pred_inst, I64),
        )  # fmt: skip
        if nn < 0:
            raise MemoryError("liveness: out of memory searching the ~Q region")
        del nodes[nn:]
        return nodes, dist, pred_state, pred_inst
    parent = res.store.parent
    depth = array("q", bytes(8 * n))
    for v in range(n):
        u = parent[v]
        depth[v] = 0 if u < 0 else depth[u] + 1  # a parent is always stored before its child
    sources = sorted((v for v in range(n) if p[v] and not q[v]), key=lambda v: (depth[v], v))
    dist = array("q", [-1]) * n
    pred_state = array("q", [-1]) * n
    pred_inst = array("l", [-1]) * n
    nodes: list[int] = []
    off, dst, ins = g.off, g.dst, g.inst
    si = 0
    frontier: list[int] = []
    level = depth[sources[0]] if sources else 0
    while si < len(sources) or frontier:
        if not frontier and si < len(sources):
            level = max(level, depth[sources[si]])
        while si < len(sources) and depth[sources[si]] <= level:
            s = sources[si]
            si += 1
            if dist[s] == -1:
                dist[s] = level
                frontier.append(s)
                nodes.append(s)
        nxt = []
        for v in frontier:
            for e in range(off[v], off[v + 1]):
                w = dst[e]
                if q[w] or dist[w] != -1:
                    continue
                dist[w] = level + 1
                pred_state[w] = v
                pred_inst[w] = ins[e]
                nxt.append(w)
                nodes.append(w)
        frontier = nxt
        level += 1
    return nodes, dist, pred_state, pred_inst


def _lasso(
    res: Result,
    search: _Search,
    comp: list[int],
    entry: int,
    pred_state: array | None,
    pred_inst: array | None,
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
    for v, i in search.cycle(comp, entry):
        states.append(store.states[v])
        steps.append(insts[i] if i >= 0 else None)
    return Trace(res.spec, states, steps, loop)


# --------------------------------------------------------------------------- command line


def _add_arguments(p: Any) -> None:
    p.add_argument("config", help="a model configuration (TOML)")
    p.add_argument("--property", dest="props", action="append", metavar="NAME", help="check only these")
    p.add_argument(
        "--no-fairness", action="store_true", help="drop every fairness assumption (as TLC without WF)"
    )
    p.add_argument(
        "--out", default="out", metavar="DIR", help="lassos go to DIR/<config>/liveness/ (default: out)"
    )
    from explorer.cli_common import add_engine_option, add_set_option

    add_set_option(p)
    add_engine_option(p)


def _run(args: Any) -> int:
    from pathlib import Path

    from tabulate import tabulate

    from explorer.cli_common import EXIT_OK, EXIT_VIOLATION, UsageError, load
    from explorer.engines.bfs import Options
    from explorer.engines.compiled.engine import explore_any
    from explorer.outputs.traces import write_trace

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
    print(f"{res.distinct} distinct states, {len(res.graph.src)} transitions, {res.seconds:.1f}s")
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
    return EXIT_VIOLATION if bad else EXIT_OK

"""The graph algorithms of the liveness check: the explored graph as compressed rows, the regions a
property is searched in, and its fair strongly connected components.

Algorithm: SCCs of the relevant sub-graph (iterative Tarjan; graphs can have millions of edges), each
checked for a fair cycle. For WF alone an SCC is fair iff every WF instance is disabled somewhere in it or
has an edge inside it (a cycle through the whole SCC then does). An SF instance enabled somewhere in the
SCC but never taken inside it rules out every state where it is enabled; those states are removed and
the rest decomposed again (Emerson-Lei / Streett refinement) until each piece is fair or empty.
``check.py`` says what is searched for which property; the same algorithms run in C (``graph_core.c``
of the compiled engine) where a C compiler exists, with the same components and counts.
"""

from __future__ import annotations

import ctypes
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from explorer.engines.bfs import Result
from explorer.engines.compiled.engine import I32, I64


@dataclass
class _Cond:
    kind: str  # "WF" or "SF"
    insts: tuple[int, ...]  # the action instances it is about (several: fairness of their disjunction)
    label: str
    where: Callable[..., Any] | None = None  # only their steps from states where where(state, **args)


@dataclass
class _Csr:
    """Out-edges by source state (compressed rows), self-loops included: the algorithms read a self-loop
    as the stuttering step it is (``_Search.step_conds``)."""

    n: int
    off: Any  # edges of v are off[v] .. off[v+1]-1 (int64)
    dst: Any  # int32 for the C algorithms
    inst: Any
    owner: Any = None  # the graph whose buffers these are (the compiled search's, read in place)


def _zeros(typecode: str, n: int) -> array:
    """An array of n zeros, built in C (``array(t, bytes(k))`` would build and copy a bytes object)."""
    return array(typecode, [0]) * n


def _code(a: Any) -> str:
    """The element type of an array or a memoryview."""
    return getattr(a, "typecode", None) or a.format


def _int32(a: Any) -> Any:
    return a if _code(a) == "i" else array("i", a)


def _int64(a: Any) -> Any:
    return a if _code(a) == "q" else array("q", a)


def _ptr(a: Any, ctype: Any) -> Any:
    """A ctypes pointer to the buffer of an array or bytearray (no copy)."""
    return (ctype * max(1, len(a))).from_buffer(a) if len(a) else None


def _build_csr(res: Result, core: Any = None) -> _Csr:
    """The search's graph rows as they are; converted to int32 for the C algorithms only where they are
    the Python engine's (the compiled engine's are int32 already and read in place, with no copy)."""
    g = res.graph
    assert g is not None
    n = len(res.store)
    if g.n != n:
        raise AssertionError(f"liveness: the graph has rows for {g.n} states, the store {n}")  # a bug
    if core is None:
        return _Csr(n, g.off, g.dst, g.inst, g)
    return _Csr(n, _int64(g.off), _int32(g.dst), _int32(g.inst), g)


class _Search:
    """SCC decomposition and fair-component refinement over one graph, shared by all properties."""

    def __init__(self, csr: _Csr, conds: list[_Cond], n_insts: int, core: Any = None) -> None:
        self.g = csr
        self.core = core
        self.n_insts = n_insts
        self.conds = conds
        by_inst: list[list[int]] = [[] for _ in range(n_insts)]
        for ci, c in enumerate(conds):
            for i in c.insts:
                by_inst[i].append(ci)
        self.by_inst: list[tuple[int, ...]] = [tuple(x) for x in by_inst]
        # condition -> its edges (1) among its instances', for a condition with a where filter
        # (check.edge_filters); such searches run in Python
        self.filtered: dict[int, bytearray] = {}
        self.wf = [ci for ci, c in enumerate(conds) if c.kind == "WF"]
        self.sf = [ci for ci, c in enumerate(conds) if c.kind == "SF"]
        n = csr.n
        # mark[v] == tag means v is in the set currently being decomposed; 0 is never a live tag.
        self.mark = array("q", bytes(8 * n))
        self.tag = 0
        self.idx = array("i", bytes(4 * n))  # int32: Tarjan's numbers are below the number of states
        self.low = array("i", bytes(4 * n))
        self.onstack = bytearray(n)
        self.examined = 0
        # skip[i] == 1: edges of instance i are not walked (the environment's, for the kernel-only search);
        # None: every edge is
        self.skip: bytearray | None = None

    def conds_of(self, e: int) -> tuple[int, ...]:
        """The fairness conditions edge e is a step of."""
        cs = self.by_inst[self.g.inst[e]]
        if not self.filtered or not cs:
            return cs
        return tuple(c for c in cs if c not in self.filtered or self.filtered[c][e])

    def step_conds(self, v: int, e: int) -> tuple[int, ...]:
        """The fairness conditions edge e of state v is a step of: none for a self-loop, which is a
        stuttering step (WF_vars and SF_vars are about steps that change the state, and an action is
        enabled only where such a step of it exists)."""
        return () if self.g.dst[e] == v else self.conds_of(e)

    def walks(self, e: int) -> bool:
        """Edge e may lie on a cycle of the current search."""
        return self.skip is None or not self.skip[self.g.inst[e]]

    def new_tag(self, nodes: Sequence[int]) -> int:
        self.tag += 1
        t = self.tag
        mark = self.mark
        for v in nodes:
            mark[v] = t
        return t

    def sccs(self, nodes: Sequence[int], tag: int) -> list[list[int]]:
        """Tarjan's SCCs of the sub-graph induced by {v : mark[v] == tag} (skipped edges left out), with an
        explicit call stack."""
        off, dst, mark = self.g.off, self.g.dst, self.mark
        ins, skip = self.g.inst, self.skip
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
                    if mark[w] != tag or (skip is not None and skip[ins[e - 1]]):
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
        off, dst, mark, step_conds = self.g.off, self.g.dst, self.mark, self.step_conds
        enabled_in = [0] * k  # number of states of comp where the condition's instances are enabled
        last = [-1] * k
        taken = [False] * k
        for v in comp:
            for e in range(off[v], off[v + 1]):
                cs = step_conds(v, e)
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
        bad = {c for c in self.sf if enabled_in[c] and not taken[c]}
        if not bad:
            return "fair", []
        drop = [v for v in comp if any(c in bad for e in range(off[v], off[v + 1]) for c in step_conds(v, e))]
        return "refine", drop

    def fair_components(self, nodes: Sequence[int], required: bytearray | None) -> list[list[int]]:
        """The maximal fair SCCs within nodes (that contain a required state, if given)."""
        if self.core is not None and not self.filtered:
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
        node_arr = nodes if isinstance(nodes, array) and nodes.typecode == "i" else array("i", nodes)
        members = _zeros("i", len(node_arr))
        sizes = _zeros("q", max(1, len(node_arr)))
        tag = ctypes.c_int64(self.tag)
        examined = ctypes.c_int64(0)
        k = self.core.gc_fair(
            ctypes.c_int64(n), _ptr(g.off, I64), _ptr(g.dst, I32), _ptr(g.inst, I32),
            ctypes.c_int32(self.n_insts), ctypes.c_int32(len(conds)), _ptr(is_sf, ctypes.c_int8),
            _ptr(by_off, I64), _ptr(by_cond, I32), _ptr(node_arr, I32),
            ctypes.c_int64(len(node_arr)), _ptr(required, ctypes.c_uint8) if required is not None else None,
            _ptr(members, I32), _ptr(sizes, I64),
            _ptr(self.mark, I64), _ptr(self.idx, I32), _ptr(self.low, I32),
            _ptr(self.onstack, ctypes.c_int8), ctypes.byref(tag), ctypes.byref(examined),
            _ptr(self.skip, ctypes.c_uint8) if self.skip is not None else None,
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
        dist, pred_state, pred_inst = (_zeros("i", n) for _ in range(3))
        nn = core.gc_reach_not_q(
            ctypes.c_int64(n), _ptr(g.off, I64), _ptr(g.dst, I32), _ptr(g.inst, I32), _ptr(parent, I32),
            _ptr(p, ctypes.c_uint8), _ptr(q, ctypes.c_uint8), _ptr(nodes, I32), _ptr(dist, I32),
            _ptr(pred_state, I32), _ptr(pred_inst, I32),
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

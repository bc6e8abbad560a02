"""Refinement: does a spec implement an abstract one (``Spec.refines``)? Over an exhaustive search that
kept its graph: every initial state must map to an abstract initial state, and every step to an abstract
step or a stutter. States are stored in BFS order and edges in the order their sources were expanded, so
the first offending state or edge ends a shortest counterexample: the trace to it, then (for a step)
the step, recomputed from the trace's last state. The compiled engine evaluates both predicates in C
(``_extra_predicates``); otherwise they run here in Python."""

from __future__ import annotations

from explorer.engines.bfs import Result, Violation
from explorer.engines.witnesses import _first_edge, _first_state
from spec.lang import Refinement, SpecError, Witness, successors


def check_refinements(res: Result, names: set[str] | None = None) -> list[Violation]:
    """A shortest counterexample for each refinement of ``res.spec`` (of ``names``) that fails."""
    spec = res.spec
    if res.graph is None and spec.refinements:
        raise SpecError("a refinement check needs the state graph: search with keep_graph")
    out = []
    for r in spec.refinements:
        if names is not None and r.name not in names:
            continue
        v = _check(res, r)
        if v is not None:
            out.append(v)
    return out


def _check(res: Result, r: Refinement) -> Violation | None:
    spec = res.spec
    states = res.store.states
    first_layer = res.layers[0] if res.layers else 0
    sid = _first_state(Witness(r.name, r.init_check), states)
    if sid is not None and sid < first_layer:
        return Violation(r.name, res.trace_to(sid), f"{r.doc} (an initial state maps to no abstract one)")
    every = {i.index for i in spec.instances()}
    e = _first_edge(Witness(r.name, r.step_check, action="*"), states, res.graph, every)
    if e is None:
        return None
    src, ix = res.graph.source(e), res.graph.inst[e]
    trace = res.trace_to(src)
    pre = trace.states[-1]
    post = next(t for i, t in successors(spec, pre) if i.index == ix and r.step_check(pre, t) is True)
    trace.states.append(post)
    trace.steps.append(spec.instances()[ix])
    return Violation(r.name, trace, r.doc or f"every step maps to a step of {r.abstract.name} or a stutter")

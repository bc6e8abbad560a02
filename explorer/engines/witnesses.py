"""Which of a spec's witnesses (``Spec.witness``) an exhaustive BFS reached, each with a shortest trace.

A witness is a behaviour the kernel allows. An invariant proved on a model that cannot reach it may
hold only because the model forbids what the kernel does (a false proof); so the matrix fails when a
kernel witness is unreachable, and calls a "holds" verdict vacuous when the preconditions named for
that property (``Spec.nonvacuous``) are not all reachable.

States are stored in BFS order and edges appended in the order their sources were expanded, so the
first state (or edge) that satisfies a witness ends a shortest path to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from explorer.engines.bfs import Result, Trace
from spec.lang import SpecError, Witness, successors


@dataclass
class Reached:
    witness: Witness
    trace: Trace | None  # a shortest trace ending in the witnessing state or step; None: unreachable

    @property
    def reached(self) -> bool:
        return self.trace is not None


def _holds(w: Witness, *args: object) -> bool:
    ok = w.fn(*args)
    if type(ok) is not bool:
        raise SpecError(f"witness {w.name} returned {type(ok).__name__}, not a Boolean")
    return ok


def find_witnesses(res: Result) -> list[Reached]:
    """Every witness of ``res.spec``, reached or not. Step witnesses need the graph (keep_graph)."""
    spec = res.spec
    states = res.store.states
    insts = spec.instances()
    out = []
    for w in spec.witnesses:
        trace = None
        if w.action is None:
            sid = _first_state(w, states)
            if sid is not None:
                trace = res.trace_to(sid)
        else:
            graph = res.graph
            if graph is None:
                raise SpecError(f"witness {w.name} is a step witness: the search must keep its graph")
            wanted = {i.index for i in insts if i.action.name == w.action}
            e = _first_edge(w, states, graph, wanted)
            if e is not None:
                src, ix = graph.source(e), graph.inst[e]
                trace = res.trace_to(src)
                # The step's successor is recomputed from the trace's last state rather than read from
                # the store, so that it is concrete even where stored states are orbit representatives.
                pre = trace.states[-1]
                post = next(t for i, t in successors(spec, pre) if i.index == ix and _holds(w, pre, t))
                trace.states.append(post)
                trace.steps.append(insts[ix])
        out.append(Reached(w, trace))
    return out


def _first_state(w: Witness, states: Sequence[Any]) -> int | None:
    evaluate = getattr(states, "evaluate", None)
    fast = evaluate(w.fn) if evaluate is not None else None
    if fast is not None:
        i = fast.find(1)
        return None if i < 0 else i
    return next((sid for sid, t in enumerate(states) if _holds(w, t)), None)


def _first_edge(w: Witness, states: Sequence[Any], graph: Any, wanted: set[int]) -> int | None:
    first_step = getattr(states, "first_step", None)
    if first_step is not None:
        try:
            return first_step(w.fn, sorted(wanted))
        except LookupError:
            pass  # not compiled: evaluated below, in Python
    for e, (src, dst, ix) in enumerate(graph.edges()):
        if ix in wanted and _holds(w, states[src], states[dst]):
            return e
    return None

"""Which of a spec's witnesses (``Spec.witness``) an exhaustive BFS reached, each with a shortest trace.

A witness is a behaviour the kernel allows. An invariant proved on a model that cannot reach it may
hold only because the model forbids what the kernel does (a false proof); so the matrix fails when a
kernel witness is unreachable, and calls a "holds" verdict vacuous when the preconditions named for
that property (``Spec.nonvacuous``) are not all reachable.

States are stored in BFS order and edges appended in the order their sources were expanded, so the
first state (or edge) that satisfies a witness ends a shortest path to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.bfs import Result, Trace
from spec.lang import SpecError, Witness


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
            for sid, t in enumerate(states):
                if _holds(w, t):
                    trace = res.trace_to(sid)
                    break
        else:
            graph = res.graph
            if graph is None:
                raise SpecError(f"witness {w.name} is a step witness: the search must keep its graph")
            wanted = {i.index for i in insts if i.action.name == w.action}
            for src, dst, ix in zip(graph.src, graph.dst, graph.inst, strict=True):
                if ix not in wanted:
                    continue
                tid = dst if dst >= 0 else -1 - dst
                if _holds(w, states[src], states[tid]):
                    trace = res.trace_to(src)
                    trace.states.append(states[tid])
                    trace.steps.append(insts[ix])
                    break
        out.append(Reached(w, trace))
    return out

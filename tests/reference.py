"""A reference search for tests: the obvious BFS over spec.lang.successors, independent of the engines."""

from collections import deque

from spec.lang import Spec, successors


def naive_distances(spec: Spec) -> dict:
    """state -> number of states on a shortest path to it (an initial state counts 1)."""
    dist = {}
    queue = deque()
    for s in spec.init_states():
        if s not in dist:
            dist[s] = 1
            queue.append(s)
    while queue:
        s = queue.popleft()
        for _inst, t in successors(spec, s):
            if t not in dist:
                dist[t] = dist[s] + 1
                queue.append(t)
    return dist


def step_results(spec: Spec, inst, s) -> list:
    """The states one instance's enabled steps lead to from s. For a CTI's pre-state, which need not
    be reachable: another action may well leave its type there, which ``successors`` reports."""
    return [s._replace(**st.updates) for st in inst.steps(s) if st.guard is True]

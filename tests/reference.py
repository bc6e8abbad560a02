"""A reference search for tests: the obvious BFS over spec.lang.successors, independent of explorer.bfs."""

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

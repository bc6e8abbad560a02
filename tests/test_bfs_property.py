"""Property: explorer.engines.bfs agrees with a naive BFS over an explicit edge list on random small systems.

A random system has one variable x in Int(0, n-1), or two (x and y in Int(0, m-1)); a random non-empty
set of initial states (``spec.var(..., any_of=True)`` per variable, so Init is a product); and a random
multiset of edges, each written as a spec-language action: some as one action with an edge-index
parameter (``when(state == src, **dst)``), some grouped into a parameterless action that returns a list of
``when``s. Unchanged variables are left out of the update (UNCHANGED), so self-loops are empty updates.

Compared: the reachable set, each state's BFS layer (= its shortest distance from Init), the number of
states generated (TLC's count: initial states plus one per enabled edge of each reachable state),
deadlocked states, and the length of the first invariant violation and deadlock traces.
"""

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.engines.bfs import DEADLOCK, Options, explore
from spec.lang import Int, Spec, and_, when


@st.composite
def systems(draw):
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 3))
    two_vars = draw(st.booleans())
    states = [(x, y) for x in range(n) for y in range(m if two_vars else 1)]
    xs0 = draw(st.sets(st.integers(0, n - 1), min_size=1))
    ys0 = draw(st.sets(st.integers(0, m - 1), min_size=1)) if two_vars else {0}
    node = st.sampled_from(states)
    edges = draw(st.lists(st.tuples(node, node), max_size=25))
    # How the edges are written: group g = 0 means "one parameterised action", g > 0 a list-returning action.
    groups = draw(st.lists(st.integers(0, 3), min_size=len(edges), max_size=len(edges)))
    bad = draw(st.sets(node, max_size=3))
    return n, m, two_vars, sorted(xs0), sorted(ys0), edges, groups, bad


def build(n, m, two_vars, xs0, ys0, edges, groups):
    spec = Spec("Random")
    spec.var("x", Int(0, n - 1), init=xs0, any_of=True)
    if two_vars:
        spec.var("y", Int(0, m - 1), init=ys0, any_of=True)

    def at(s, node):
        return and_(s.x == node[0], s.y == node[1]) if two_vars else s.x == node[0]

    def update(src, dst):
        upd = {}
        if dst[0] != src[0]:
            upd["x"] = dst[0]
        if two_vars and dst[1] != src[1]:
            upd["y"] = dst[1]
        return upd

    single = [e for e, g in zip(edges, groups, strict=True) if g == 0]
    if single:

        @spec.action(e=range(len(single)))
        def Edge(s, e):
            src, dst = single[e]
            return when(at(s, src), **update(src, dst))

    for g in sorted(set(groups) - {0}):
        mine = [e for e, gg in zip(edges, groups, strict=True) if gg == g]

        def group(s, mine=mine):
            return [when(at(s, src), **update(src, dst)) for src, dst in mine]

        group.__name__ = f"Group{g}"
        spec.action()(group)
    return spec


def reference(inits, edges):
    """Plain BFS over the explicit edge list: distance (in states) to each reachable node, generated."""
    out = {}
    for src, dst in edges:
        out.setdefault(src, []).append(dst)
    dist = {}
    for s in inits:
        dist.setdefault(s, 1)
    queue = deque(dist)
    generated = len(inits)
    while queue:
        s = queue.popleft()
        for t in out.get(s, []):
            generated += 1
            if t not in dist:
                dist[t] = dist[s] + 1
                queue.append(t)
    deadlocked = {s for s in dist if s not in out}
    return dist, generated, deadlocked


@settings(max_examples=500, deadline=None)
@given(systems())
def test_bfs_matches_naive_search(system):
    n, m, two_vars, xs0, ys0, edges, groups, bad = system
    inits = [(x, y) for x in xs0 for y in ys0]
    dist, generated, deadlocked = reference(inits, edges)
    spec = build(n, m, two_vars, xs0, ys0, edges, groups)

    def node(s):
        return (s.x, s.y) if two_vars else (s.x, 0)

    res = explore(spec, Options(check_deadlock=False), progress=lambda line: None)
    assert res.exhausted and res.violations == []
    got = [node(s) for s in res.store.states]
    assert len(got) == len(set(got)) == res.distinct
    assert set(got) == set(dist)
    assert res.generated == generated
    assert res.deadlocks == len(deadlocked)
    # Each state's depth is its BFS layer; ids are in BFS order, so layer k is a contiguous id range.
    assert sum(res.layers) == res.distinct
    assert res.depth == max(dist.values())
    layer_of = [k + 1 for k, size in enumerate(res.layers) for _ in range(size)]
    for sid, s in enumerate(got):
        assert layer_of[sid] == dist[s]
        trace = res.trace_to(sid)
        assert len(trace.states) == dist[s]
        path = [node(t) for t in trace.states]
        assert path[0] in inits
        assert all(e in edges for e in zip(path, path[1:], strict=False))

    # Deadlock check on: the first deadlock reported is at the minimal depth among deadlocked states.
    res = explore(spec, Options(), progress=lambda line: None)
    if deadlocked:
        assert [v.name for v in res.violations] == [DEADLOCK]
        assert res.violations[0].depth == min(dist[s] for s in deadlocked)
        assert node(res.violations[0].trace.states[-1]) in deadlocked
    else:
        assert res.exhausted and res.violations == []

    # An invariant "not in bad": the first violation is a shortest path to a reachable bad state.
    def NotBad(s):
        return node(s) not in bad

    spec.add_invariant("NotBad", NotBad)
    res = explore(spec, Options(check_deadlock=False), progress=lambda line: None)
    reachable_bad = [dist[s] for s in bad if s in dist]
    if reachable_bad:
        assert res.stopped == "violation"
        (v,) = res.violations
        assert v.name == "NotBad" and v.depth == min(reachable_bad)
        assert node(v.trace.states[-1]) in bad
    else:
        assert res.exhausted and res.violations == []

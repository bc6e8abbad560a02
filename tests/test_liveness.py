"""Fair-cycle search: hand-built specs with known fair and unfair cycles, lasso replay, a brute-force
oracle on random small graphs, and a ~100k-state graph to show the SCC pass is iterative."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.engines.bfs import Options, Result, Trace, explore
from explorer.engines.liveness.check import LivenessVerdict, check_liveness, fairness_conditions
from spec.lang import (
    Bool,
    Enum,
    Fairness,
    Fn,
    Int,
    Set,
    Spec,
    SpecError,
    Temporal,
    and_,
    not_,
    put,
    successors,
    when,
)
from spec.temporal import Formula, always_eventually, eventually_always, t_and, t_implies, t_not, t_or

OPTS = Options(keep_graph=True, check_deadlock=False)


def run(spec: Spec, fairness: Sequence[Fairness] | None = None) -> dict[str, LivenessVerdict]:
    res = explore(spec, OPTS, progress=lambda _line: None)
    verdicts = check_liveness(res, fairness=fairness)
    for v in verdicts:
        if v.trace is not None:
            prop = next(p for p in spec.properties if p.name == v.name)
            check_lasso(spec, v.trace, prop, spec.fairness if fairness is None else fairness)
    return {v.name: v for v in verdicts}


# --------------------------------------------------------------------------- an independent lasso checker
# Built on spec.lang.successors (the reference path), not on the explored graph the checker used.


def _fair_instances(spec: Spec, fairness: Sequence[Fairness]) -> list[tuple[str, int]]:
    out = []
    for f in fairness:
        for i in spec.instances():
            if i.action.name == f.action and all(i.args[k] == v for k, v in f.params or ()):
                out.append((f.kind, i.index))
    return out


def check_lasso(spec: Spec, tr: Trace, prop: Temporal, fairness: Sequence[Fairness]) -> None:
    states, steps, loop = tr.states, tr.steps, tr.loop
    assert loop is not None and 0 <= loop < len(states) - 1
    assert len(steps) == len(states)
    assert states[0] in spec.init_states() and steps[0] is None
    for k in range(1, len(states)):
        if steps[k] is None:  # stuttering
            assert states[k] == states[k - 1]
        else:
            assert (steps[k].index, states[k]) in {(i.index, t) for i, t in successors(spec, states[k - 1])}
    assert states[-1] == states[loop], "the cycle must close on its first state"
    cyc_states = states[loop:-1]
    cyc_steps = [(steps[k], states[k - 1], states[k]) for k in range(loop + 1, len(states))]
    # Fairness of the cycle, on <A>_vars steps: an A step that changes the state.
    for kind, idx in _fair_instances(spec, fairness):
        enabled = [any(i.index == idx and t != s for i, t in successors(spec, s)) for s in cyc_states]
        taken = any(st_ is not None and st_.index == idx and a != b for st_, a, b in cyc_steps)
        if kind == "WF":
            assert taken or not all(enabled), f"cycle violates WF of instance {idx}"
        else:
            assert taken or not any(enabled), f"cycle violates SF of instance {idx}"
    if prop.kind == "formula":  # the cycle's states make the formula false, read directly
        assert not formula_holds(prop.formula, cyc_states), "the cycle must falsify the formula"
        return
    p = prop.p
    if prop.kind == "eventually":
        assert all(not p(s) for s in states), "no state of the lasso may satisfy P"
    elif prop.kind == "leadsto":
        q = prop.q
        assert all(not q(s) for s in cyc_states), "every cycle state must violate Q"
        j = max(k for k in range(len(states)) if q(states[k])) + 1 if any(q(s) for s in states) else 0
        assert any(p(states[k]) for k in range(j, loop + 1)), "a P state must be followed only by ~Q states"
    elif prop.kind == "alwayseventually":
        assert all(not p(s) for s in cyc_states)
    else:
        assert any(not p(s) for s in cyc_states)


def formula_holds(f: Formula, cycle_states: Sequence[Any]) -> bool:
    """A formula of []<>P and <>[]P on a behaviour whose states visited infinitely often are
    cycle_states: read from the definitions, not from spec/temporal.py's normal form."""
    if f.op == "GF":
        return any(f.pred(s) for s in cycle_states)
    if f.op == "FG":
        return all(f.pred(s) for s in cycle_states)
    vals = [formula_holds(a, cycle_states) for a in f.args]
    if f.op == "not":
        return not vals[0]
    if f.op == "implies":
        return not vals[0] or vals[1]
    return all(vals) if f.op == "and" else any(vals)


# --------------------------------------------------------------------------- small specs


def chain_spec() -> Spec:
    """x: 0 -> 1 -> 2, then nothing: x = 2 is terminal."""
    spec = Spec("Chain")
    spec.var("x", Int(0, 2), init=0)

    @spec.action()
    def Step(s):
        return when(s.x < 2, x=s.x + 1)

    spec.leads_to("ZeroLeadsToTwo", lambda s: s.x == 0, lambda s: s.x == 2)
    spec.eventually_always("EventuallyTwo", lambda s: s.x == 2)
    spec.always_eventually("InfinitelyOftenTwo", lambda s: s.x == 2)
    return spec


def test_leadsto_fails_by_stuttering_without_fairness():
    v = run(chain_spec())
    for name in ("ZeroLeadsToTwo", "EventuallyTwo", "InfinitelyOftenTwo"):
        assert not v[name].holds and v[name].fairness == []
    tr = v["ZeroLeadsToTwo"].trace
    # TLC's answer: stutter in the initial state forever.
    assert [s.x for s in tr.states] == [0, 0] and tr.steps == [None, None] and tr.loop == 0


def test_leadsto_holds_under_wf():
    spec = chain_spec()
    spec.wf("Step")
    v = run(spec)
    assert all(x.holds and x.trace is None for x in v.values())
    assert v["ZeroLeadsToTwo"].fairness == ["WF_vars(Step)"]


def traffic_spec() -> Spec:
    """A light toggles forever; Cross is enabled only while it is green: intermittently enabled."""
    spec = Spec("Traffic")
    spec.var("green", Bool, init=False)
    spec.var("crossed", Bool, init=False)

    @spec.action()
    def Toggle(s):
        return when(True, green=not_(s.green))

    @spec.action()
    def Cross(s):
        return when(and_(s.green, not_(s.crossed)), crossed=True)

    spec.leads_to("EventuallyCrosses", lambda s: not s.crossed, lambda s: s.crossed)
    spec.always_eventually("GreenInfinitelyOften", lambda s: s.green)
    return spec


def test_wf_is_not_enough_for_an_intermittently_enabled_action():
    spec = traffic_spec()
    spec.wf("Toggle")
    spec.wf("Cross")
    v = run(spec)
    assert not v["EventuallyCrosses"].holds
    tr = v["EventuallyCrosses"].trace
    # The fair cycle toggles the light: Cross is disabled at red, so WF never forces it.
    assert [s.green for s in tr.states[tr.loop :]] in ([False, True, False], [True, False, True])
    assert all(st_ is not None and st_.action.name == "Toggle" for st_ in tr.steps[tr.loop + 1 :])
    assert v["GreenInfinitelyOften"].holds
    assert v["EventuallyCrosses"].fairness == ["WF_vars(Toggle)", "WF_vars(Cross)"]


def test_sf_forces_an_intermittently_enabled_action():
    spec = traffic_spec()
    spec.wf("Toggle")
    spec.sf("Cross")
    v = run(spec)
    assert v["EventuallyCrosses"].holds and v["GreenInfinitelyOften"].holds
    assert v["EventuallyCrosses"].fairness == ["WF_vars(Toggle)", "SF_vars(Cross)"]


def test_sf_alone_allows_stuttering_where_the_action_is_disabled():
    spec = traffic_spec()
    spec.sf("Cross")
    v = run(spec)
    tr = v["EventuallyCrosses"].trace
    assert not v["EventuallyCrosses"].holds
    assert tr.states[-1].green is False and tr.steps[-1] is None  # stutter at red: Cross never enabled


def test_always_eventually_fails_on_a_fair_cycle_avoiding_p():
    """0 -> 1 <-> 2 under WF of everything: the behaviour settles into 1 <-> 2 and never sees 0 again."""
    spec = Spec("Loop12")
    spec.var("x", Int(0, 2), init=0)

    @spec.action()
    def A(s):
        return when(s.x == 0, x=1)

    @spec.action()
    def B(s):
        return when(s.x == 1, x=2)

    @spec.action()
    def C(s):
        return when(s.x == 2, x=1)

    spec.always_eventually("ZeroInfinitelyOften", lambda s: s.x == 0)
    spec.always_eventually("OneInfinitelyOften", lambda s: s.x == 1)
    spec.eventually_always("EventuallyAlwaysPositive", lambda s: s.x > 0)
    spec.eventually_always("EventuallyAlwaysTwo", lambda s: s.x == 2)
    for a in "ABC":
        spec.wf(a)
    v = run(spec)
    tr = v["ZeroInfinitelyOften"].trace
    assert not v["ZeroInfinitelyOften"].holds
    assert [s.x for s in tr.states] == [0, 1, 2, 1] and tr.loop == 1
    assert v["OneInfinitelyOften"].holds
    assert v["EventuallyAlwaysPositive"].holds
    assert not v["EventuallyAlwaysTwo"].holds
    tr = v["EventuallyAlwaysTwo"].trace
    assert tr.states[tr.loop].x == 1  # the cycle starts at its shallowest ~P state


def test_eventually_always_needs_sf_refinement():
    """<>[]P where the only ~P states lie on cycles that SF rules out.

    A counter x in 0..2 cycles by Inc; at x = 1 the action Bad is enabled and moves to a sink where
    done = TRUE. Under SF(Bad) the cycle (which passes x = 1 infinitely often without Bad) is unfair, so
    every fair behaviour ends in the sink: <>[]done holds; under WF(Bad) it does not.
    """

    def make(kind: str) -> Spec:
        spec = Spec("Sink")
        spec.var("x", Int(0, 2), init=0)
        spec.var("done", Bool, init=False)

        @spec.action()
        def Inc(s):
            return when(not_(s.done), x=(s.x + 1) % 3)

        @spec.action()
        def Bad(s):
            return when(and_(s.x == 1, not_(s.done)), done=True)

        spec.wf("Inc")
        (spec.sf if kind == "SF" else spec.wf)("Bad")
        spec.eventually_always("EventuallyDone", lambda s: s.done)
        return spec

    assert run(make("SF"))["EventuallyDone"].holds
    v = run(make("WF"))["EventuallyDone"]
    assert not v.holds and {s.x for s in v.trace.states[v.trace.loop :]} == {0, 1, 2}


def two_cpu_spec() -> Spec:
    CPU = Enum("CPU", 2)
    spec = Spec("TwoCpus")
    spec.var("pending", Set(CPU), init=(True, True))

    @spec.action(c=CPU)
    def Work(s, c):
        return when(s.pending[c], pending=put(s.pending, c, False))

    spec.leads_to("Cpu1Drains", lambda s: s.pending[1], lambda s: not s.pending[1])
    return spec


def test_params_none_means_each_instance_separately():
    spec = two_cpu_spec()
    spec.wf("Work")
    v = run(spec)["Cpu1Drains"]
    assert v.holds
    assert v.fairness == ["WF_vars(Work(c=CPU0))", "WF_vars(Work(c=CPU1))"]


def test_fairness_on_one_instance_only():
    spec = two_cpu_spec()
    spec.wf("Work", c=0)
    v = run(spec)["Cpu1Drains"]
    assert not v.holds and v.fairness == ["WF_vars(Work(c=CPU0))"]
    tr = v.trace
    # Fair: CPU0 works, then the system stutters with CPU1 still pending (Work(CPU1) has no fairness).
    assert tr.states[-1].pending == (False, True) and tr.steps[-1] is None
    assert fairness_conditions(spec, [Fairness("SF", "Work", (("c", "CPU1"),))]) == ["SF_vars(Work(c=CPU1))"]


def test_self_loop_is_not_an_a_step():
    """An action whose only step from a state changes nothing is not <A>_vars-enabled there (TLA+ WF)."""
    spec = Spec("Idle")
    spec.var("x", Int(0, 1), init=0)

    @spec.action()
    def Spin(s):
        return when(True, x=s.x)  # a step that leaves every variable unchanged

    @spec.action()
    def Go(s):
        return when(s.x == 0, x=1)

    spec.leads_to("Done", lambda s: s.x == 0, lambda s: s.x == 1)
    spec.wf("Spin")
    spec.sf("Spin")
    assert not run(spec)["Done"].holds  # Spin's self-loop is stuttering, so it satisfies nothing
    spec.fairness.clear()
    spec.wf("Go")
    assert run(spec)["Done"].holds


def test_leadsto_prefix_passes_through_p_and_stays_in_not_q():
    """P ~> Q where the shortest way to the bad cycle does not pass through P."""
    spec = Spec("Detour")
    spec.var("x", Int(0, 4), init=0)
    moves = {(0, 3), (0, 1), (1, 2), (2, 3), (3, 4), (4, 3)}

    @spec.action(src=range(5), dst=range(5))
    def Move(s, src, dst):
        return when(and_(s.x == src, (src, dst) in moves), x=dst)

    spec.wf("Move")
    # P at x = 2; Q at x = 1 only: from 2, the fair cycle 3 <-> 4 never reaches Q.
    spec.leads_to("TwoLeadsToOne", lambda s: s.x == 2, lambda s: s.x == 1)
    v = run(spec)["TwoLeadsToOne"]
    assert not v.holds
    assert [s.x for s in v.trace.states] == [0, 1, 2, 3, 4, 3] and v.trace.loop == 3


def test_errors_are_clear():
    spec = chain_spec()
    with pytest.raises(ValueError, match="keep_graph"):
        check_liveness(explore(spec, Options(check_deadlock=False), progress=lambda _l: None))
    with pytest.raises(ValueError, match="stopped early"):
        check_liveness(explore(spec, Options(keep_graph=True), progress=lambda _l: None))  # deadlock stop
    res = explore(spec, OPTS, progress=lambda _l: None)
    with pytest.raises(ValueError, match="no temporal property named Nope"):
        check_liveness(res, ["Nope"])
    with pytest.raises(SpecError, match="unknown action Nope"):
        check_liveness(res, fairness=[Fairness("WF", "Nope")])
    with pytest.raises(SpecError, match="unknown parameter c"):
        check_liveness(res, fairness=[Fairness("WF", "Step", (("c", 1),))])
    res2 = explore(two_cpu_spec(), OPTS, progress=lambda _l: None)
    with pytest.raises(SpecError, match="matches no action instance"):
        check_liveness(res2, fairness=[Fairness("WF", "Work", (("c", 5),))])


# --------------------------------------------------------------------------- random graphs vs brute force


def graph_spec(n: int, edges: list[tuple[int, int, int]], n_actions: int) -> Spec:
    """x in 0..n-1 with action Ak having exactly the edges (src, dst) labelled k."""
    spec = Spec("Random")
    spec.var("x", Int(0, n - 1), init=0)
    for k in range(n_actions):
        mine = [(a, b) for a, b, lab in edges if lab == k]

        def fn(s, mine=mine):
            return [when(s.x == a, x=b) for a, b in mine] or [when(False)]

        fn.__name__ = f"A{k}"
        spec.action()(fn)
    return spec


def brute_force_violated(
    res: Result, edges: list[tuple[int, int, int]], fair: list[tuple[str, int]], prop: Temporal
) -> bool:
    """Enumerate every (state set, edge set) that a closed walk can realise and test it directly."""
    reach = {s.x for s in res.store.states}
    real = sorted({(a, b, k) for a, b, k in edges if a != b and a in reach})
    state = {x: res.spec.make_state({"x": x}) for x in reach}
    p = {x: prop.p(state[x]) for x in reach} if prop.p else {}
    q = {x: prop.q(state[x]) for x in reach} if prop.q else {}
    if prop.kind == "eventually":  # leads-to from the initial state x = 0
        p, q = {x: x == 0 for x in reach}, p
    if prop.kind in ("leadsto", "eventually"):
        # ~Q states reachable inside ~Q from a P /\ ~Q state.
        region = {x for x in reach if p[x] and not q[x]}
        grow = True
        while grow:
            new = {b for a, b, _ in real if a in region and not q[b]} - region
            region |= new
            grow = bool(new)
    elif prop.kind == "alwayseventually":
        region = {x for x in reach if not p[x]}
    else:
        region = set(reach)

    def ok(states: set[int], used: list[tuple[int, int, int]]) -> bool:
        for kind, k in fair:
            en = [any(a == x and lab == k for a, _, lab in real) for x in states]
            taken = any(lab == k for _, _, lab in used)
            if kind == "WF" and all(en) and not taken:
                return False
            if kind == "SF" and any(en) and not taken:
                return False
        if prop.kind == "eventuallyalways":
            return any(not p[x] for x in states)
        if prop.kind == "formula":
            return not formula_holds(prop.formula, [state[x] for x in states])
        return True

    def strongly_connected(states: set[int], used: list[tuple[int, int, int]]) -> bool:
        start = next(iter(states))
        for fwd in (True, False):
            seen, todo = {start}, [start]
            while todo:
                v = todo.pop()
                for a, b, _ in used:
                    a, b = (a, b) if fwd else (b, a)
                    if a == v and b not in seen:
                        seen.add(b)
                        todo.append(b)
            if seen != states:
                return False
        return True

    for x in region:  # a single state stuttering forever
        if ok({x}, []):
            return True
    inner = [e for e in real if e[0] in region and e[1] in region]
    for r in range(1, len(inner) + 1):
        for used in itertools.combinations(inner, r):
            states = {a for a, _, _ in used} | {b for _, b, _ in used}
            if strongly_connected(states, list(used)) and ok(states, list(used)):
                return True
    return False


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 5),
    raw=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 2)), max_size=8),
    fair=st.lists(st.tuples(st.sampled_from(["WF", "SF"]), st.integers(0, 2)), max_size=3),
    kind=st.sampled_from(["leadsto", "alwayseventually", "eventuallyalways", "eventually"]),
    pset=st.sets(st.integers(0, 4)),
    qset=st.sets(st.integers(0, 4)),
)
def test_random_graphs_agree_with_brute_force(n, raw, fair, kind, pset, qset):
    prop = Temporal(
        "Prop", kind, lambda s: s.x in pset, (lambda s: s.x in qset) if kind == "leadsto" else None
    )
    agrees_with_brute_force(n, raw, fair, prop)


def agrees_with_brute_force(
    n: int, raw: list[tuple[int, int, int]], fair: list[tuple[str, int]], prop: Temporal
) -> tuple[Result, LivenessVerdict, list[Fairness]]:
    """prop on the random graph (x in 0..n-1, action Ak the edges labelled k) under the fairness: the
    checker's verdict is the brute force's, and its lasso replays."""
    edges = sorted({(a % n, b % n, k) for a, b, k in raw})
    spec = graph_spec(n, edges, 3)
    spec.properties.append(prop)
    fairness = [Fairness(kind_, f"A{k}") for kind_, k in fair]
    res = explore(spec, OPTS, progress=lambda _l: None)
    (v,) = check_liveness(res, fairness=fairness)
    assert v.holds == (not brute_force_violated(res, edges, fair, prop))
    if v.trace is not None:
        check_lasso(spec, v.trace, prop, fairness)
    return res, v, fairness


def walk_spec(fair: Sequence[str] = ()) -> Spec:
    """x walks 0 <-> 1 <-> 2 -> 3 (a sink), the actions in ``fair`` weakly fair; nested formulas and <>P."""
    spec = Spec("Walk")
    spec.var("x", Int(0, 3), init=0)
    for name, (a, b) in {"A": (0, 1), "B": (1, 0), "C": (1, 2), "D": (2, 1), "E": (2, 3)}.items():

        def move(s, a=a, b=b):
            return when(s.x == a, x=b)

        move.__name__ = name
        spec.action()(move)
    for name in fair:
        spec.wf(name)

    def at(k: int) -> Any:
        return lambda s: s.x == k

    spec.formula("ZeroOftenTwoOften", lambda: t_implies(always_eventually(at(0)), always_eventually(at(2))))
    spec.formula(
        "ZeroOftenNotThree", lambda: t_implies(always_eventually(at(0)), t_not(always_eventually(at(3))))
    )
    spec.formula("ThreeOrOne", lambda: t_or(eventually_always(at(3)), always_eventually(at(1))))
    spec.formula("ZeroAndOne", lambda: t_and(always_eventually(at(0)), always_eventually(at(1))))
    spec.eventually("ReachesThree", at(3))
    return spec


WALK_VERDICTS = {  # TLC's on the exported module (tests/test_export_tla.py), and ours
    (): {"ZeroOftenTwoOften": False, "ZeroOftenNotThree": True, "ThreeOrOne": False, "ZeroAndOne": False},
    ("A", "B", "C", "D", "E"): {
        "ZeroOftenTwoOften": False, "ZeroOftenNotThree": True, "ThreeOrOne": True, "ZeroAndOne": False,
    },
}  # fmt: skip


@pytest.mark.parametrize("fair", list(WALK_VERDICTS), ids=["unfair", "all-wf"])
def test_nested_formulas_and_eventually_on_a_walk(fair):
    v = run(walk_spec(fair))  # run() replays every lasso and reads the formula on its cycle
    assert {k: x.holds for k, x in v.items() if k != "ReachesThree"} == WALK_VERDICTS[fair]
    assert v["ZeroOftenTwoOften"].formula == "[]<>P1 => []<>P2"
    assert v["ZeroOftenNotThree"].formula == "[]<>P1 => (~([]<>P2))"
    # <>(x = 3) fails either way: 0 <-> 1 for ever is fair, since C is disabled at 0 and E at 1
    assert not v["ReachesThree"].holds and v["ReachesThree"].formula == "<>P"
    if not fair:  # stuttering at 0: x = 0 infinitely often, x = 2 never
        assert [s.x for s in v["ZeroOftenTwoOften"].trace.states] == [0, 0]
    else:
        assert [s.x for s in v["ZeroOftenTwoOften"].trace.states] == [0, 1, 0]
        # never 0 again: the cycle 1 <-> 2 is fair (A disabled at 1 and 2, E at 1)
        assert [s.x for s in v["ZeroAndOne"].trace.states] == [0, 1, 2, 1]


def test_a_formula_outside_the_fragment_is_refused():
    from spec.temporal import MAX_DISJUNCTS, FormulaError

    def p(s):
        return s.x == 0

    with pytest.raises(FormulaError, match="applies to a state predicate here, not to a temporal formula"):
        always_eventually(eventually_always(p))
    with pytest.raises(FormulaError, match="is not a temporal formula"):
        t_and(always_eventually(p), p)
    with pytest.raises(FormulaError, match="of no formula"):
        t_or()
    # ~(\/ (a /\ b)) is /\ (~a \/ ~b): 2^9 disjuncts in normal form
    big = t_or(*(t_and(always_eventually(p), eventually_always(p)) for _ in range(9)))
    spec = Spec("S")
    with pytest.raises(
        SpecError, match=f"property Big: the negated formula has 512 .*at most {MAX_DISJUNCTS}"
    ):
        spec.formula("Big", lambda: big)
    with pytest.raises(SpecError, match="build returned function, not a temporal formula"):
        spec.formula("F", lambda: p)


def _formulas(depth: int) -> st.SearchStrategy[Formula]:
    r"""[]<>(x \in S) and <>[](x \in S) under and, or, not and implies, nested up to depth."""
    leaf = st.builds(
        lambda op, xs: op(lambda s, xs=frozenset(xs): s.x in xs),
        st.sampled_from([always_eventually, eventually_always]),
        st.sets(st.integers(0, 4)),
    )
    if depth == 0:
        return leaf
    sub = _formulas(depth - 1)
    return st.one_of(
        leaf,
        st.builds(t_not, sub),
        st.builds(t_and, sub, sub),
        st.builds(t_or, sub, sub),
        st.builds(t_implies, sub, sub),
    )


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 5),
    raw=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 2)), max_size=8),
    fair=st.lists(st.tuples(st.sampled_from(["WF", "SF"]), st.integers(0, 2)), max_size=3),
    formula=_formulas(3),
)
def test_random_nested_formulas_agree_with_brute_force(n, raw, fair, formula):
    """The brute force reads the formula on each fair closed walk's states directly; the checker puts
    its negation in normal form over []<> and <>[] (spec/temporal.py) and searches each disjunct."""
    prop = Temporal("Prop", "formula", None, formula=formula)
    res, v, fairness = agrees_with_brute_force(n, raw, fair, prop)
    (py,) = check_liveness(res, fairness=fairness, impl="python")
    assert py.holds == v.holds and (py.trace is None) == (v.trace is None)
    if v.trace is not None:
        assert py.trace.states == v.trace.states


# --------------------------------------------------------------------------- a large graph

N = 100_000


def counter_spec() -> Spec:
    spec = Spec("Counter")
    spec.var("x", Int(0, N - 1), init=0)

    @spec.action()
    def Inc(s):
        return when(s.x < N - 1, x=s.x + 1)

    @spec.action()
    def Wrap(s):
        return when(s.x == N - 1, x=0)

    spec.always_eventually("ZeroInfinitelyOften", lambda s: s.x == 0)
    spec.leads_to("OneLeadsToTop", lambda s: s.x == 1, lambda s: s.x == N - 1)
    spec.eventually_always("EventuallyNotZero", lambda s: s.x != 0)
    return spec


def test_large_cycle_is_searched_iteratively():
    """One SCC of 100k states: a recursive Tarjan would exceed Python's recursion limit here."""
    spec = counter_spec()
    spec.wf("Inc")
    spec.wf("Wrap")
    res = explore(spec, OPTS, progress=lambda _l: None)
    assert res.distinct == N
    t0 = time.monotonic()
    v = {x.name: x for x in check_liveness(res)}
    elapsed = time.monotonic() - t0
    assert v["ZeroInfinitelyOften"].holds and v["OneLeadsToTop"].holds
    tr = v["EventuallyNotZero"].trace
    assert not v["EventuallyNotZero"].holds and len(tr.states) == N + 1 and tr.loop == 0
    check_lasso(spec, tr, spec.properties[2], spec.fairness)
    assert elapsed < 60
    # Without fairness the counter may stop anywhere: stuttering at x = 1 is the shortest counterexample.
    v = {x.name: x for x in check_liveness(res, fairness=[])}
    tr = v["ZeroInfinitelyOften"].trace
    assert [s.x for s in tr.states] == [0, 1, 1] and tr.steps[-1] is None


# --------------------------------------------------------------------------- the environment rule


def _storm_spec() -> Spec:
    """A request is served by a weakly fair kernel step that an interrupt (the environment) can keep
    pre-empting: the interrupt handler runs and returns, and while it runs the server cannot step."""
    spec = Spec("storm")
    spec.var("pending", Bool, True)
    spec.var("in_irq", Bool, False)

    @spec.action()
    def Serve(s):
        return when(and_(s.pending, not_(s.in_irq)), pending=False)

    @spec.action()
    def IrqEnter(s):
        return when(not_(s.in_irq), in_irq=True)

    @spec.action()
    def IrqExit(s):
        return when(s.in_irq, in_irq=False)

    spec.leads_to("Served", lambda s: s.pending, lambda s: not_(s.pending))
    spec.wf("Serve")
    spec.wf("IrqExit")
    return spec


def test_a_lasso_that_needs_the_environment_to_repeat_is_a_storm_not_a_violation():
    spec = _storm_spec()
    res = explore(spec, OPTS, progress=lambda _line: None)
    # without an environment, the interrupt storm starves Serve: WF allows it (Serve is disabled in irq)
    [tlc] = check_liveness(res, ["Served"])
    assert not tlc.holds and tlc.storm is None
    spec.environment_actions("IrqEnter")
    res = explore(spec, OPTS, progress=lambda _line: None)
    [v] = check_liveness(res, ["Served"])
    assert v.holds and v.environment == ["IrqEnter"]
    assert v.storm is not None, "the storm lasso is kept, to be reported apart"
    cycle = [st.action.name for st in v.storm.steps[v.storm.loop + 1 :] if st is not None]
    assert "IrqEnter" in cycle
    check_lasso(spec, v.storm, spec.properties[0], spec.fairness)
    [off] = check_liveness(res, ["Served"], environment=False)
    assert not off.holds, "environment=False checks every cycle, as TLC does"


def test_a_hang_of_the_design_is_still_a_violation_with_an_environment():
    spec = _storm_spec()
    spec.fairness = [f for f in spec.fairness if f.action != "Serve"]  # the server never has to run
    spec.environment_actions("IrqEnter")
    res = explore(spec, OPTS, progress=lambda _line: None)
    [v] = check_liveness(res, ["Served"])
    assert not v.holds and v.trace is not None
    cycle = [st.action.name for st in v.trace.steps[v.trace.loop + 1 :] if st is not None]
    assert "IrqEnter" not in cycle, "a violating cycle takes no environment step"


def test_an_environment_action_may_not_be_fair():
    spec = _storm_spec()
    spec.environment_actions("IrqExit")
    res = explore(spec, OPTS, progress=lambda _line: None)
    with pytest.raises(SpecError, match="declared fair"):
        check_liveness(res, ["Served"])


@pytest.mark.parametrize("impl", ["python", "c"])
def test_both_graph_cores_apply_the_environment_rule(impl):
    spec = _storm_spec()
    spec.environment_actions("IrqEnter")
    res = explore(spec, OPTS, progress=lambda _line: None)
    [v] = check_liveness(res, ["Served"], impl=impl)
    assert v.holds and v.storm is not None


# ---------------------------------------------------------------- fairness of a disjunction, filtered


def _allocator_graph():
    from tests.classic import simpleallocator

    spec = simpleallocator.make_spec(clients=2)
    return spec, explore(spec, Options(stop_on_first=False, keep_graph=True), lambda _l: None)


def test_a_condition_over_a_disjunction_is_one_condition_and_both_implementations_agree():
    """SF_vars(\\E S : Allocate(c, S)): one condition per client over its Allocate instances (the C
    fair-component search marks every instance of an unserved condition)."""
    spec, res = _allocator_graph()
    fairness = [Fairness("WF", "Return", over=("S",)), Fairness("SF", "Allocate", over=("S",))]
    assert fairness_conditions(spec, fairness) == [
        "WF_vars(\\E S : Return(c=c1, S))", "WF_vars(\\E S : Return(c=c2, S))",
        "SF_vars(\\E S : Allocate(c=c1, S))", "SF_vars(\\E S : Allocate(c=c2, S))",
    ]  # fmt: skip
    seen = []
    for impl in ("c", "python"):
        verdicts = check_liveness(res, fairness=fairness, impl=impl)
        seen.append([(v.name, v.holds, v.components, v.trace and v.trace.states) for v in verdicts])
    assert seen[0] == seen[1] and all(holds for _, holds, _, _ in seen[0])


def test_a_where_filter_must_say_true_or_false_and_over_must_name_parameters():
    spec, res = _allocator_graph()
    with pytest.raises(SpecError, match="where returned"):
        check_liveness(res, fairness=[Fairness("WF", "Return", over=("S",), where=lambda s, c, S: None)])
    with pytest.raises(SpecError, match="over names unknown parameter"):
        check_liveness(res, fairness=[Fairness("WF", "Return", over=("T",))])


def test_a_parameterised_property_is_one_property_per_value():
    spec = Spec("Family")
    Who = Enum("Who", 2)
    spec.var("done", Fn(Who, Bool), (False, False))

    @spec.action(w=Who)
    def Finish(s, w):
        return when(not_(s.done[w]), done=put(s.done, w, True))

    spec.wf("Finish")
    spec.leads_to("EachFinishes", lambda s, w: True, lambda s, w: s.done[w], over={"w": Who})
    res = explore(spec, Options(stop_on_first=False, keep_graph=True, check_deadlock=False), lambda _l: None)
    verdicts = check_liveness(res)
    assert [(v.name, v.holds) for v in verdicts] == [
        ("EachFinishes(w=Who0)", True),
        ("EachFinishes(w=Who1)", True),
    ]
    assert {p.family for p in spec.properties} == {"EachFinishes"}

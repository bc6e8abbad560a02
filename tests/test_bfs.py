"""explorer.engines.bfs: deadlocks, limits, several violations, spec errors, determinism."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from explorer.engines.bfs import DEADLOCK, Options, explore
from spec.lang import Bool, Enum, Int, Spec, SpecError, successors, when
from tests.classic import diehard, tcommit, twophase
from tests.reference import naive_distances

ROOT = Path(__file__).resolve().parent.parent


def quiet(_line: str) -> None:
    """A progress sink, so tests print nothing."""


def run(spec: Spec, **opts) -> object:
    return explore(spec, Options(**opts), progress=quiet)


def assert_partial_stats(res) -> None:
    """Statistics of a run stopped early still describe exactly the stored states."""
    assert res.distinct == len(res.store) == sum(res.layers)
    assert all(n > 0 for n in res.layers)
    assert res.generated >= res.distinct
    assert 0 <= res.queue_left <= res.distinct
    assert sum(c[1] for c in res.coverage.values()) == res.distinct - len(res.spec.init_states())


def assert_valid_trace(spec: Spec, trace) -> None:
    assert trace.steps[0] is None
    assert trace.states[0] in spec.init_states()
    for prev, inst, nxt in zip(trace.states, trace.steps[1:], trace.states[1:], strict=False):
        assert (inst.index, nxt) in {(i.index, t) for i, t in successors(spec, prev)}


# ---------------------------------------------------------------- small specs


def jumps_spec(n: int = 10) -> Spec:
    """x counts up by 1 or jumps by 3; stuck at n (a deadlock); several distances to each value."""
    spec = Spec("Jumps")
    spec.var("x", Int(0, n), init=0)

    @spec.action()
    def Inc(s):
        return when(s.x < n, x=s.x + 1)

    @spec.action()
    def Jump(s):
        return when(s.x + 3 <= n, x=s.x + 3)

    return spec


def chain_spec(n: int) -> Spec:
    """Two counters; x and y each count up to n: (n+1)^2 states."""
    spec = Spec("Grid")
    spec.var("x", Int(0, n), init=0)
    spec.var("y", Int(0, n), init=0)

    @spec.action()
    def IncX(s):
        return when(s.x < n, x=s.x + 1)

    @spec.action()
    def IncY(s):
        return when(s.y < n, y=s.y + 1)

    return spec


# ---------------------------------------------------------------- deadlock


def test_deadlock_detected_with_shortest_trace():
    spec = jumps_spec(10)
    res = run(spec)
    assert res.stopped == "violation"
    (v,) = res.violations
    assert v.name == DEADLOCK
    assert v.trace.states[-1].x == 10
    # 0 -> 3 -> 6 -> 9 -> 10: five states, the true minimum.
    assert v.depth == naive_distances(spec)[spec.make_state({"x": 10})] == 5
    assert_valid_trace(spec, v.trace)
    assert_partial_stats(res)


def test_no_deadlock_check_finds_none():
    spec = jumps_spec(10)
    res = run(spec, check_deadlock=False)
    assert res.exhausted and res.stopped is None
    assert res.violations == []
    assert res.distinct == 11
    assert res.deadlocks == 1  # still counted, not reported
    assert_partial_stats(res)


def test_twophase_has_no_deadlock():
    res = run(twophase.make_spec())
    assert res.exhausted and res.violations == [] and res.deadlocks == 0


def test_deadlock_in_initial_state():
    spec = Spec("Stuck")
    spec.var("b", Bool, init=False)

    @spec.action()
    def Never(s):
        return when(s.b, b=False)

    res = run(spec)
    assert res.stopped == "violation"
    assert res.violations[0].name == DEADLOCK and res.violations[0].depth == 1


# ---------------------------------------------------------------- limits


def test_max_states_stops_cleanly():
    spec = twophase.make_spec()
    full = run(spec)
    res = run(spec, max_states=50)
    assert res.stopped == "max-states"
    assert not res.exhausted
    assert 50 <= res.distinct < full.distinct
    assert res.violations == []
    assert_partial_stats(res)
    # The partial run is a prefix of the full run: same states in the same order.
    assert res.store.states == full.store.states[: res.distinct]
    assert res.layers[:-1] == full.layers[: len(res.layers) - 1]
    assert res.layers[-1] <= full.layers[len(res.layers) - 1]
    assert res.generated <= full.generated


def test_max_seconds_stops_cleanly():
    spec = chain_spec(3000)  # 9 million states: far more than a fraction of a second explores
    res = run(spec, max_seconds=0.2)
    assert res.stopped == "max-seconds"
    assert res.seconds < 10
    assert 0 < res.distinct < 3001**2
    assert res.violations == []
    assert_partial_stats(res)


def test_keyboard_interrupt_inside_action():
    spec = chain_spec(50)
    calls = 0

    @spec.action()
    def Tick(s):
        nonlocal calls
        calls += 1
        if calls == 300:
            raise KeyboardInterrupt
        return when(False)

    res = run(spec)
    assert res.stopped == "interrupted"
    assert not res.exhausted
    assert res.violations == []
    assert_partial_stats(res)
    # Tick is tried once per expanded state: 299 states were expanded completely (each generating its
    # IncX and IncY successors) and the 300th was interrupted after those two, before Tick returned.
    assert res.queue_left == res.distinct - 300
    assert res.generated == 1 + 2 * 300


# ---------------------------------------------------------------- several violations


def test_collects_several_violations_each_shortest():
    spec = jumps_spec(10)

    @spec.invariant
    def NotSix(s):
        return s.x != 6

    @spec.invariant
    def NotFive(s):
        return s.x != 5

    @spec.invariant
    def BelowTen(s):
        return s.x < 10

    @spec.invariant
    def InRange(s):
        return s.x <= 10

    res = run(spec, stop_on_first=False)
    assert res.stopped is None and res.distinct == 11
    by_name = {v.name: v for v in res.violations}
    assert set(by_name) == {"NotSix", "NotFive", "BelowTen", DEADLOCK}
    dist = naive_distances(spec)
    for name, x in [("NotSix", 6), ("NotFive", 5), ("BelowTen", 10), (DEADLOCK, 10)]:
        v = by_name[name]
        assert v.trace.states[-1].x == x
        assert v.depth == dist[spec.make_state({"x": x})]
        assert_valid_trace(spec, v.trace)
    assert by_name["NotSix"].depth == 3  # 0 -> 3 -> 6
    assert by_name["NotFive"].depth == 4  # e.g. 0 -> 3 -> 4 -> 5
    # Discovered in BFS order: the shallower violation first.
    assert [v.depth for v in res.violations] == sorted(v.depth for v in res.violations)
    # With stop_on_first (the default) only the first one, and the search stops there.
    first = run(spec)
    assert first.stopped == "violation" and [v.name for v in first.violations] == ["NotSix"]


def test_violated_in_initial_state():
    spec = jumps_spec(3)

    @spec.invariant
    def Positive(s):
        return s.x > 0

    res = run(spec)
    assert res.stopped == "violation"
    assert res.violations[0].name == "Positive" and res.violations[0].depth == 1


def test_only_selected_invariants():
    spec = diehard.make_spec(goal_invariant=True)
    res = run(spec, invariants=["TypeOK"])
    assert res.exhausted and res.violations == [] and res.distinct == 16
    with pytest.raises(SpecError, match="no invariant named Missing"):
        run(spec, invariants=["Missing"])


# ---------------------------------------------------------------- spec errors


def small_spec() -> Spec:
    spec = Spec("Small")
    spec.var("x", Int(0, 2), init=0)
    spec.var("flag", Bool, init=False)
    return spec


def both_paths_raise(spec: Spec, pattern: str) -> None:
    """The fast BFS path and the reference successors() both reject the spec, naming the culprit."""
    with pytest.raises(SpecError, match=pattern):
        run(spec)
    with pytest.raises(SpecError, match=pattern):
        naive_distances(spec)


def test_error_update_unknown_variable():
    spec = small_spec()

    @spec.action()
    def Typo(s):
        return when(True, xx=1)

    both_paths_raise(spec, r"action Typo updates unknown variable xx")


def test_error_update_outside_int_range():
    spec = small_spec()

    @spec.action()
    def Inc(s):
        return when(True, x=s.x + 1)  # no guard: 2 + 1 leaves Int(0, 2)

    both_paths_raise(spec, r"action Inc sets x to 3, outside Int\(0, 2\)")


def test_error_update_wrong_type():
    spec = small_spec()

    @spec.action(v=[0, 1])
    def Set(s, v):
        return when(True, flag=v)  # an int, not a Bool

    both_paths_raise(spec, r"action Set\(v=0\) sets flag to 0, outside Bool")


def test_error_guard_not_boolean():
    spec = small_spec()

    @spec.action()
    def Reset(s):
        return when(s.x, x=0)  # an int used as a guard

    both_paths_raise(spec, r"action Reset: guard is int, not a Boolean")


def test_error_guard_none():
    spec = small_spec()

    @spec.action()
    def Maybe(s):
        return when(None, x=0)

    both_paths_raise(spec, r"action Maybe: guard is NoneType, not a Boolean")


def test_error_action_returns_wrong_thing():
    spec = small_spec()

    @spec.action(k=Enum("K", ["a", "b"]))
    def Forgot(s, k):
        pass  # returns None

    both_paths_raise(spec, r"action Forgot\(k=a\) returned NoneType")


def test_error_invariant_not_boolean():
    spec = small_spec()

    @spec.action()
    def Inc(s):
        return when(s.x < 2, x=s.x + 1)

    @spec.invariant
    def Counted(s):
        return s.x  # an int, not a Boolean

    with pytest.raises(SpecError, match=r"invariant Counted returned int, not a Boolean"):
        run(spec)


def test_error_init_value_out_of_range():
    spec = Spec("Bad")
    with pytest.raises(SpecError, match=r"initial value 3 of x is not in Int\(0, 2\)"):
        spec.var("x", Int(0, 2), init=3)
    with pytest.raises(SpecError, match=r"initial value 5 of y is not in Int\(0, 2\)"):
        spec.var("y", Int(0, 2), init=[0, 5], any_of=True)


def test_error_duplicate_variable():
    spec = small_spec()
    with pytest.raises(SpecError, match=r"variable x declared twice"):
        spec.var("x", Int(0, 1), init=0)


# ---------------------------------------------------------------- determinism


def trace_summary(res) -> list:
    return [
        (v.name, [tuple(s) for s in v.trace.states], [None if i is None else i.label for i in v.trace.steps])
        for v in res.violations
    ]


@pytest.mark.parametrize(
    "make, opts",
    [
        (lambda: diehard.make_spec(goal_invariant=True), {}),
        (lambda: tcommit.make_spec(), {}),
        (lambda: twophase.make_spec(), {"max_states": 100}),
        (lambda: jumps_spec(10), {"stop_on_first": False}),
    ],
)
def test_deterministic(make, opts):
    a, b = run(make(), **opts), run(make(), **opts)
    assert (a.distinct, a.generated, a.layers, a.coverage, a.stopped) == (
        b.distinct,
        b.generated,
        b.layers,
        b.coverage,
        b.stopped,
    )
    assert trace_summary(a) == trace_summary(b)
    assert a.store.states == b.store.states


def test_deterministic_across_hash_seeds():
    script = textwrap.dedent(
        """
        from explorer.engines.bfs import Options, explore
        from tests.classic import diehard, tcommit
        for spec in (diehard.make_spec(goal_invariant=True), tcommit.make_spec()):
            r = explore(spec, Options(), progress=lambda line: None)
            print(r.distinct, r.generated, r.layers)
            for v in r.violations:
                print(v.name, [tuple(s) for s in v.trace.states], [i and i.label for i in v.trace.steps])
        """
    )
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        p = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        outs.append(p.stdout)
    assert outs[0] == outs[1] and "NotSolved" in outs[0] and "Deadlock" in outs[0]


def test_any_name_is_a_parameter_name_self_and_action_included() -> None:
    # a parameter named self (or action, wf's own first argument) was a TypeError in Spec.action/wf
    from explorer.engines.compiled.engine import explore_any
    from explorer.outputs.export import promela, tla

    P = Enum("P", ["p0", "p1"])
    spec = Spec("Procs")
    spec.var("pc", Int(0, 2), init=0)

    @spec.action(self=P, action=[1, 2])
    def Step(s, self, action):
        return when(s.pc < action, pc=s.pc + 1)

    spec.wf("Step", self="p0", action=1)
    res = explore(spec, Options(check_deadlock=False))
    assert res.exhausted and res.distinct == 3 and res.generated == 1 + 4 + 2
    assert [f.params for f in spec.fairness] == [(("self", "p0"), ("action", 1))]
    native = explore_any(spec, Options(check_deadlock=False), lambda _line: None, "native")
    assert (native.distinct, native.generated) == (res.distinct, res.generated)
    assert "Step(self=p1, action=2)" in tla.export(spec, "Procs").tla
    assert "Step(self=p1, action=2)" in promela.export(spec).source

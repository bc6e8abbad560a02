"""The Z3 backend agrees with BFS on the same Spec: layer counts, shortest counterexamples, induction."""

from __future__ import annotations

import pytest

from explorer.engines.bfs import DEADLOCK, Options, explore
from explorer.engines.smt.bmc import bmc
from explorer.engines.smt.encoding import TYPE_ERROR
from explorer.engines.smt.induction import ProveResult, prove
from explorer.engines.smt.layers import count_layers
from spec.lang import (
    Enum,
    Fn,
    Int,
    Set,
    Spec,
    SpecError,
    and_,
    const_fn,
    count,
    eq,
    implies,
    ite,
    not_,
    put,
    select,
    successors,
    when,
)
from tests.classic import diehard

Item = Enum("Item", 2)
CPU = Enum("CPU", 2)
Flag = Enum("Flag", ["FREE", "CLAIMED"])


def make_queue_spec(max_refcnt: int | None = None) -> Spec:
    """A toy work queue with every kind of variable: Fn of Enum, Fn of Set (nested), Int, Bool, Enum.

    Claim(c, w) queues a FREE item on a CPU and takes a reference; Run(c, w) runs it, drops the reference
    and records it as done; Forget(w) returns two steps (a list of when(...)). ``max_refcnt`` adds a
    state constraint, to check that both backends discard the same successors.
    """
    spec = Spec("Queue")
    spec.var("flags", Fn(Item, Flag), init=const_fn(Item, Flag.FREE))
    spec.var("queued", Fn(CPU, Set(Item)), init=const_fn(CPU, const_fn(Item, False)))
    spec.var("refcnt", Int(0, 4), init=0)
    spec.var("done", Set(Item), init=const_fn(Item, False))
    spec.var("last", Item, init=[0, 1], any_of=True)  # two initial states
    spec.var("ran", Int(0, 1), init=0)

    @spec.action(c=CPU, w=Item)
    def Claim(s, c, w):
        return when(
            s.flags[w] == Flag.FREE,
            flags=put(s.flags, w, Flag.CLAIMED),
            queued=put(s.queued, c, put(s.queued[c], w, True)),
            refcnt=s.refcnt + 1,
        )

    @spec.action(c=CPU, w=Item)
    def Run(s, c, w):
        return when(
            s.queued[c][w],
            flags=put(s.flags, w, Flag.FREE),
            queued=put(s.queued, c, put(s.queued[c], w, False)),
            refcnt=s.refcnt - 1,
            done=put(s.done, w, True),
            last=w,
            ran=1,
        )

    @spec.action(w=Item)
    def Forget(s, w):
        return [
            when(and_(s.done[w], s.last != w), done=put(s.done, w, False)),
            when(and_(s.done[w], s.last == w, s.ran == 1), done=put(s.done, w, False), ran=0),
        ]

    @spec.invariant
    def ClaimedIffQueued(s):
        "An item is CLAIMED exactly when one CPU has it queued (and never two): inductive on its own."
        return and_(
            *(count(s.queued[c][w] for c in CPU) == ite(s.flags[w] == Flag.CLAIMED, 1, 0) for w in Item)
        )

    @spec.invariant
    def RefcntMatches(s):
        "refcnt counts the queued items: true in every reachable state, but not inductive alone."
        return s.refcnt == count(s.queued[c][w] for c in CPU for w in Item)

    @spec.invariant
    def LastDone(s):
        "Once something ran, the last item run is done (read through a state-valued index)."
        return implies(s.ran == 1, select(s.done, s.last))

    @spec.invariant
    def NotBothDone(s):
        "False: both items can be done at once (a reachable violation for bmc)."
        return not_(eq(s.done, (True, True)))

    if max_refcnt is not None:

        @spec.state_constraint
        def RefcntBound(s):
            return s.refcnt <= max_refcnt

    return spec


def replays(trace) -> bool:
    """Each state is a successor of the previous one by the recorded instance (spec.lang.successors)."""
    spec = trace.spec
    if trace.states[0] not in spec.init_states():
        return False
    for pre, inst, post in zip(trace.states, trace.steps[1:], trace.states[1:], strict=False):
        if (inst.index, post) not in {(i.index, t) for i, t in successors(spec, pre)}:
            return False
    return True


# --------------------------------------------------------------------------- counting


@pytest.mark.parametrize("method", ["image", "unroll"])
def test_count_layers_diehard(method):
    spec = diehard.make_spec()
    layers = explore(spec, Options(check_deadlock=False)).layers
    assert len(layers) == 8
    assert count_layers(spec, 9, method) == layers + [0, 0]  # past the last layer both say 0
    assert count_layers(spec, 3, method) == layers[:4]


@pytest.mark.parametrize("method", ["image", "unroll"])
@pytest.mark.parametrize("max_refcnt", [None, 1])
def test_count_layers_queue(method, max_refcnt):
    spec = make_queue_spec(max_refcnt)
    res = explore(spec, Options(check_deadlock=False, stop_on_first=False))
    assert res.exhausted and sum(res.layers) == res.distinct
    assert count_layers(spec, len(res.layers), method) == res.layers + [0]


# --------------------------------------------------------------------------- bmc


def test_bmc_diehard_same_depth_as_bfs():
    spec = diehard.make_spec(goal_invariant=True)
    bfs = explore(spec, Options(invariants=["NotSolved"])).violation("NotSolved")
    assert bfs is not None and len(bfs.trace.states) == 7
    r = bmc(spec, 10, invariants=["NotSolved"])
    assert r.violation == "NotSolved" and r.depth == 6
    assert len(r.trace.states) == len(bfs.trace.states)
    assert r.trace.states[-1].big == 4
    assert replays(r.trace)


def test_bmc_diehard_holds_below_the_depth():
    r = bmc(diehard.make_spec(goal_invariant=True), 5, invariants=["NotSolved"])
    assert r.ok and r.depth == 5 and len(r.seconds_per_depth) == 6


def test_bmc_queue_matches_bfs():
    spec = make_queue_spec()
    bfs = explore(spec, Options(check_deadlock=False)).violations
    assert [v.name for v in bfs] == ["NotBothDone"]
    r = bmc(spec, 10)
    assert r.violation == "NotBothDone"
    assert len(r.trace.states) == len(bfs[0].trace.states)
    assert replays(r.trace)


def test_bmc_deadlock_and_type_error():
    spec = Spec("Counter")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Inc(s):
        return when(s.x < 3, x=s.x + 1)

    bfs = explore(spec).violation(DEADLOCK)
    r = bmc(spec, 5, check_deadlock=True)
    assert r.violation == DEADLOCK and len(r.trace.states) == len(bfs.trace.states) == 4
    assert replays(r.trace)

    bad = Spec("Overflow")
    bad.var("x", Int(0, 3), init=0)

    @bad.action()
    def Inc2(s):
        return when(True, x=s.x + 1)

    r = bmc(bad, 5)
    assert r.violation == TYPE_ERROR and r.depth == 3 and "outside" in r.detail


# --------------------------------------------------------------------------- induction


def check_cti(spec: Spec, result: ProveResult, holds: list[str]) -> None:
    """replay_cti: pre satisfies the assumed invariants, the instance is enabled in pre and yields
    post, and post violates the conjunct that failed."""
    assert not result.ok and result.stage == "step"
    pre, post = result.trace.states
    inst = result.trace.steps[1]
    for name in holds:
        assert spec.invariant_named(name).fn(pre) is True
    assert (inst.index, post) in {(i.index, t) for i, t in successors(spec, pre)}
    assert spec.invariant_named(result.failed).fn(post) is False


def test_prove_inductive():
    spec = make_queue_spec()
    assert prove(spec, "ClaimedIffQueued").ok
    assert prove(spec, "LastDone").ok


def test_prove_fails_with_replayable_cti_then_succeeds_strengthened():
    spec = make_queue_spec()
    # True in every reachable state (BFS finds no violation) ...
    assert explore(spec, Options(invariants=["RefcntMatches"], check_deadlock=False)).violations == []
    # ... but not inductive: a pre-state can have a FREE item already queued.
    r = prove(spec, "RefcntMatches")
    assert r.failed == "RefcntMatches"
    check_cti(spec, r, ["RefcntMatches"])
    r = prove(spec, "RefcntMatches", strengthen=["ClaimedIffQueued"])
    assert r.ok, r


def test_prove_type_correctness():
    spec = make_queue_spec()
    # ClaimedIffQueued does not bound refcnt: from refcnt = 4 a Claim would set it to 5.
    r = prove(spec, "ClaimedIffQueued", check_types=True)
    assert r.failed == TYPE_ERROR and len(r.trace.states) == 1
    with pytest.raises(SpecError, match="outside"):
        list(successors(spec, r.trace.states[0]))
    # With RefcntMatches, refcnt <= 2, so no step can overflow.
    assert prove(spec, "RefcntMatches", strengthen=["ClaimedIffQueued"], check_types=True).ok


def test_prove_init_failure_and_diehard():
    spec = make_queue_spec()
    r = prove(spec, lambda s: s.refcnt > 0)
    assert r.stage == "init" and len(r.trace.states) == 1
    d = diehard.make_spec(goal_invariant=True)
    r = prove(d, "NotSolved")
    assert not r.ok and r.stage == "step"
    check_cti(d, r, ["NotSolved"])


def test_symbolic_misuse_is_a_spec_error():
    spec = Spec("Bad")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Up(s):
        return when(True, x=min(s.x + 1, 3))  # a Python min on a state value cannot be traced

    with pytest.raises(SpecError, match="Up"):
        bmc(spec, 2)

"""spec/bpf_async (bpf_timer, bpf_wq, the 2026 rework) and its induction proof.

The matrix (tests/test_matrix.py) checks every cell's verdicts and replays every trace; these tests
check what the matrix cannot: bad constants are refused, the auxiliary invariants of the proof hold on
every reachable state of a BFS-sized configuration (they are facts, not wishes), the proof goes
through there, and it fails with a counterexample to induction when a safeguard is removed.
"""

from __future__ import annotations

import pytest

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from explorer.engines.smt.induction import prove_by_step
from explorer.engines.smt.lemmas import add_aux_invariants, full_strengthening
from spec.bpf_async import make_spec
from spec.lang import SpecError

TIMER = {"kind": "timer", "slots": 2, "callback": "cancel_other"}


@pytest.mark.parametrize(
    "constants, message",
    [
        ({"colour": 1}, "unknown constant"),
        ({"kind": "semaphore"}, "is not one of"),
        ({"design": "locked", "irq_callers": True}, "irq_callers needs design = refcnt"),
        ({"kind": "wq", "callback": "cancel_other", "slots": 2}, "no cancel helper"),
        ({"callback": "delete_other"}, "needs slots = 2"),
        ({"kind": "wq", "map": "hash"}, "map = hash is modelled for kind = timer"),
        ({"design": "refcnt", "map": "hash"}, "map = hash is modelled for kind = timer"),
        ({"user_deletes": True}, "user_deletes needs map = hash_malloc"),
        ({"map": "hash_malloc", "user_updates": True}, "models user space's delete only"),
        ({"callback": "reinit_self"}, "reinit_self needs objs = 2"),
        ({"map": "lru", "bucket_lock": "rqspinlock"}, "rqspinlock LRU locks are not modelled"),
    ],
)
def test_bad_constants_are_refused_in_one_line(constants, message):
    with pytest.raises(SpecError, match=message):
        make_spec(**constants)


def test_the_auxiliary_invariants_hold_in_every_reachable_state():
    spec = make_spec(**TIMER)
    names = add_aux_invariants(spec)
    assert len(names) >= 10
    r = explore_any(spec, Options(stop_on_first=False, check_deadlock=False), lambda _l: None, "native")
    assert r.exhausted and r.distinct > 100_000
    assert [v.name for v in r.violations] == []


def test_the_safety_invariants_are_inductive_at_the_bfs_size():
    spec = make_spec(**TIMER)
    add_aux_invariants(spec)
    r = prove_by_step(spec, "NoAsyncUseAfterFree", full_strengthening(spec, "NoAsyncUseAfterFree"))
    assert r.ok, r.failed


def test_without_the_cancelling_counter_the_proof_finds_the_mutual_cancel():
    spec = make_spec(**TIMER, cancelling_counter=False)
    add_aux_invariants(spec)
    r = prove_by_step(spec, "NoSpinDeadlock", full_strengthening(spec, "NoSpinDeadlock"))
    assert not r.ok and r.trace is not None


def test_r1_frees_the_wq_under_a_running_instance_when_another_is_pending():
    """The rework's !cancel_work() && work_busy() (docs/second-reading/bpf_wq_r1_check.md): the
    shortest use-after-free frees the object while its work is running and was pending."""
    spec = make_spec(kind="wq", design="refcnt", early_prog_put=False)
    r = explore_any(spec, Options(invariants=["NoAsyncUseAfterFree"]), lambda _l: None, "native")
    (v,) = r.violations
    states = v.trace.states
    freed_at = next(i for i, s in enumerate(states) if s.mem[0] == spec.model.Mem.FREED)
    assert states[freed_at - 1].exec_state[0] == 3  # RUNNING_PENDING just before the free
    assert states[freed_at].exec_state[0] == 2  # the free's cancel_work removed the pending one
    fixed = make_spec(kind="wq", design="refcnt", early_prog_put=False, tt_retry="running")
    r2 = explore_any(fixed, Options(invariants=["NoAsyncUseAfterFree"]), lambda _l: None, "native")
    assert r2.exhausted and r2.violations == []


def _explore(**constants):
    spec = make_spec(**constants)
    return spec, explore_any(spec, Options(stop_on_first=False), lambda _l: None, "native")


def test_a_failed_init_allocation_adds_transitions_but_no_state():
    # -ENOMEM returns before anything is published or any reference taken: the state it leads to is
    # one a -EINVAL call on the empty value already reaches
    _, with_failures = _explore(kind="timer")
    _, without = _explore(kind="timer", alloc_fails=False)
    assert with_failures.distinct == without.distinct
    assert with_failures.generated > without.generated


@pytest.mark.slow  # three 548K-state runs
def test_the_hash_maps_bucket_lock_deadlocks_until_the_rqspinlock():
    # user space's update waits under the bucket lock for a callback that deletes in the same bucket
    hashed = dict(kind="timer", slots=2, callback="delete_other", user_updates=True, map="hash")
    spec, raw = _explore(**hashed)
    bad = [v for v in raw.violations if v.name == "NoSpinDeadlock"]
    assert bad and len(bad[0].trace.states) == 10
    steps = [st.label for st in bad[0].trace.steps[1:]]
    assert steps[-1] == "UserUpdateElem(e=v0)" and "TimerCallbackStart(c=cpu0)" in steps
    _, rq = _explore(**hashed, bucket_lock="rqspinlock")
    assert not [v for v in rq.violations if v.name == "NoSpinDeadlock"]
    _, array = _explore(**{**hashed, "map": "array"})
    assert not [v for v in array.violations if v.name == "NoSpinDeadlock"]


@pytest.mark.slow  # a 1.2M-state run
def test_an_lru_eviction_waits_under_the_lru_lock_for_a_callback_that_deletes():
    # round5-issue21.md B3, round8-b3.md: the eviction frees the victim's timer under the LRU list lock;
    # the victim's callback deleted v1 (unlink, fields freed) and spins on that lock to push v1
    lru = dict(kind="timer", slots=2, callback="delete_other", user_updates=True, map="lru")
    _, res = _explore(**lru)
    bad = [v for v in res.violations if v.name == "NoSpinDeadlock"]
    assert bad and len(bad[0].trace.states) == 11
    steps = [st.label for st in bad[0].trace.steps[1:]]
    assert steps[-3:] == ["TimerCallbackStart(c=cpu0)", "TimerCallbackBody(c=cpu0)", "UserUpdateElem(e=v0)"]
    last = bad[0].trace.states[-1]
    assert last.pc[0][1] == bad[0].trace.spec.model.PC.LRU_PUSH  # the callback's delete, at its push
    # the deadlock is that spin too: a task-level delete interrupted by the softirq before its
    # raw_spin_lock_irqsave does not hold irqs off (a model error once made every CPU stop here)
    (dead,) = [v for v in res.violations if v.name == "Deadlock"]
    stuck = dead.trace.states[-1]
    assert [c for c in range(2) if stuck.pc[c][1] == dead.trace.spec.model.PC.LRU_PUSH] == [0]


@pytest.mark.slow  # 9 s of the fast tier (round 12: make test over 3 minutes in a fresh clone)
def test_a_timer_rearmed_in_a_deleted_malloc_element_outlives_it():
    # the callback re-initialises its own timer while user space's delete waits for it; the element is
    # freed with no destructor (v6.14 and before): the second timer's next run reads freed memory
    reinit = dict(kind="timer", objs=2, callback="reinit_self", prog_ops="no_delete")
    _, malloc = _explore(**reinit, map="hash_malloc", user_deletes=True)
    uaf = [v for v in malloc.violations if v.name == "NoMapAccessAfterFree"]
    assert uaf and len(uaf[0].trace.states) == 19
    steps = [st.label for st in uaf[0].trace.steps[1:]]
    delete, free = steps.index("UserDeleteElem(e=v0)"), steps.index("ElemFreed(e=v0)")
    assert delete < steps.index("TimerExpire(c=cpu0, o=t0.1)") and free < len(steps) - 1
    _, array = _explore(**reinit, user_updates=True)
    assert not [v for v in array.violations if v.name == "NoMapAccessAfterFree"]


@pytest.mark.slow  # 5.2M states, 20 CPU seconds: outside make check's matrix (its 5-minute budget)
def test_the_2026_timer_at_three_cpus_keeps_every_safety_property():
    """issue 21's sizes: the rework's timer with hard-irq callers on cpu0 and a third CPU keeps the
    safety properties its 2-CPU cell (rework_timer) keeps; timer_3cpus and wq_3cpus are matrix cells."""
    spec = make_spec(kind="timer", design="refcnt", irq_callers=True, cpus=3)
    r = explore_any(spec, Options(stop_on_first=False), lambda _l: None, "native")
    assert r.exhausted and r.distinct == 5_223_880
    assert [v.name for v in r.violations] == []

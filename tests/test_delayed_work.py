"""Targeted checks of the delayed_work model against the code it transcribes (brief §1.3, §2, §3)."""

from __future__ import annotations

import pytest

from spec.delayed_work import BUSY, CLAIMED_BITS, PENDING, VARIANTS, make_spec
from spec.lang import SpecError, successors


def _state(spec, **changes):
    return spec.init_states()[0]._replace(**changes)


def _cpu0_task(spec, w=0, p=0):
    """sub_item and sub_prog with cpu0's task context submitting w for p (every other context idle)."""
    m = spec.model
    items = tuple(tuple(w if (c, lv) == (0, 0) else m.NONE for lv in range(3)) for c in m.CPU)
    progs = tuple(tuple(p if (c, lv) == (0, 0) else m.NO_PROG for lv in range(3)) for c in m.CPU)
    return {"sub_item": items, "sub_prog": progs}


def _after(spec, s, label):
    """The successor of s via the instance with this label (exactly one)."""
    out = [t for inst, t in successors(spec, s) if inst.label == label]
    assert len(out) == 1, f"{label}: {len(out)} successors"
    return out[0]


def _labels(spec, s):
    return {inst.label for inst, _ in successors(spec, s)}


def _draining(spec):
    """cpu0's runner has just cleared PENDING for prog0; the list holds w1 (newest) then w0."""
    m = spec.model
    return _state(
        spec,
        plist=((1, 0),),
        flags=(m.WFlags.READY, m.WFlags.READY),
        ref_of=(0, 0),
        prog_refcnt=(4,),
        iw_flags=(BUSY,),
        seen=(BUSY, 0),
        runner=(m.RPhase.FUNC, m.RPhase.IDLE),
        runner_prog=(0, m.NO_PROG),
    )


def test_posted_drain_visits_only_the_newest_item():
    """The discarded llist_reverse_order result: iteration starts at the old head, now the tail."""
    spec = make_spec(variant="rfc_posted")
    t = _after(spec, _draining(spec), "DrainTake(c=cpu0)")
    assert t.chain[0] == (1, spec.model.NONE)
    assert spec.invariant_named("NoStrandedItem").fn(t) is False


def test_fixed_drain_runs_oldest_first_and_keeps_every_item():
    spec = make_spec(variant="rfc_fixed")
    t = _after(spec, _draining(spec), "DrainTake(c=cpu0)")
    assert t.chain[0] == (0, 1)
    assert spec.invariant_named("NoStrandedItem").fn(t) is True


@pytest.mark.parametrize("flags, queued_here", [(0, True), (BUSY, True), (CLAIMED_BITS, False)])
def test_irq_work_queue_claim_semantics(flags, queued_here):
    """irq_work_claim fails only while PENDING; a claim of a BUSY (running) work succeeds (brief §2)."""
    spec = make_spec(variant="rfc_fixed")
    m = spec.model
    s = _state(
        spec,
        pc=((m.PC.QUEUE, 0, 0), (0, 0, 0)),
        iw_flags=(flags,),
        iw_cpu=(1 if flags else m.NO_CPU,),
        **_cpu0_task(spec),
    )
    t = _after(spec, s, "SubmitIrqWorkQueue(c=cpu0, lv=TASK)")
    assert t.iw_flags == (CLAIMED_BITS,)
    assert t.iw_cpu == ((0,) if queued_here else s.iw_cpu)


@pytest.mark.parametrize("current, cleared", [(BUSY, True), (CLAIMED_BITS, False)])
def test_runner_clears_busy_only_if_nobody_reclaimed(current, cleared):
    """atomic_cmpxchg(&flags, seen, seen & ~BUSY) with seen = the value written when PENDING was cleared."""
    spec = make_spec(variant="rfc_fixed")
    m = spec.model
    s = _state(
        spec,
        iw_flags=(current,),
        seen=(BUSY, 0),
        runner=(m.RPhase.DRAIN, m.RPhase.IDLE),
        runner_prog=(0, m.NO_PROG),
    )
    if current & PENDING:
        s = s._replace(iw_cpu=(1,))
    t = _after(spec, s, "IrqWorkDone(c=cpu0)")
    assert t.iw_flags == ((0,) if cleared else (current,))
    assert t.runner[0] == m.RPhase.IDLE


def test_inc_not_zero_failure_posted_leaves_ready_fixed_rolls_back():
    for variant, expect_ready in (("rfc_posted", True), ("rfc_fixed", False)):
        spec = make_spec(variant=variant)
        m = spec.model
        s = _state(
            spec,
            pc=((m.PC.CLAIMED, 0, 0), (0, 0, 0)),
            **_cpu0_task(spec),
            flags=(m.WFlags.CLAIMED, m.WFlags.FREE),
            prog_refcnt=(0,),
            prog_fd=(False,),
            prog_attached=(False,),
            prog_phase=(m.Phase.RCU_WAIT,),
            gp_readers=((((True, False, False), (False,) * 3)),),
        )
        t = _after(spec, s, "SubmitReady(c=cpu0, lv=TASK)")
        assert t.pc[0][0] == m.PC.IDLE
        assert (t.flags[0] == m.WFlags.READY) is expect_ready
        assert t.prog_refcnt == (0,)


def test_call_rcu_fixes_the_readers_it_waits_for():
    """whatisRCU.rst: the grace period waits for the readers in flight at call_rcu, not later ones."""
    spec = make_spec(variant="rfc_fixed")
    m = spec.model
    s = _state(spec, prog_fd=(False,), prog_refcnt=(1,), pc=((m.PC.CLAIMED, 0, 0), (0, 0, 0)),
               **_cpu0_task(spec), flags=(m.WFlags.CLAIMED, m.WFlags.FREE))  # fmt: skip
    t = _after(spec, s, "ProgDetach(p=prog0)")  # the last put, from a syscall: call_rcu at once
    assert t.prog_phase == (m.Phase.RCU_WAIT,)
    assert t.gp_readers[0][0][0] is True and t.gp_readers[0][1] == (False, False, False)
    assert "RcuGracePeriod(p=prog0)" not in _labels(spec, t)  # cpu0's run began before call_rcu
    # a drain that starts on cpu1 after call_rcu does not hold the grace period up
    later = t._replace(runner=(m.RPhase.IDLE, m.RPhase.FUNC), runner_prog=(m.NO_PROG, 0), seen=(0, BUSY),
                       iw_flags=(BUSY,))  # fmt: skip
    done = _after(spec, later, "SubmitReady(c=cpu0, lv=TASK)")  # inc_not_zero fails: the run ends
    assert done.gp_readers[0] == ((False,) * 3, (False,) * 3)
    assert "RcuGracePeriod(p=prog0)" in _labels(spec, done)


def test_the_too_strong_grace_period_waits_for_later_readers():
    """The test-only defect (grace_period = too_strong): it also waits for the drain begun later."""
    spec = make_spec(variant="rfc_fixed", grace_period="too_strong")
    m = spec.model
    s = _state(
        spec,
        prog_fd=(False,),
        prog_attached=(False,),
        prog_refcnt=(0,),
        prog_phase=(m.Phase.RCU_WAIT,),  # call_rcu was issued when nothing ran: no readers to wait for
        runner=(m.RPhase.IDLE, m.RPhase.FUNC),  # then cpu1's drain began
        runner_prog=(m.NO_PROG, 0),
        seen=(0, BUSY),
        iw_flags=(BUSY,),
    )
    assert "RcuGracePeriod(p=prog0)" not in _labels(spec, s)
    assert "RcuGracePeriod(p=prog0)" in _labels(make_spec(variant="rfc_fixed"), s)


def test_last_put_in_hardirq_defers_call_rcu():
    """__bpf_prog_put in hard-irq: schedule_work(bpf_prog_put_deferred); call_rcu only when it runs."""
    spec = make_spec(variant="rfc_fixed")
    m = spec.model
    s = _state(
        spec,
        prog_fd=(False,),
        prog_attached=(False,),
        prog_refcnt=(1,),
        flags=(m.WFlags.READY, m.WFlags.FREE),
        ref_of=(0, m.NO_PROG),
        chain=((0, m.NONE), (m.NONE, m.NONE)),
        runner=(m.RPhase.CB_DONE, m.RPhase.IDLE),
        runner_prog=(0, m.NO_PROG),
        seen=(BUSY, 0),
        iw_flags=(BUSY,),
        runs=(1, 0),
    )
    t = _after(spec, s, "DrainPut(c=cpu0)")
    assert t.prog_refcnt == (0,) and t.prog_phase == (m.Phase.PUT_DEFERRED,)
    assert t.gp_readers[0] == ((False,) * 3, (False,) * 3)
    u = _after(spec, t, "ProgPutDeferred(p=prog0)")
    assert u.prog_phase == (m.Phase.RCU_WAIT,)
    assert u.gp_readers[0][0][1] is True  # the drain, still running, is a reader (hard-irq, call_rcu)
    # a sleepable prog: under the documented tasks-trace contract the hard-irq drain is no reader;
    # under rcu_trace_implies_rcu_gp() (every shipped kernel) it is one
    contract = make_spec(variant="rfc_fixed", rcu="tasks_trace", tasks_trace="contract")
    assert _after(contract, t, "ProgPutDeferred(p=prog0)").gp_readers[0][0][1] is False
    implies = make_spec(variant="rfc_fixed", rcu="tasks_trace", tasks_trace="implies_rcu")
    assert _after(implies, t, "ProgPutDeferred(p=prog0)").gp_readers[0][0][1] is True


def test_repaired_free_path_waits_for_runners_after_the_sync():
    spec = make_spec(variant="rfc_repaired")
    m = spec.model
    s = _state(
        spec,
        prog_fd=(False,),
        prog_attached=(False,),
        prog_refcnt=(0,),
        prog_phase=(m.Phase.SYNC,),
        runner=(m.RPhase.FUNC, m.RPhase.IDLE),
        runner_prog=(0, m.NO_PROG),
        seen=(BUSY, 0),
    )
    t = _after(spec, s, "ProgFreeDeferred(p=prog0)")  # irq_work_sync: flags 0 (another runner cleared BUSY)
    assert t.prog_phase == (m.Phase.SYNC_RCU,) and t.gp_readers[0][0][1] is True
    assert "ProgFreeAfterSyncRcu(p=prog0)" not in _labels(spec, t)
    fixed = make_spec(variant="rfc_fixed")
    assert _after(fixed, s, "ProgFreeDeferred(p=prog0)").prog_phase == (m.Phase.FREED,)


def test_nmi_interrupts_and_blocks_lower_levels():
    spec = make_spec(variant="rfc_fixed", nmi=True, cpus=1)
    m = spec.model
    s = _state(
        spec,
        pc=((m.PC.CLAIMED, 0, m.PC.CLAIMED),),
        sub_item=((0, 2, 1),),
        sub_prog=((0, 1, 0),),
        flags=(1, 1),
    )
    labels = _labels(spec, s)
    assert "SubmitReady(c=cpu0, lv=NMI)" in labels
    assert "SubmitReady(c=cpu0, lv=TASK)" not in labels


def test_broken_states_only_stutter():
    spec = make_spec(variant="rfc_fixed")
    s = _state(spec, uaf_map=True)
    assert _labels(spec, s) == {"Quiescent"}


def test_every_variant_builds_and_rejects_unknown_constants():
    for v in VARIANTS:
        assert make_spec(variant=v).actions
    with pytest.raises(SpecError, match="unknown constant"):
        make_spec(colour=1)
    with pytest.raises(SpecError, match="unknown variant"):
        make_spec(variant="rfc_v2")

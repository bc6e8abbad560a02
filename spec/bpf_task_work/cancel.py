"""``bpf_task_work_cancel_and_free`` (X; kernel/bpf/helpers.c as merged, V8 = 38aa7003e369): run by
a scheduler whose usercnt check found 0 (T1u), or by user space (a map update/delete of a value, the
``map_release_uref`` sweep at the last fd close, the ``map_free`` sweep), in the actor's ``pc[a]``:

    XSLOT --XSlot: c = xchg(slot, NULL)--> XSTATE (or done if NULL)
    XSTATE --XState: old = xchg(state, FREED); SCHEDULED: init_irq_work(cancel_scheduled), queue--> done
    XSTATE --otherwise--> XPUT --XPut: ctx_put (the map's ref)--> done

(without ``slot_xchg``: XSLOT reads, XCLEAR writes NULL). "done" (``x_done``) ends a scheduler's run
or takes user space to the next value of its sweep.
"""

from __future__ import annotations

from typing import Any

from spec.bpf_task_work.model import Model
from spec.lang import Step, and_, cites, disabled, not_, or_, over, put, when


def x_cpu(m: Model, a: int) -> int:
    return a if a < m.ncpu else 0  # user space queues cancel_scheduled on cpu0


def x_done(m: Model, s: Any, a: int, upd: dict) -> list[tuple[Any, dict]]:
    """cancel_and_free returned, as (condition, updates) cases: a scheduler's run ends (-EBUSY:
    put its prog ref); user space goes on with its job (the next value of a sweep, the refcnt put
    after map_release_uref, the map memory after map_free)."""
    Job, PC = m.Job, m.PC
    if a < m.ncpu:
        return [(True, m.sched_fail(s, a, upd))]
    cases = []
    for v in over(s.aval[a], m.Val):
        at = s.aval[a] == v
        last = v == m.nval - 1
        cases.append((and_(at, s.job == Job.UPDATE), m.set_actor(s, a, dict(upd, job=Job.NONE), PC.IDLE)))
        sweep = or_(s.job == Job.RELEASE, s.job == Job.MAPFREE)
        if not last:
            cases.append((and_(at, sweep), m.set_actor(s, a, dict(upd), PC.XSLOT, m.NO_OBJ, v + 1)))
            continue
        rel = and_(at, s.job == Job.RELEASE)
        new = s.map_refcnt - 1
        done = dict(upd, map_refcnt=new, swept=True)
        cases.append(
            (and_(rel, new == 0), m.set_actor(s, a, dict(done, job=Job.MAPFREE), PC.XSLOT, m.NO_OBJ, 0))
        )
        cases.append((and_(rel, new != 0), m.set_actor(s, a, dict(done, job=Job.NONE), PC.IDLE)))
        freed = dict(upd, map_freed=True, job=Job.NONE)
        cases.append((and_(at, s.job == Job.MAPFREE), m.set_actor(s, a, freed, PC.IDLE)))
    return cases


@cites(
    "V8",
    "bpf_task_work_cancel_and_free (T8, first half)",
    "ctx = xchg(&twk->ctx, NULL); if (!ctx) return; (slot_xchg = false: READ_ONCE here, WRITE_ONCE(NULL) "
    "at XClear). On return a scheduler's run ends with -EBUSY (its references put) and user space goes on "
    "with its job (the next value of a sweep, the refcnt put after map_release_uref, the map's free after "
    "map_free)",
    "one xchg; what the caller does after the return touches only its own state, its own prog reference "
    "(one atomic decrement) and, at the end of a sweep, one atomic decrement of the map's refcnt",
)
def XSlot(m: Model, s: Any, a: int) -> list[Step]:
    """ctx = xchg(&twk->ctx, NULL); if (!ctx) return (idempotent per slot). Without slot_xchg:
    READ_ONCE here, WRITE_ONCE(NULL) in XClear."""
    g = s.pc[a] == m.PC.XSLOT
    if disabled(g):
        return []
    steps = []
    for v in over(s.aval[a], m.Val):
        gv = and_(g, s.aval[a] == v)
        o = s.slot[v]
        base = {}
        m.orv(s, base, "uaf_map", s.map_freed)
        for gx, u in x_done(m, s, a, dict(base)):
            steps.append(when(and_(gv, o == m.NO_OBJ, gx), **u))
        got = dict(base)
        if m.cfg["slot_xchg"]:
            got["slot"] = put(s.slot, v, m.NO_OBJ)
            m.set_actor(s, a, got, m.PC.XSTATE, o, v)
        else:
            m.set_actor(s, a, got, m.PC.XCLEAR, o, v)
        steps.append(when(and_(gv, o != m.NO_OBJ), **got))
    return steps


@cites(
    "V8",
    "bpf_task_work_cancel_and_free (slot_xchg = false: not V8)",
    "none in V8: WRITE_ONCE(twk->ctx, NULL) after a READ_ONCE, the variant without the xchg",
    "one store",
)
def XClear(m: Model, s: Any, a: int) -> list[Step]:
    """WRITE_ONCE(twk->ctx, NULL)."""
    g = s.pc[a] == m.PC.XCLEAR
    if disabled(g):
        return []
    return [
        when(and_(g, s.aval[a] == v), slot=put(s.slot, v, m.NO_OBJ), pc=put(s.pc, a, m.PC.XSTATE))
        for v in over(s.aval[a], m.Val)
    ]


@cites(
    "V8",
    "bpf_task_work_cancel_and_free (T8, second half)",
    "state = xchg(&ctx->state, BPF_TW_FREED); if (state == BPF_TW_SCHEDULED) { /* run in irq_work to "
    "avoid locks in NMI */ init_irq_work(&ctx->irq_work, bpf_task_work_cancel_scheduled); "
    "irq_work_queue(&ctx->irq_work); return; }",
    "one xchg; the init_irq_work and irq_work_queue that follow in SCHEDULED are merged with it: the "
    "irq_work belongs to the ctx this caller just marked FREED, and only the FREED state's new owner "
    "(this caller) queues it; the return (x_done) as at XSlot",
)
def XState(m: Model, s: Any, a: int) -> list[Step]:
    """state = xchg(&ctx->state, FREED); if it was SCHEDULED: init_irq_work(cancel_scheduled) and
    irq_work_queue ('run in irq_work to avoid locks in NMI'), which owns the map's ref now."""
    St, PC = m.St, m.PC
    g = s.pc[a] == PC.XSTATE
    if disabled(g):
        return []
    steps = []
    for o in over(s.aobj[a], m.Obj):
        go = and_(g, s.aobj[a] == o)
        base = m.touch(s, o, {})
        m.set_state(s, o, base, St.FREED)
        m.orv(s, base, "freed_twice", s.st[o] == St.FREED)
        sched = s.st[o] == St.SCHEDULED
        if m.cfg["cancel_scheduled"]:
            cs = m.queue_iw(s, o, x_cpu(m, a), m.IwFn.CANCEL, dict(base))
            for gx, u in x_done(m, s, a, cs):
                steps.append(when(and_(go, sched, gx), **u))
            steps.append(when(and_(go, not_(sched)), **base, pc=put(s.pc, a, PC.XPUT)))
        else:
            steps.append(when(go, **base, pc=put(s.pc, a, PC.XPUT)))
    return steps


@cites(
    "V8",
    "bpf_task_work_cancel_and_free",
    "bpf_task_work_ctx_put(ctx); /* put bpf map's ref */ -> refcount_dec_and_test; at 0 "
    "bpf_task_work_ctx_reset and bpf_mem_free (free_after_gp: v4-v6's grace period first)",
    "one refcount_dec_and_test; a last put's reset and free touch only this ctx, which nobody holds a "
    "reference to any more (a ref-less reader's use of it is the use-after-free the model records); the "
    "return as at XSlot",
)
def XPut(m: Model, s: Any, a: int) -> list[Step]:
    """bpf_task_work_ctx_put(ctx): the map's ref."""
    g = s.pc[a] == m.PC.XPUT
    if disabled(g):
        return []
    steps = []
    for o in over(s.aobj[a], m.Obj):
        for gx, u in x_done(m, s, a, m.ctx_put(s, o, {})):
            steps.append(when(and_(g, s.aobj[a] == o, gx), **u))
    return steps

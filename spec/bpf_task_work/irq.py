"""The irq_work runner per CPU: ``irq_work_single`` (kernel/irq_work.c) running the ctx's irq_work,
whose func is ``bpf_task_work_irq`` or, after cancel_and_free found the ctx SCHEDULED,
``bpf_task_work_cancel_scheduled`` (kernel/bpf/helpers.c as merged, V8 = 38aa7003e369). Phase
``runner[c]``:

    IDLE --IrqRun: clear PENDING; T2 (fails: put the round ref)--> ADD / TAIL
    ADD --IrqAdd: task_work_add (fails: reset, T3)--> ADDED / PUT
    ADDED --IrqT4--> TAIL, or CANCEL if T4 saw FREED --IrqCancel: task_work_cancel--> PUT / TAIL
    PUT --IrqPut: ctx_put--> TAIL --IrqDone: atomic_cmpxchg(flags, seen, seen & ~BUSY)--> IDLE
    (cancel_scheduled: IrqRun does task_work_cancel, then CS_PUT2 / CS_PUT put the refs, then TAIL)

On a non-RT kernel the irq_work runs in hard-irq (a last prog put there is deferred); on PREEMPT_RT in
the per-CPU irq_work kthread. The model keeps every interleaving of the two (see ABSTRACTIONS).
"""

from __future__ import annotations

from typing import Any

from spec.bpf_task_work.model import Model
from spec.kernel import irq_work, task_work
from spec.lang import Step, and_, cites, disabled, ite, not_, or_, over, put, when


@cites(
    "K-irqwork",
    "irq_work_single",
    "flags = atomic_read(&work->node.a_flags) & ~IRQ_WORK_PENDING; atomic_set(.., flags); smp_mb(); then "
    "work->func(work)",
    "the clear of PENDING is merged with the func's first step: nobody can queue this irq_work while the "
    "state is PENDING (T2) or FREED (cancel_scheduled), and T2's result depends on the state only "
    "(ABSTRACTIONS)",
)
@cites(
    "V8",
    "bpf_task_work_irq (T2), or bpf_task_work_cancel_scheduled",
    "bpf_task_work_irq: guard(rcu_tasks_trace)(); if (cmpxchg(&ctx->state, BPF_TW_PENDING, "
    "BPF_TW_SCHEDULING) != BPF_TW_PENDING) { bpf_task_work_ctx_put(ctx); return; }. cancel_scheduled: "
    "bpf_task_work_cancel(ctx) -> task_work_cancel(ctx->task, &ctx->work)",
    "T2 is one cmpxchg (on failure its put is one refcount_dec_and_test); task_work_cancel takes the "
    "task's pi_lock (K-tw task_work_cancel_match), so it is one step against task_work_run",
)
def IrqRun(m: Model, s: Any, c: int, o: int) -> list[Step]:
    """irq_work_single: clear PENDING (seen := flags), then the func's first step:
    bpf_task_work_irq's T2 cmpxchg(PENDING, SCHEDULING) (not PENDING: ctx_put, return), or
    cancel_scheduled's task_work_cancel(ctx->task, &ctx->work)."""
    RPhase, St = m.RPhase, m.St
    g = and_(s.iw_cpu[o] == c, s.runner[c] == RPhase.IDLE)
    if disabled(g):
        return []
    cleared = irq_work.run_start(s.iw_flags[o])
    base = dict(
        iw_cpu=put(s.iw_cpu, o, m.NO_CPU),
        iw_flags=put(s.iw_flags, o, cleared),
        seen=put(s.seen, c, cleared),
        robj=put(s.robj, c, o),
        uaf_irq_core=or_(s.uaf_irq_core, s.mem[o] == m.Mem.FREED),
    )
    m.touch(s, o, base)
    steps = []
    is_irq = s.iw_fn[o] == m.IwFn.IRQ
    pending = s.st[o] == St.PENDING
    ok = m.set_state(s, o, dict(base), St.SCHEDULING)
    ok["runner"] = put(s.runner, c, RPhase.ADD)
    steps.append(when(and_(g, is_irq, pending), **ok))
    if m.cfg["irq_freed_check"]:
        fail = dict(base, runner=put(s.runner, c, RPhase.TAIL))
        if m.round_ref:
            m.ctx_put(s, o, fail, hardirq=m.runner_hardirq)
        m.end_round(s, o, fail)
        steps.append(when(and_(g, is_irq, not_(pending)), **fail))
    else:
        go_on = dict(base, runner=put(s.runner, c, RPhase.ADD))
        steps.append(when(and_(g, is_irq, not_(pending)), **go_on))
    # cancel_scheduled: bpf_task_work_cancel (task_work_cancel reads ctx->task), then two puts on
    # success (the callback's ref, then the map's), one otherwise
    cs = dict(base)
    m.orv(s, cs, "null_task", not_(s.has_task[o]))
    queued = s.tw[o] == m.Tw.QUEUED
    won = dict(cs, tw=put(s.tw, o, m.Tw.NONE))
    m.end_round(s, o, won)
    won["runner"] = put(s.runner, c, RPhase.CS_PUT2 if m.round_ref else RPhase.CS_PUT)
    steps.append(when(and_(g, not_(is_irq), queued), **won))
    lost = dict(cs, runner=put(s.runner, c, RPhase.CS_PUT))
    steps.append(when(and_(g, not_(is_irq), not_(queued)), **lost))
    return steps


@cites(
    "V8",
    "bpf_task_work_irq",
    "err = task_work_add(ctx->task, &ctx->work, ctx->mode); on error: bpf_task_work_ctx_reset(ctx); "
    "(void)cmpxchg(&ctx->state, BPF_TW_SCHEDULING, BPF_TW_STANDBY); (the put: IrqPut)",
    "task_work_add is one successful try_cmpxchg of task->task_works (K-tw); the failure path's reset and "
    "T3 cmpxchg are merged: between them nobody reads ctx->task or ctx->prog, and a stale runner's T4 "
    "makes T3 fail in both orders (ABSTRACTIONS)",
)
def IrqAdd(m: Model, s: Any, c: int) -> list[Step]:
    """task_work_add(ctx->task, &ctx->work, mode); on error (-ESRCH, the task is exiting):
    ctx_reset, (void)cmpxchg(SCHEDULING, STANDBY), then ctx_put."""
    RPhase, St = m.RPhase, m.St
    g = s.runner[c] == RPhase.ADD
    if disabled(g):
        return []
    steps = []
    for o in over(s.robj[c], m.Obj):
        go = and_(g, s.robj[c] == o)
        base = m.touch(s, o, {})
        m.orv(s, base, "null_task", not_(s.has_task[o]))
        ok = dict(base, tw=put(s.tw, o, m.Tw.QUEUED), runner=put(s.runner, c, RPhase.ADDED))
        steps.append(when(and_(go, task_work.add_succeeds(s.task_alive)), **ok))
        fail = m.reset(s, o, dict(base), hardirq=m.runner_hardirq)
        m.set_state(s, o, fail, ite(s.st[o] == St.SCHEDULING, St.STANDBY, s.st[o]))
        m.end_round(s, o, fail)
        fail["runner"] = put(s.runner, c, RPhase.PUT if m.round_ref else RPhase.TAIL)
        steps.append(when(and_(go, not_(task_work.add_succeeds(s.task_alive))), **fail))
    return steps


@cites(
    "V8",
    "bpf_task_work_irq (T4)",
    "state = cmpxchg(&ctx->state, BPF_TW_SCHEDULING, BPF_TW_SCHEDULED); if (state == BPF_TW_FREED) "
    "bpf_task_work_cancel(ctx); (window B: no reference held, 'we rely on RCU protection')",
    "one cmpxchg; the cancel it may lead to is the next step (IrqCancel)",
)
def IrqT4(m: Model, s: Any, c: int) -> list[Step]:
    """state = cmpxchg(SCHEDULING, SCHEDULED) (window B: no ref held, 'we rely on RCU
    protection'); if it was FREED: bpf_task_work_cancel."""
    RPhase, St = m.RPhase, m.St
    g = s.runner[c] == RPhase.ADDED
    if disabled(g):
        return []
    steps = []
    for o in over(s.robj[c], m.Obj):
        go = and_(g, s.robj[c] == o)
        base = m.touch(s, o, {})
        was = s.st[o]
        m.set_state(s, o, base, ite(was == St.SCHEDULING, St.SCHEDULED, was))
        nxt = RPhase.CANCEL if m.cfg["irq_post_add_cancel"] else RPhase.TAIL
        steps.append(when(and_(go, was == St.FREED), **base, runner=put(s.runner, c, nxt)))
        steps.append(when(and_(go, was != St.FREED), **base, runner=put(s.runner, c, RPhase.TAIL)))
    return steps


@cites(
    "V8",
    "bpf_task_work_cancel",
    "if (task_work_cancel(ctx->task, &ctx->work)) bpf_task_work_ctx_put(ctx); /* the callback's ref */ "
    "(the put: IrqPut)",
    "task_work_cancel walks task->task_works under the task's pi_lock (K-tw task_work_cancel_match): one "
    "step against task_work_run's xchg of the list",
)
def IrqCancel(m: Model, s: Any, c: int) -> list[Step]:
    """bpf_task_work_cancel: task_work_cancel(ctx->task, &ctx->work); success puts the
    callback's ref on its behalf."""
    RPhase = m.RPhase
    g = s.runner[c] == RPhase.CANCEL
    if disabled(g):
        return []
    steps = []
    for o in over(s.robj[c], m.Obj):
        go = and_(g, s.robj[c] == o)
        base = m.touch(s, o, {})
        m.orv(s, base, "null_task", not_(s.has_task[o]))
        queued = s.tw[o] == m.Tw.QUEUED
        won = dict(base, tw=put(s.tw, o, m.Tw.NONE))
        m.end_round(s, o, won)
        won["runner"] = put(s.runner, c, RPhase.PUT if m.round_ref else RPhase.TAIL)
        steps.append(when(and_(go, queued), **won))
        steps.append(when(and_(go, not_(queued)), **base, runner=put(s.runner, c, RPhase.TAIL)))
    return steps


@cites(
    "V8",
    "bpf_task_work_irq, bpf_task_work_cancel, bpf_task_work_cancel_scheduled",
    "bpf_task_work_ctx_put(ctx) (cancel_scheduled after a successful cancel: the callback's ref, then the "
    "map's); refcount_dec_and_test, at 0 bpf_task_work_ctx_reset and bpf_mem_free",
    "one refcount_dec_and_test per put; cancel_scheduled's two puts are one step: the first is never the "
    "last (the map's reference remains), so no one can tell them apart (ABSTRACTIONS); in hard-irq a last "
    "prog put is deferred (K-syscall __bpf_prog_put)",
)
def IrqPut(m: Model, s: Any, c: int) -> list[Step]:
    """bpf_task_work_ctx_put from the irq_work (hard-irq: a last prog put is deferred)."""
    R = m.RPhase
    g = or_(s.runner[c] == R.PUT, s.runner[c] == R.CS_PUT2, s.runner[c] == R.CS_PUT)
    if disabled(g):
        return []
    steps = []
    for o in over(s.robj[c], m.Obj):
        go = and_(g, s.robj[c] == o)
        two = s.runner[c] == R.CS_PUT2
        both = m.ctx_put(
            s,
            o,
            m.ctx_put(s, o, {"runner": put(s.runner, c, R.TAIL)}, hardirq=m.runner_hardirq),
            hardirq=m.runner_hardirq,
        )
        steps.append(when(and_(go, two), **both))
        last = m.ctx_put(s, o, {"runner": put(s.runner, c, R.TAIL)}, hardirq=m.runner_hardirq)
        steps.append(when(and_(go, not_(two)), **last))
    return steps


@cites(
    "K-irqwork",
    "irq_work_single",
    "after func: (void)atomic_cmpxchg(&work->node.a_flags, flags, flags & ~IRQ_WORK_BUSY); on RT "
    "rcuwait_wake_up(&work->irqwait)",
    "one atomic_cmpxchg (the RT wake-up writes only the irq_work's own rcuwait)",
)
def IrqDone(m: Model, s: Any, c: int) -> list[Step]:
    """irq_work_single after func: atomic_cmpxchg(&flags, seen, seen & ~BUSY) on the ctx's
    irq_work (and rcuwait_wake_up on RT)."""
    g = s.runner[c] == m.RPhase.TAIL
    if disabled(g):
        return []
    steps = []
    for o in over(s.robj[c], m.Obj):
        upd = dict(
            iw_flags=put(s.iw_flags, o, irq_work.run_end(s.iw_flags[o], s.seen[c])),
            runner=put(s.runner, c, m.RPhase.IDLE),
            robj=put(s.robj, c, m.NO_OBJ),
            seen=put(s.seen, c, 0),
            uaf_irq_core=or_(s.uaf_irq_core, s.mem[o] == m.Mem.FREED),
        )
        steps.append(when(and_(g, s.robj[c] == o), **upd))
    return steps

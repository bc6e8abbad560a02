"""The scheduler: a prog run calling ``bpf_task_work_schedule`` (kernel/bpf/helpers.c as merged, V8 =
38aa7003e369; docs/second-reading/bpf_task_work.md §1), one per CPU, ``pc[c]``:

    IDLE --SchedRun--> RUN --SchedIncProg: bpf_prog_inc_not_zero (+ bpf_task_acquire)--> [CHECK] FETCH
    CHECK (usercnt_check = before) --SchedCheckBefore--> FETCH
    FETCH --SchedFetch: READ_ONCE(slot) / alloc + cmpxchg(slot, NULL, c)--> HELD (pointer, no ref)
    HELD --SchedTryget: refcount_inc_not_zero--> REF --SchedClaim: T1--> [CLAIMED] IDLE (fields, queue)
    CLAIMED (usercnt_check = after) --SchedCheckAfter: usercnt != 0: fields, irq_work_queue--> IDLE
    CLAIMED --usercnt == 0: put own ref (T1u)--> XSLOT ... (cancel_and_free: cancel.py) --> IDLE

With irq_work = self_ipi on a non-RT kernel the run waits in RETURN until its irq_work has run
(SchedReturn).
"""

from __future__ import annotations

from typing import Any

from spec.bpf_task_work.model import Model
from spec.kernel import prog
from spec.lang import Step, all_, and_, any_, cites, disabled, not_, over, put, when


def fill(m: Model, s: Any, c: int, o: int, upd: dict) -> dict:
    """The fields (ctx->prog takes the scheduler's prog ref), init_task_work, init_irq_work and
    irq_work_queue on this CPU; bpf_task_work_schedule returns 0 and the run ends."""
    m.touch(s, o, upd)
    if m.cfg["round_prog_ref"]:
        upd["has_prog"] = put(m.cur(s, upd, "has_prog"), o, True)
    else:
        m.prog_put(s, upd)
    upd["has_task"] = put(m.cur(s, upd, "has_task"), o, True)
    m.queue_iw(s, o, c, m.IwFn.IRQ, upd)
    upd["armed"] = put(m.cur(s, upd, "armed"), o, True)
    upd["late"] = put(m.cur(s, upd, "late"), o, s.map_usercnt == 0)
    return m.set_actor(s, c, upd, m.PC.RETURN if m.prompt else m.PC.IDLE)


@cites(
    "V8",
    "a prog run calling bpf_task_work_schedule_signal / _resume (environment)",
    "environment: a run of the attached prog starts on CPU c (an RCU reader: the hook's rcu_read_lock or "
    "rcu_read_lock_trace) and calls the kfunc on value v's bpf_task_work",
    "environment event: the run's code before the kfunc only reads; the kfunc's first shared access is "
    "the next step (SchedIncProg)",
)
def SchedRun(m: Model, s: Any, c: int, v: int) -> Step:
    """A run of the attached prog starts on CPU c (an RCU reader) and calls
    bpf_task_work_schedule on value v's bpf_task_work."""
    g = and_(s.pc[c] == m.PC.IDLE, s.prog_attached)
    upd = m.set_actor(s, c, {}, m.PC.RUN, m.NO_OBJ, v)
    runs = m.cfg["runs"]
    if runs:
        g = and_(g, s.nruns[c] < runs)
        upd["nruns"] = put(s.nruns, c, s.nruns[c] + 1)
    return when(g, **upd)


@cites(
    "K-irqwork",
    "irq_work_queue's self-IPI (arch_irq_work_raise), then bpf_task_work_schedule's return 0",
    "irq_work = self_ipi on a non-RT kernel: bpf_task_work_irq runs in hard-irq on this CPU as soon as "
    "the kfunc's irqs are on, before it returns; then the kfunc returns and the run ends",
    "the return and the run's end touch only this scheduler's own state",
)
def SchedReturn(m: Model, s: Any, c: int) -> Step:
    """irq_work = self_ipi: bpf_task_work_irq ran on c (the self-IPI interrupted the helper
    before it returned); now the helper returns and the prog run ends."""
    raised = any_(s.iw_cpu[o] == c for o in m.Obj)
    g = and_(s.pc[c] == m.PC.RETURN, not_(raised), s.runner[c] == m.RPhase.IDLE)
    return when(g, **m.set_actor(s, c, {}, m.PC.IDLE))


@cites(
    "V8",
    "bpf_task_work_schedule",
    "prog = bpf_prog_inc_not_zero(aux->prog); if (IS_ERR(prog)) return -EBADF; task = "
    "bpf_task_acquire(task) (docs/kernel-facts.md#btw-schedule)",
    "bpf_prog_inc_not_zero is one atomic64_fetch_add_unless; bpf_task_acquire is merged with it and "
    "always succeeds (ABSTRACTIONS: the task_struct's lifetime is not modelled)",
)
def SchedIncProg(m: Model, s: Any, c: int) -> list[Step]:
    """bpf_prog_inc_not_zero(aux->prog) and bpf_task_acquire; failure returns -EBADF before any
    claim (W13)."""
    PC = m.PC
    ok, new = prog.inc_not_zero(s.prog_refcnt)
    nxt = PC.CHECK if m.check == "before" else PC.FETCH
    g = s.pc[c] == PC.RUN
    return [
        when(and_(g, ok), prog_refcnt=new, pc=put(s.pc, c, nxt)),
        when(and_(g, not_(ok)), **m.set_actor(s, c, {}, PC.IDLE)),
    ]


@cites(
    "V8",
    "bpf_task_work_schedule (usercnt_check = before: v4-v6's first check, not in V8)",
    "none in V8: v4-v6's if (!atomic64_read(&map->usercnt)) return -EBUSY before fetch and claim "
    "(docs/second-reading/bpf_task_work.md §0.1-2); on -EBUSY the task and prog references are put",
    "one atomic64_read; the error path's puts are this scheduler's own references (one atomic decrement "
    "of the prog's refcount)",
)
def SchedCheckBefore(m: Model, s: Any, c: int) -> list[Step]:
    """if (!atomic64_read(&map->usercnt)) return -EBUSY (before fetch and claim: v4-v6's first
    check alone)."""
    g = s.pc[c] == m.PC.CHECK
    return [
        when(and_(g, s.map_usercnt == 0), **m.sched_fail(s, c, {})),
        when(and_(g, s.map_usercnt != 0), pc=put(s.pc, c, m.PC.FETCH)),
    ]


@cites(
    "V8",
    "bpf_task_work_fetch_ctx (T0)",
    "ctx = READ_ONCE(twk->ctx); if NULL: bpf_mem_alloc(&bpf_global_ma, ..), memset, "
    "refcount_set(&ctx->refcnt, 1) /* map's own ref */, state = STANDBY, old_ctx = cmpxchg(&twk->ctx, "
    "NULL, ctx) (a loser bpf_mem_frees its own and uses the winner's)",
    "merged: the READ_ONCE, the allocation and the T0 cmpxchg; the loser of T0 frees an object nobody "
    "else saw and continues with the winner's, which reading the slot at the cmpxchg gives "
    "(ABSTRACTIONS); -ENOMEM at any fetch that allocates (alloc_fails) and once the pool is used up; its "
    "error path puts the task and prog references (round5-issue21.md A3)",
)
def SchedFetch(m: Model, s: Any, c: int) -> list[Step]:
    """bpf_task_work_fetch_ctx: READ_ONCE(twk->ctx); if NULL, bpf_mem_alloc a zeroed ctx
    (refcnt 1: the map's ref, STANDBY) and cmpxchg(&twk->ctx, NULL, ctx) (T0)."""
    PC, Mem = m.PC, m.Mem
    g = s.pc[c] == PC.FETCH
    if disabled(g):
        return []
    nxt = PC.REF if not m.round_ref else PC.HELD
    steps = []
    for v in over(s.aval[c], m.Val):
        gv = and_(g, s.aval[c] == v)
        base = {}
        m.orv(s, base, "uaf_map", s.map_freed)
        cur_obj = s.slot[v]
        steps.append(when(and_(gv, cur_obj != m.NO_OBJ), **m.set_actor(s, c, dict(base), nxt, cur_obj, v)))
        empty = and_(gv, cur_obj == m.NO_OBJ)
        objs = [v * m.pool + k for k in range(m.pool)]
        for i, o in enumerate(objs):
            first_unused = and_(s.mem[o] == Mem.UNUSED, *[s.mem[p] != Mem.UNUSED for p in objs[:i]])
            upd = dict(base)
            upd["slot"] = put(s.slot, v, o)
            upd["mem"] = put(s.mem, o, Mem.LIVE)
            upd["st"] = put(s.st, o, m.St.STANDBY)
            upd["ref"] = put(s.ref, o, 1)
            m.set_actor(s, c, upd, nxt, o, v)
            steps.append(when(and_(empty, first_unused), **upd))
        # -ENOMEM: the allocation may fail at any call (alloc_fails), and must once the pool is used up
        exhausted = True if m.cfg["alloc_fails"] else all_(s.mem[o] != Mem.UNUSED for o in objs)
        steps.append(when(and_(empty, exhausted), **m.sched_fail(s, c, dict(base))))
    return steps


@cites(
    "V8",
    "bpf_task_work_acquire_ctx -> bpf_task_work_ctx_tryget",
    "if (!bpf_task_work_ctx_tryget(ctx)) return ERR_PTR(-EBUSY) (refcount_inc_not_zero); on -EBUSY "
    "bpf_task_work_schedule puts the task and prog references",
    "one refcount_inc_not_zero; the error path's puts are this scheduler's own references",
)
def SchedTryget(m: Model, s: Any, c: int) -> list[Step]:
    """bpf_task_work_ctx_tryget: refcount_inc_not_zero (window A: the pointer was read without
    a ref); failure returns -EBUSY."""
    g = s.pc[c] == m.PC.HELD
    if disabled(g):
        return []
    steps = []
    for o in over(s.aobj[c], m.Obj):
        go = and_(g, s.aobj[c] == o)
        ok = m.touch(s, o, {"ref": put(s.ref, o, s.ref[o] + 1), "pc": put(s.pc, c, m.PC.REF)})
        steps.append(when(and_(go, s.ref[o] > 0), **ok))
        steps.append(when(and_(go, s.ref[o] <= 0), **m.sched_fail(s, c, m.touch(s, o, {}))))
    return steps


@cites(
    "V8",
    "bpf_task_work_acquire_ctx (T1)",
    "if (cmpxchg(&ctx->state, BPF_TW_STANDBY, BPF_TW_PENDING) != BPF_TW_STANDBY) { "
    "bpf_task_work_ctx_put(ctx); return ERR_PTR(-EBUSY); } (usercnt_check != after: the fields, "
    "init_task_work, init_irq_work and irq_work_queue of bpf_task_work_schedule follow in the same step, "
    "as at SchedCheckAfter)",
    "one cmpxchg; on failure the put of the own tryget reference is one refcount_dec_and_test, never the "
    "last (the map's reference is held by the slot or by a cancel_and_free that has not put it yet); the "
    "field writes that follow a success are the claimer's alone (ABSTRACTIONS)",
)
def SchedClaim(m: Model, s: Any, c: int) -> list[Step]:
    """T1: cmpxchg(&ctx->state, STANDBY, PENDING). Failure: ctx_put (own ref), -EBUSY."""
    St = m.St
    g = s.pc[c] == m.PC.REF
    if disabled(g):
        return []
    steps = []
    for o in over(s.aobj[c], m.Obj):
        go = and_(g, s.aobj[c] == o)
        ok = m.touch(s, o, {})
        m.set_state(s, o, ok, St.PENDING)
        if m.check == "after":
            ok["pc"] = put(s.pc, c, m.PC.CLAIMED)
        else:
            fill(m, s, c, o, ok)
        steps.append(when(and_(go, s.st[o] == St.STANDBY), **ok))
        fail = m.touch(s, o, {})
        if m.round_ref:
            m.ctx_put(s, o, fail)
        steps.append(when(and_(go, s.st[o] != St.STANDBY), **m.sched_fail(s, c, fail)))
    return steps


@cites(
    "V8",
    "bpf_task_work_acquire_ctx, bpf_task_work_schedule",
    "if (!atomic64_read(&map->usercnt)) { bpf_task_work_ctx_put(ctx); /* transfer map's ref into "
    "cancel_and_free() */ bpf_task_work_cancel_and_free(tw); return ERR_PTR(-EBUSY); } else: "
    "ctx->task/callback_fn/prog/mode/map/map_val = ..; init_task_work(&ctx->work, "
    "bpf_task_work_callback); init_irq_work(&ctx->irq_work, bpf_task_work_irq); "
    "irq_work_queue(&ctx->irq_work); return 0",
    "the usercnt read and what follows are one step: only a close or a reopen changes usercnt, and the "
    "sweep reads neither the fields nor the irq_work of a PENDING ctx; the field writes are the claimer's "
    "alone and nobody reads them before the irq_work runs; init_irq_work's flags = 0 and the claim's "
    "flags |= CLAIMED make any overlapping runner's final cmpxchg fail in both orders (ABSTRACTIONS). On "
    "0: the own put, then cancel_and_free from XSLOT",
)
def SchedCheckAfter(m: Model, s: Any, c: int) -> list[Step]:
    """if (!atomic64_read(&map->usercnt)): put own ref, 'transfer map's ref into
    cancel_and_free()' (T1u); otherwise the fields and irq_work_queue, return 0."""
    g = s.pc[c] == m.PC.CLAIMED
    if disabled(g):
        return []
    steps = []
    for o in over(s.aobj[c], m.Obj):
        go = and_(g, s.aobj[c] == o)
        steps.append(when(and_(go, s.map_usercnt != 0), **fill(m, s, c, o, {})))
        t1u = {}
        if m.round_ref:
            m.ctx_put(s, o, t1u)
        m.set_actor(s, c, t1u, m.PC.XSLOT, m.NO_OBJ, s.aval[c])
        steps.append(when(and_(go, s.map_usercnt == 0), **t1u))
    return steps

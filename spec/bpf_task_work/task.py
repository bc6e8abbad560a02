"""The target task: ``task_work_run`` on its way back to user space (kernel/task_work.c) running
``bpf_task_work_callback`` (kernel/bpf/helpers.c as merged, V8 = 38aa7003e369), and its exit.

TaskWorkTake (task_work_run takes the whole list), CbStart (T5/T6, enter callback_fn), CbEnd
(callback_fn returns, ctx_reset, T7), CbPut (the round's ctx ref); TaskExit (exit_task_work ran the
queued works; later task_work_add fails with -ESRCH).
"""

from __future__ import annotations

from typing import Any

from spec.bpf_task_work.model import Model
from spec.lang import Step, all_, and_, any_, cites, disabled, ite, not_, or_, over, put, when


@cites(
    "K-tw",
    "task_work_run (environment: the target task returns to user space or exits)",
    "the whole task->task_works list taken with one try_cmpxchg (to NULL, or to &work_exited when the "
    "list is empty and PF_EXITING); afterwards task_work_cancel finds none of these works",
    "one try_cmpxchg; the works taken run one per step afterwards, in any order (ABSTRACTIONS: a superset "
    "of the list order)",
)
def TaskWorkTake(m: Model, s: Any) -> Step:
    """The task returns to user space (or enters exit_task_work): task_work_run takes the whole
    list with one xchg; task_work_cancel of these works now fails."""
    Tw = m.Tw
    any_q = any_(s.tw[o] == Tw.QUEUED for o in m.Obj)
    g = and_(any_q, s.cb == m.CB.IDLE, all_(s.tw[o] != Tw.DETACHED for o in m.Obj), m.handlers_quiet(s))
    new = tuple(ite(s.tw[o] == Tw.QUEUED, Tw.DETACHED, s.tw[o]) for o in m.Obj)
    return when(g, tw=new)


@cites(
    "V8",
    "bpf_task_work_callback (T5/T6)",
    "guard(rcu_tasks_trace)(); state = cmpxchg(&ctx->state, BPF_TW_SCHEDULING, BPF_TW_RUNNING); if (state "
    "== BPF_TW_SCHEDULED) state = cmpxchg(&ctx->state, BPF_TW_SCHEDULED, BPF_TW_RUNNING); if (state == "
    "BPF_TW_FREED) { bpf_task_work_ctx_put(ctx); return; } then callback_fn(map, key, map_val) is entered",
    "the two cmpxchg are one step: between them the state can only go SCHEDULED -> FREED, which the "
    "merged step shows by seeing FREED at once (ABSTRACTIONS); the put on FREED is the next step (CbPut)",
)
def CbStart(m: Model, s: Any, o: int) -> list[Step]:
    """bpf_task_work_callback: T5 cmpxchg(SCHEDULING, RUNNING), else T6 cmpxchg(SCHEDULED,
    RUNNING); on success callback_fn(map, key, value) starts; on FREED: ctx_put, return."""
    St, CB = m.St, m.CB
    g = and_(s.tw[o] == m.Tw.DETACHED, s.cb == CB.IDLE)
    if disabled(g):
        return []
    base = m.touch(s, o, {"tw": put(s.tw, o, m.Tw.NONE), "cbobj": o})
    m.end_round(s, o, base)
    ok = or_(s.st[o] == St.SCHEDULING, s.st[o] == St.SCHEDULED)

    def enter(upd: dict) -> dict:
        m.orv(s, upd, "uaf_prog", s.prog_phase == m.Phase.FREED)
        m.orv(s, upd, "uaf_map", s.map_freed)
        upd["cb_ran"] = True
        m.orv(s, upd, "cb_on_freed", s.st[o] == St.FREED)
        m.orv(s, upd, "cb_after_sweep", s.swept)
        m.orv(s, upd, "late_cb", s.late[o])
        upd["cb"] = CB.RUN
        return upd

    run = enter(m.set_state(s, o, dict(base), St.RUNNING))
    steps = [when(and_(g, ok), **run)]
    if m.cfg["cb_freed_check"]:
        skip = dict(base, cb=CB.PUT) if m.round_ref else dict(base, cb=CB.IDLE, cbobj=m.NO_OBJ)
        steps.append(when(and_(g, not_(ok)), **skip))
    else:
        steps.append(when(and_(g, not_(ok)), **enter(dict(base))))
    return steps


@cites(
    "V8",
    "bpf_task_work_callback (T7)",
    "callback_fn returns; bpf_task_work_ctx_reset(ctx); (void)cmpxchg(&ctx->state, BPF_TW_RUNNING, "
    "BPF_TW_STANDBY) (fails harmlessly on FREED)",
    "the reset and T7 are one step: between them nobody reads ctx->task or ctx->prog (ABSTRACTIONS); the "
    "callback's code is one step before them (it only reads its map value)",
)
def CbEnd(m: Model, s: Any) -> list[Step]:
    """callback_fn returns; ctx_reset; (void)cmpxchg(RUNNING, STANDBY) (fails harmlessly on FREED)."""
    St, CB = m.St, m.CB
    g = s.cb == CB.RUN
    if disabled(g):
        return []
    steps = []
    for o in over(s.cbobj, m.Obj):
        upd = m.touch(s, o, {})
        m.orv(s, upd, "uaf_map", s.map_freed)
        m.reset(s, o, upd)
        m.set_state(s, o, upd, ite(s.st[o] == St.RUNNING, St.STANDBY, s.st[o]))
        if m.round_ref:
            upd["cb"] = CB.PUT
        else:
            upd["cb"], upd["cbobj"] = CB.IDLE, m.NO_OBJ
        steps.append(when(and_(g, s.cbobj == o), **upd))
    return steps


@cites(
    "V8",
    "bpf_task_work_callback",
    "bpf_task_work_ctx_put(ctx) (the callback's round reference)",
    "one refcount_dec_and_test; a last put's reset and free touch only this ctx",
)
def CbPut(m: Model, s: Any) -> list[Step]:
    """bpf_task_work_ctx_put: the callback's ref."""
    g = s.cb == m.CB.PUT
    if disabled(g):
        return []
    return [
        when(and_(g, s.cbobj == o), **m.ctx_put(s, o, {"cb": m.CB.IDLE, "cbobj": m.NO_OBJ}))
        for o in over(s.cbobj, m.Obj)
    ]


@cites(
    "K-tw",
    "do_exit -> exit_task_work -> task_work_run (environment: the target task exits)",
    "task_work_run runs every queued work, then installs &work_exited; later task_work_add: if "
    "(unlikely(head == &work_exited)) return -ESRCH",
    "environment event, enabled only with nothing queued (the exit's own run of the queued works is "
    "TaskWorkTake and CbStart first)",
)
def TaskExit(m: Model, s: Any) -> Step:
    """do_exit: exit_task_work has run every queued work; task_work_add now fails (-ESRCH)."""
    idle = and_(s.cb == m.CB.IDLE, all_(s.tw[o] == m.Tw.NONE for o in m.Obj))
    return when(and_(s.task_alive, idle, m.handlers_quiet(s)), task_alive=False)

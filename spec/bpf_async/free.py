"""The deferred frees and the RCU callbacks: the kworker of a punted free (the timer's delete_work of
a6fcd19d7eac, the wq's delete_work), the object's RCU callback (``kfree_rcu`` in the locked design,
the rework's tasks-trace free), and the prog's deferred put and free (kernel/bpf/syscall.c,
kernel/bpf/core.c: ``bpf_prog_put_deferred``, ``bpf_prog_free_deferred`` with the put of used_maps).
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async import rework
from spec.bpf_async.model import Model
from spec.kernel import hrtimer, rcu, workqueue
from spec.lang import Step, and_, any_, cites, not_, put, when


@cites(
    "V24",
    "bpf_timer_delete_work (a6fcd19d7eac); bpf_wq_delete_work",
    "timer: hrtimer_cancel(&t->timer); kfree_rcu(t, cb.rcu) (bpf_timer.md T5d); wq: "
    "cancel_work_sync(&w->work) up to its removal of a pending instance (the wait and kfree_rcu: "
    "DeleteWorkFree)",
    "the kworker's hrtimer_cancel is one step enabled when the callback is not running; cancel_work_sync "
    "is two steps: it removes a pending instance, then waits for the running one (ABSTRACTIONS); "
    "kfree_rcu only queues the grace period",
)
def DeleteWorkRun(m: Model, s: Any, o: int) -> Step:
    """The deferred free's kworker: hrtimer_cancel (waits for the callback) or cancel_work_sync's
    first part (a pending instance removed), then (timer) kfree_rcu."""
    g = s.delwork[o] == m.DelWork.QUEUED
    if m.timer:
        upd = dict(
            delwork=put(s.delwork, o, m.DelWork.NONE), exec_state=put(s.exec_state, o, hrtimer.INACTIVE)
        )
        m.touch_obj(upd, s, o)
        m.kfree(s, o, upd)
        return when(and_(g, hrtimer.cancel_passes(s.running[o], m.NO_CPU)), **upd)
    upd = dict(
        delwork=put(s.delwork, o, m.DelWork.CANCELLED),
        exec_state=put(s.exec_state, o, workqueue.cancel(s.exec_state[o])),
    )
    m.touch_obj(upd, s, o)
    return when(g, **upd)


@cites(
    "V24",
    "kfree_rcu(t, cb.rcu) (0281b919e175): the object's grace period ends",
    "the RCU callback frees the object after the readers in flight at kfree_rcu have finished (K-rcu-doc)",
    "the grace period's end and the free are one event",
)
@cites(
    "R1",
    "bpf_async_cb_rcu_tasks_trace_free -> bpf_async_cb_rcu_free",
    "timer: if (hrtimer_try_to_cancel(&t->timer) < 0) retry = true; wq: if (!cancel_work(&w->work) && "
    "work_busy(&w->work)) retry = true (81502d7f20bf; R0: !cancel_work alone); retry: "
    "call_rcu_tasks_trace again; else bpf_async_cb_rcu_free: if (cb->prog) bpf_prog_put(cb->prog); "
    "kfree_nolock(cb)",
    "the tasks-trace grace period's end and its callback are one step: the callback's cancel never waits, "
    "and at refcount 0 no helper can reach the object; tt_retry = running is a candidate fix, not kernel "
    "code",
)
def ObjectFreed(m: Model, s: Any, o: int) -> Step | list[Step]:
    """The object's RCU callback: kfree_rcu's grace period is over (locked design); R: the
    tasks-trace grace period is over, then bpf_async_cb_rcu_tasks_trace_free re-cancels and either
    retries (another grace period) or puts the prog and frees."""
    waited = rcu.gp_over(s.obj_readers[o])
    if not m.timer:
        waited = and_(waited, not_(any_(s.kw_readers[o])))
    g = and_(s.mem[o] == m.Mem.RCU_WAIT, waited)
    if m.locked:
        upd = dict(mem=put(s.mem, o, m.Mem.FREED))
        return when(g, **upd)
    # R: cancel again, then the retry decision (second reading of bpf_wq, R-tt)
    return rework.tasks_trace_free_steps(m, s, o, g)


@cites(
    "K-syscall",
    "bpf_prog_put_deferred -> __bpf_prog_put_noref (the workqueue a last put with irqs off scheduled)",
    "call_rcu(&prog->aux->rcu, __bpf_prog_put_rcu) (call_rcu_tasks_trace for a sleepable prog)",
    "the kworker's function up to call_rcu touches only the prog whose refcount is 0",
)
def ProgPutDeferred(m: Model, s: Any) -> Step:
    """The workqueue runs bpf_prog_put_deferred (the last put was made with irqs off)."""
    upd = dict(prog_phase=m.Phase.RCU_WAIT)
    m.prog_call_rcu(s, upd, True)
    return when(s.prog_phase == m.Phase.PUT_DEFERRED, **upd)


@cites(
    "K-core",
    "__bpf_prog_put_rcu -> bpf_prog_free -> bpf_prog_free_deferred -> bpf_free_used_maps",
    "after the prog's grace period (K-rcu-doc): bpf_free_used_maps (bpf_map_put of the map: one atomic "
    "decrement of its refcnt), then the prog's free",
    "the grace period's end, the RCU callback and the deferred free touch only the prog and one atomic "
    "decrement of the map's refcnt",
)
def ProgFree(m: Model, s: Any) -> Step:
    """The prog's grace period is over: bpf_prog_free_deferred puts used_maps and frees it."""
    waited = rcu.gp_over(s.prog_readers[0])
    if not m.timer:
        waited = and_(waited, not_(any_(s.prog_kw_readers)))
    return when(
        and_(s.prog_phase == m.Phase.RCU_WAIT, waited), prog_phase=m.Phase.FREED, map_refcnt=s.map_refcnt - 1
    )


@cites(
    "K-htab-update",
    "kernel/bpf/memalloc.c __free_rcu -> free_all (v6.14 and before)",
    "llist_for_each_safe(pos, t, llnode) free_one(pos, percpu); (no c->dtor: the special fields are not "
    "freed again) (round5-issue21.md B2)",
    "the grace period's end and the kfree are one step",
)
def ElemFreed(m: Model, s: Any, e: int) -> Step:
    """A deleted element's grace period is over: its memory is freed."""
    g = and_(s.elem[e] == m.Elem.RCU_WAIT, rcu.gp_over(s.elem_readers[e]))
    return when(g, elem=put(s.elem, e, m.Elem.FREED))

"""The 2026 bpf_async_cb rework (``design = refcnt``; R = kernel/bpf/helpers.c after 1bfbc267ec91
"bpf: Enable bpf_timer and bpf_wq in any context" with 81502d7f20bf and 5000a097f82c; docs/
second-reading/bpf_wq_and_async_cb.md): what the refcnt design does instead of the value's lock.

- ``cb->refcnt``: the map's reference (1 from init) plus one per start in progress and per queued
  command; ``bpf_async_refcount_put`` at zero starts the free (``call_rcu_tasks_trace``, or with irqs
  off through the object's irq_work re-initialised as ``worker_for_call_rcu``).
- the helper calls' rework steps: init's ``cmpxchg(&async->cb, NULL, cb)`` then the usercnt check
  (INIT_CHECK), set_callback's ``READ_ONCE(async->cb)`` then the prog update (SETCB), start's
  ``refcount_inc_not_zero`` then the arming and the put (START_PUT), cancel_and_free's
  ``xchg(&async->cb, NULL)`` then the inline cancel and the map reference's put (CAF_CANCEL).
- hard-irq callers (``irq_callers``): ``bpf_async_schedule_op`` queues a command on the object's
  llist and raises its irq_work; ``bpf_async_irq_worker`` runs the commands (AsyncIrqWork*).
- the tasks-trace free: after the grace period, cancel again and retry while the callback is busy
  (``bpf_async_cb_rcu_tasks_trace_free``).
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async import helpers
from spec.bpf_async.model import CMD_CANCEL, CMD_NONE, CMD_START, IRQ, QUEUE, Model
from spec.kernel import hrtimer, irq_work, llist, workqueue
from spec.lang import Step, and_, cites, disabled, ite, not_, over, put, when

# ------------------------------------------------------------------ the refcount and the deferral


def refcount_put(m: Model, s: Any, o: int, upd: dict, irqs_off: bool = False, c: int | None = None) -> dict:
    """bpf_async_refcount_put: at zero the object's free starts: call_rcu_tasks_trace, or with irqs
    disabled an irq_work (re-initialised to worker_for_call_rcu and queued on this CPU) that issues
    it."""
    Mem = m.Mem
    cur = upd.get("refcnt", s.refcnt)[o]
    new = ite(cur > 0, cur - 1, 0)
    upd["refcnt"] = put(upd.get("refcnt", s.refcnt), o, new)
    zero = cur == 1
    if irqs_off:
        upd["mem"] = put(upd.get("mem", s.mem), o, ite(zero, Mem.TT_DEFER, upd.get("mem", s.mem)[o]))
        flags = upd.get("iw_flags", s.iw_flags)
        upd["iw_flags"] = put(flags, o, ite(zero, 3, flags[o]))  # IRQ_WORK_INIT, then the claim
        cpus = upd.get("iw_cpu", s.iw_cpu)
        upd["iw_cpu"] = put(cpus, o, ite(zero, c, cpus[o]))
        upd["iw_rcu"] = put(upd.get("iw_rcu", s.iw_rcu), o, ite(zero, True, s.iw_rcu[o]))
        return upd
    upd["mem"] = put(upd.get("mem", s.mem), o, ite(zero, Mem.RCU_WAIT, upd.get("mem", s.mem)[o]))
    return m.obj_call_rcu(s, o, upd, zero)


def schedule_op(m: Model, s: Any, o: int, op: int, c: int, upd: dict) -> list[tuple[Any, dict]]:
    """bpf_async_schedule_op from hard-irq on c: a cmd is allocated and llist_add'ed to the
    object's async_cmds; only the add that finds the list empty queues the irq_work (on c). Two
    cases: (allocated, updates) and (-ENOMEM: the reference is put, nothing queued)."""
    q = s.cmds[o]
    was_empty = q[0] == CMD_NONE
    flags, _ = irq_work.claim(s.iw_flags[o])
    added = dict(upd)
    added["cmds"] = put(s.cmds, o, llist.push_front(q, op))
    added["iw_flags"] = put(s.iw_flags, o, ite(was_empty, flags, s.iw_flags[o]))
    queued_on = irq_work.queue_cpu(s.iw_flags[o], s.iw_cpu[o], c)
    added["iw_cpu"] = put(s.iw_cpu, o, ite(was_empty, queued_on, s.iw_cpu[o]))
    # -ENOMEM (kmalloc_nolock fails; here: the queue is full): the caller's reference is dropped
    if "refcnt" in upd:  # a start: its inc and the put on failure cancel out
        nomem = {}
    else:  # a cancel: the map's reference is put (bpf_async_cb_rcu_tasks_trace_free re-cancels)
        nomem = refcount_put(m, s, o, dict(upd), irqs_off=True, c=c)
    if m.kc.rt:
        # PREEMPT_RT: kmalloc_nolock() refuses every allocation in hard-irq, so a hard-irq caller's
        # command always fails: the reference is put here (round4-traces-2.md §1; the January 2026
        # proposal to allow it is not known to be merged)
        return [(True, nomem)]
    full = q[QUEUE - 1] != CMD_NONE
    # kmalloc_nolock may fail at any call (alloc_fails); a full queue stands for the bound
    return [(not_(full), added), (True if m.cfg["alloc_fails"] else full, nomem)]


# ------------------------------------------------------------------ the helper calls' rework steps


def init_cmpxchg_steps(m: Model, s: Any, ok: Any, who: tuple, o: int, published: dict) -> list[Step]:
    """__bpf_async_init: cmpxchg(&async->cb, NULL, cb) with refcnt 1 (the map's); the usercnt check
    follows as a second step (INIT_CHECK)."""
    upd = m.set_who(s, who, m.PC.INIT_CHECK, o)
    upd.update(published, refcnt=put(s.refcnt, o, 1))
    return [when(ok, **upd)]


def init_check_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """R: smp_mb, then if usercnt is 0: bpf_async_cancel_and_free(async) and -EPERM."""
    o_ = m.arg_of(s, who)
    steps = []
    for o in over(o_, m.Obj):
        gi = and_(g, o_ == o)
        steps.append(when(and_(gi, s.map_usercnt > 0), **m.done(s, who, after)))
        e = m.slot_of(o)
        # the cancel_and_free of the same value: whatever is in the slot now
        for st in helpers.caf_steps(m, s, and_(gi, s.map_usercnt == 0), who, e, after):
            steps.append(st)
    return steps


def setcb_finish_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """R: bpf_async_update_prog_callback on the object read before (maybe detached by now)."""
    o_ = m.arg_of(s, who)
    steps = []
    for o in over(o_, m.Obj):
        steps += helpers.install_prog(m, s, and_(g, o_ == o), who, o, after)
    return steps


def start_inc_steps(m: Model, s: Any, gi: Any, who: tuple, o: int, after: dict | None) -> list[Step]:
    """After READ_ONCE(async->cb): refcount_inc_not_zero (-ENOENT at 0), then the start: in
    hard-irq through bpf_async_schedule_op(START), whose command takes the reference; in task
    context hrtimer_start / schedule_work at once, the put at START_PUT."""
    live = s.refcnt[o] > 0 if m.cfg["start_refcnt_check"] else True
    steps = []
    if who[0] == "ctx" and who[2] == IRQ:
        # in hard-irq: inc_not_zero, then bpf_async_schedule_op(START): the ref goes with the cmd
        inc = dict(refcnt=put(s.refcnt, o, s.refcnt[o] + 1))
        for ok, upd in schedule_op(m, s, o, CMD_START, who[1], inc):
            upd.update(m.done(s, who, after))
            m.touch_obj(upd, s, o)
            steps.append(when(and_(gi, live, ok), **upd))
    else:
        upd = m.set_who(s, who, m.PC.START_PUT, o)
        upd.update(
            exec_state=put(s.exec_state, o, m.arm(s.exec_state[o])),
            ran=put(s.ran, o, False),
            refcnt=put(s.refcnt, o, s.refcnt[o] + 1),
        )
        m.touch_obj(upd, s, o)
        steps.append(when(and_(gi, live), **upd))
    if m.cfg["start_refcnt_check"]:
        steps.append(when(and_(gi, not_(live)), **m.done(s, who, after)))  # -ENOENT
    return steps


def start_put_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """The start's reference is put (bpf_async_refcount_put)."""
    o_ = m.arg_of(s, who)
    steps = []
    for o in over(o_, m.Obj):
        upd = refcount_put(m, s, o, m.done(s, who, after))
        steps.append(when(and_(g, o_ == o), **upd))
    return steps


def caf_detached_steps(m: Model, s: Any, gi: Any, who: tuple, o: int, base: dict) -> list[Step]:
    """cancel_and_free after xchg(&async->cb, NULL) (``base``): the prog put at once (R1, 5000a097),
    then the cancel (CAF_CANCEL)."""
    upd = m.set_who(s, who, m.PC.CAF_CANCEL, o)
    upd.update(base)
    if m.cfg["early_prog_put"]:
        # __bpf_prog_put defers a last put made in hard-irq
        m.drop_prog(s, o, upd, irqs_off=who[0] == "ctx" and who[2] == IRQ)
    return [when(gi, **upd)]


def caf_cancel_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """R: bpf_async_process_op(CANCEL) inline: hrtimer_try_to_cancel / cancel_work (neither
    waits), then the map's reference is put."""
    o_ = m.arg_of(s, who)
    steps = []
    if who[0] == "ctx" and who[2] == IRQ:
        for o in over(o_, m.Obj):
            for ok, upd in schedule_op(m, s, o, CMD_CANCEL, who[1], {}):  # the map's ref goes with it
                upd.update(m.done(s, who, after))
                m.touch_obj(upd, s, o)
                steps.append(when(and_(g, o_ == o, ok), **upd))
        return steps
    for o in over(o_, m.Obj):
        upd = m.done(s, who, after)
        if m.timer:
            # try_to_cancel removes an enqueued timer unless its callback runs
            upd["exec_state"] = put(
                s.exec_state, o, ite(s.running[o] == m.NO_CPU, hrtimer.INACTIVE, s.exec_state[o])
            )
        else:
            upd["exec_state"] = put(s.exec_state, o, workqueue.cancel(s.exec_state[o]))
        m.touch_obj(upd, s, o)
        refcount_put(m, s, o, upd)
        steps.append(when(and_(g, o_ == o), **upd))
    return steps


# ------------------------------------------------------------------ the object's irq_work


@cites(
    "K-irqwork",
    "irq_work_single",
    "flags = atomic_read(&work->node.a_flags) & ~IRQ_WORK_PENDING; atomic_set(..); smp_mb(); "
    "work->func(work)",
    "in hard-irq (on PREEMPT_RT the irq_work/%u kthread: IRQ_WORK_INIT is not HARD); a claim between the "
    "read and the set finds PENDING and changes nothing, so they are one step with the func's first step",
)
@cites(
    "R1",
    "bpf_async_irq_worker; worker_for_call_rcu",
    "list = llist_del_all(&cb->async_cmds); list = llist_reverse_order(list); "
    "this_cpu_write(async_cb_running, cb); (re-initialised as worker_for_call_rcu by a last put with irqs "
    "off: call_rcu_tasks_trace(&cb->rcu, bpf_async_cb_rcu_tasks_trace_free) and return)",
    "llist_del_all is one xchg; the reversal touches only the detached chain and the per-CPU write only "
    "this CPU; in hard-irq worker_for_call_rcu's call_rcu_tasks_trace and irq_work_single's final cmpxchg "
    "are merged with it (nobody else touches the object at refcount 0, and the grace period cannot end "
    "inside the handler short of a stall); on PREEMPT_RT the kthread can be preempted between them, so the "
    "cmpxchg is AsyncIrqWorkDone",
)
def AsyncIrqWorkRun(m: Model, s: Any, c: int, o: int) -> list[Step]:
    """The object's irq_work runs in hard-irq on c (PENDING cleared). bpf_async_irq_worker:
    llist_del_all + llist_reverse_order of the commands, async_cb_running = cb. Re-initialised
    as worker_for_call_rcu (the last put was made with irqs off) it issues call_rcu_tasks_trace
    and returns."""
    g = and_(s.iw_cpu[o] == c, s.wk_obj[c] == m.NO_OBJ, s.pc[c][IRQ] == m.PC.IDLE)
    cleared = irq_work.run_start(s.iw_flags[o])
    base = m.touch_obj(dict(iw_cpu=put(s.iw_cpu, o, m.NO_CPU)), s, o)
    if m.kc.rt:
        # the irq_work/%u kthread can be preempted between worker_for_call_rcu's call_rcu_tasks_trace
        # and irq_work_single's final cmpxchg, and is no RCU reader before 91840be8f710: the tail is
        # AsyncIrqWorkDone, with an empty command chain
        rcu_free = dict(
            base,
            iw_flags=put(s.iw_flags, o, cleared),
            seen=put(s.seen, c, cleared),
            wk_obj=put(s.wk_obj, c, o),
            wk_chain=put(s.wk_chain, c, llist.empty(s.wk_chain[c], CMD_NONE)),
            mem=put(s.mem, o, m.Mem.RCU_WAIT),
        )
    else:
        rcu_free = dict(
            base,
            iw_flags=put(s.iw_flags, o, irq_work.run_end(cleared, cleared)),
            mem=put(s.mem, o, m.Mem.RCU_WAIT),
        )
    m.obj_call_rcu(s, o, rcu_free)
    steps = [when(and_(g, s.iw_rcu[o]), **rcu_free)]
    for case, chain in llist.reversed_prefixes(s.cmds[o], CMD_NONE):
        upd = dict(
            base,
            iw_flags=put(s.iw_flags, o, cleared),
            seen=put(s.seen, c, cleared),
            wk_obj=put(s.wk_obj, c, o),
            wk_chain=put(s.wk_chain, c, chain),
            cmds=put(s.cmds, o, llist.empty(s.cmds[o], CMD_NONE)),
        )
        steps.append(when(and_(g, not_(s.iw_rcu[o]), case), **upd))
    return steps


@cites(
    "R1",
    "bpf_async_irq_worker -> bpf_async_process_op, bpf_async_refcount_put",
    "for the oldest command: timer START hrtimer_start, CANCEL hrtimer_try_to_cancel; wq START "
    "schedule_work, CANCEL cancel_work; then bpf_async_refcount_put(cb): if "
    "(!refcount_dec_and_test(&cb->refcnt)) return; if (irqs_disabled()) { cb->worker = "
    "IRQ_WORK_INIT(worker_for_call_rcu); irq_work_queue(&cb->worker); } else call_rcu_tasks_trace(..)",
    "one timer / workqueue operation (none of them waits) and one refcount_dec_and_test; at zero the "
    "re-initialised irq_work's queueing is merged (only this worker holds the object)",
)
def AsyncIrqWorkCommand(m: Model, s: Any, c: int) -> list[Step]:
    """bpf_async_process_op for the oldest command: START arms the timer / queues the work,
    CANCEL is hrtimer_try_to_cancel / cancel_work; then the command's reference is put (irqs
    off: a last put defers the free through the irq_work)."""
    o_ = s.wk_obj[c]
    op = s.wk_chain[c][0]
    g = and_(o_ != m.NO_OBJ, op != CMD_NONE, s.pc[c][IRQ] == m.PC.IDLE)
    if disabled(g):
        return []
    steps = []
    for o in over(o_, m.Obj):
        if m.timer:
            stop = ite(s.running[o] == m.NO_CPU, hrtimer.INACTIVE, s.exec_state[o])
        else:
            stop = workqueue.cancel(s.exec_state[o])
        for code, new in ((CMD_START, m.arm(s.exec_state[o])), (CMD_CANCEL, stop)):
            upd = dict(
                exec_state=put(s.exec_state, o, new),
                wk_chain=put(s.wk_chain, c, llist.pop_front(s.wk_chain[c], CMD_NONE)),
            )
            if code == CMD_START:
                upd["ran"] = put(s.ran, o, False)
            m.touch_obj(upd, s, o)
            refcount_put(m, s, o, upd, irqs_off=not m.kc.rt, c=c)  # RT: a thread, irqs on
            steps.append(when(and_(g, o_ == o, op == code), **upd))
    return steps


@cites(
    "R1",
    "bpf_async_irq_worker",
    "this_cpu_write(async_cb_running, NULL) after the last command; then irq_work_single's "
    "(void)atomic_cmpxchg(&work->node.a_flags, flags, flags & ~IRQ_WORK_BUSY) (K-irqwork)",
    "the per-CPU write is seen only by this CPU; the final cmpxchg is one atomic operation",
)
def AsyncIrqWorkDone(m: Model, s: Any, c: int) -> list[Step]:
    """The worker returns: async_cb_running = NULL; irq_work_single's final cmpxchg on BUSY."""
    o_ = s.wk_obj[c]
    g = and_(o_ != m.NO_OBJ, s.wk_chain[c][0] == CMD_NONE, s.pc[c][IRQ] == m.PC.IDLE)
    if disabled(g):
        return []
    steps = []
    for o in over(o_, m.Obj):
        upd = dict(
            iw_flags=put(s.iw_flags, o, irq_work.run_end(s.iw_flags[o], s.seen[c])),
            wk_obj=put(s.wk_obj, c, m.NO_OBJ),
            seen=put(s.seen, c, 0),
        )
        m.touch_obj(upd, s, o)
        steps.append(when(and_(g, o_ == o), **upd))
    return steps


# ------------------------------------------------------------------ the tasks-trace free


def tasks_trace_free_steps(m: Model, s: Any, o: int, g: Any) -> list[Step]:
    """bpf_async_cb_rcu_tasks_trace_free after its grace period: cancel again, then either retry
    (another grace period) or put the prog and free (second reading of bpf_wq, R-tt)."""
    mode = m.cfg["tt_retry"]
    if m.timer:
        # hrtimer_try_to_cancel() < 0: the callback runs (an enqueued timer is then left alone)
        cancelled = ite(s.running[o] == m.NO_CPU, hrtimer.INACTIVE, s.exec_state[o])
        retry = s.running[o] != m.NO_CPU if mode != "none" else False
    else:
        st = s.exec_state[o]
        cancelled = workqueue.cancel(st)
        pending, running = workqueue.is_pending(st), workqueue.is_running(st)
        retry = {
            "busy": and_(not_(pending), running),  # R1: !cancel_work() && work_busy()
            "not_cancelled": not_(pending),  # R0: !cancel_work()
            "running": running,  # not in the kernel: retry while any instance runs
            "none": False,
        }[mode]
    again = m.obj_call_rcu(s, o, dict(exec_state=put(s.exec_state, o, cancelled)))
    free = dict(exec_state=put(s.exec_state, o, cancelled), mem=put(s.mem, o, m.Mem.FREED))
    m.drop_prog(s, o, free, irqs_off=False)
    return [when(and_(g, retry), **again), when(and_(g, not_(retry)), **free)]

"""bpf_wq (kernel/bpf/helpers.c, W = bpf_wq of 2024 as in v6.12; kernel/workqueue.c): what only the
wq has.

- ``bpf_wq_cancel_and_free``'s part after the detach in the locked design: the free punted to the
  wq's ``delete_work`` (whose kworker runs ``cancel_work_sync`` and ``kfree_rcu``: ``DeleteWorkRun``
  in free.py, then ``DeleteWorkFree``), or (``wq_delete = inline``) ``cancel_work_sync`` inline.
- the work's kworker (``process_one_work`` running ``bpf_wq_work``): it takes the work, reads
  ``callback_fn``, enters ``rcu_read_lock_trace`` and runs the prog's code with its one helper call,
  returns.
- which grace period waits for a wq callback: a tasks-trace one while it is inside its
  ``rcu_read_lock_trace`` section; on a non-preemptible kernel a classic one between its dequeue and
  that section (``end_kworker_readers``).

bpf_wq exposes no cancel to progs; its init, set_callback and start are shared with the timer
(helpers.py).
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async import helpers
from spec.bpf_async.model import Model, kworker_reads
from spec.kernel import kconfig, workqueue
from spec.lang import Step, and_, cites, disabled, not_, put, when

# ------------------------------------------------------------------ bpf_wq_cancel_and_free


def caf_detached_steps(
    m: Model, s: Any, gi: Any, who: tuple, o: int, base: dict, after: dict | None
) -> list[Step]:
    """bpf_wq_cancel_and_free after the detach under the lock (``base``): queue the delete_work
    (W), or cancel_work_sync inline (its first part now, the wait at CAF_WAIT)."""
    if m.cfg["wq_delete"] == "deferred":
        upd = m.done(s, who, after)
        upd.update(base)
        upd["delwork"] = put(s.delwork, o, m.DelWork.QUEUED)
    else:
        upd = m.set_who(s, who, m.PC.CAF_WAIT, o)
        upd.update(base)
        upd["exec_state"] = put(s.exec_state, o, workqueue.cancel(s.exec_state[o]))
    return [when(gi, **upd)]


@cites(
    "V24",
    "bpf_wq_delete_work",
    "cancel_work_sync(&w->work) returns (no instance runs); kfree_rcu(w, cb.rcu)",
    "cancel_work_sync's wait is one step enabled when the work is not running (K-wq __flush_work); "
    "kfree_rcu only queues the grace period (its readers are fixed at this step)",
)
def DeleteWorkFree(m: Model, s: Any, o: int) -> Step:
    """bpf_wq_delete_work: cancel_work_sync returns (no instance runs), then kfree_rcu."""
    g = and_(s.delwork[o] == m.DelWork.CANCELLED, not_(workqueue.is_running(s.exec_state[o])))
    upd = dict(delwork=put(s.delwork, o, m.DelWork.NONE), exec_state=put(s.exec_state, o, workqueue.IDLE))
    m.touch_obj(upd, s, o)
    m.kfree(s, o, upd)
    return when(g, **upd)


# ------------------------------------------------------------------ the work's kworker


@cites(
    "K-wq",
    "process_one_work",
    "set_work_pool_and_clear_pending(work, ..) before the function is called (a queue during the run "
    "succeeds: RUNNING_PENDING)",
    "under the pool lock: one step",
)
def WorkStart(m: Model, s: Any, o: int) -> Step:
    """A kworker takes the work off the pool's list (process_one_work: PENDING cleared)."""
    g = and_(s.exec_state[o] == workqueue.PENDING, s.wphase[o] == m.WPhase.IDLE)
    return when(
        g,
        exec_state=put(s.exec_state, o, workqueue.RUNNING),
        wphase=put(s.wphase, o, m.WPhase.DEQUEUED),
        ran=put(s.ran, o, True),
    )


@cites(
    "V24",
    "bpf_wq_work",
    "callback_fn = READ_ONCE(cb->callback_fn); if (!callback_fn) return; (the key computed from cb->map "
    "and cb->value)",
    "the reads of the object are one step: only the read of callback_fn races with a drop under the lock; "
    "a NULL one returns and the worker marks the work done in the same step (after the function returns "
    "the worker does not touch the work)",
)
def WorkReadCallback(m: Model, s: Any, o: int) -> list[Step]:
    """bpf_wq_work reads cb->map, value and callback_fn (a NULL one: returns)."""
    g = s.wphase[o] == m.WPhase.DEQUEUED
    fin = dict(
        wphase=put(s.wphase, o, m.WPhase.IDLE),
        exec_state=put(s.exec_state, o, workqueue.finish(s.exec_state[o])),
    )
    m.touch_obj(fin, s, o)
    read = m.touch_obj(dict(wphase=put(s.wphase, o, m.WPhase.FN_READ)), s, o)
    return [when(and_(g, s.has_prog[o]), **read), when(and_(g, not_(s.has_prog[o])), **fin)]


@cites(
    "V24",
    "bpf_wq_work (dc92febf7b93)",
    "rcu_read_lock_trace(); migrate_disable(); callback_fn(cb->map, key, cb->value); with a callback "
    "workload its one helper call's first step (the ProgCall citations)",
    "entering the tasks-trace section and the callback's code before its helper call only change this "
    "kworker's state and read its map value: one step with the call's first step",
)
def WorkCallback(m: Model, s: Any, o: int) -> Step | list[Step]:
    """rcu_read_lock_trace(); migrate_disable(); callback_fn(map, key, value): the prog's code
    runs and makes its one helper call (if any)."""
    g = s.wphase[o] == m.WPhase.FN_READ
    upd = m.run_prog_code(dict(wphase=put(s.wphase, o, m.WPhase.IN_OP)), s)
    calls = m.callback_calls(m.slot_of(o))  # a wq callback makes at most one (no "mixed" for wq)
    if not calls:
        return when(g, **upd)
    [(op, e)] = calls
    return [
        st._replace(updates={**upd, **st.updates})
        for st in helpers.first_steps(m, s, g, ("kw", o), op, e, None)
    ]


@cites(
    "V24",
    "bpf_wq_work (the callback's helper call goes on)",
    "the later steps of the callback's helper call (the ProgHelperStep citations)",
    "as at ProgHelperStep",
)
def WorkHelperStep(m: Model, s: Any, o: int) -> list[Step]:
    g = and_(s.wphase[o] == m.WPhase.IN_OP, s.wpc[o] != m.PC.IDLE)
    if disabled(g):
        return []
    return helpers.continue_steps(m, s, g, ("kw", o), None)


@cites(
    "V24",
    "bpf_wq_work; process_one_work",
    "migrate_enable(); rcu_read_unlock_trace(); the function returns; the worker marks the work done ('we "
    "must be careful to not use work after this', K-wq)",
    "the unlock and the worker's bookkeeping touch only this kworker's state and the pool (under its "
    "lock); the worker does not touch the work after the function returned",
)
def WorkReturn(m: Model, s: Any, o: int) -> Step:
    """The callback returns; rcu_read_unlock_trace; the worker marks the work done."""
    g = and_(s.wphase[o] == m.WPhase.IN_OP, s.wpc[o] == m.PC.IDLE)
    # the worker does not touch the work after its function returns (a work may free itself)
    upd = dict(
        wphase=put(s.wphase, o, m.WPhase.IDLE),
        exec_state=put(s.exec_state, o, workqueue.finish(s.exec_state[o])),
    )
    return when(g, **upd)


# ------------------------------------------------------------------ wq callbacks as RCU readers


def end_kworker_readers(
    fn: Any, nobj: int, obj_flavour: str, prog_flavour: str, kc: kconfig.KernelConfig
) -> Any:
    """A wq callback leaves a pending grace period's readers when it stops being a reader of that
    grace period's flavour (a step that moves its kworker on)."""

    def wrapped(s: Any, **args: Any) -> Any:
        r = fn(s, **args)
        one = isinstance(r, Step)
        out = []
        for st in [r] if one else r:
            upd = st.updates
            if "wphase" not in upd:
                out.append(st)
                continue
            ph = upd["wphase"]
            obj_still = [kworker_reads(ph[k], obj_flavour, kc) for k in range(nobj)]
            prog_still = [kworker_reads(ph[k], prog_flavour, kc) for k in range(nobj)]
            new = dict(upd)
            kw = upd.get("kw_readers", s.kw_readers)
            new["kw_readers"] = tuple(
                tuple(and_(kw[a][k], obj_still[k]) for k in range(nobj)) for a in range(nobj)
            )
            pk = upd.get("prog_kw_readers", s.prog_kw_readers)
            new["prog_kw_readers"] = tuple(and_(pk[k], prog_still[k]) for k in range(nobj))
            out.append(st._replace(updates=new))
        return out[0] if one else out

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped

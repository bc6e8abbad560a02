"""bpf_timer (kernel/bpf/helpers.c, V24 = v6.12 with its 2023-24 fixes; V21 = v5.15 where a switch
says so): what only the timer has.

- ``bpf_timer_cancel`` (the prog's and the callback's helper), as the kernel orders it: the value's
  lock, ``t = timer->timer``, ``cur_t = this_cpu_read(hrtimer_running)`` and -EDEADLK if it is ``t``,
  ``atomic_inc(&t->cancelling)`` inside a callback (CANCEL_INC, the lock held), the read of the
  caller's own counter (-EDEADLK: CANCEL_DEC), ``drop_prog_refcnt``, the unlock, ``hrtimer_cancel``
  (CANCEL_WAIT) and the ``atomic_dec``. The rework's cancel is the same without the lock.
- ``bpf_timer_cancel_and_free``'s part after the detach in the locked design: the deferral to a
  kworker inside a callback (a6fcd19d7eac), V21's skip of the own timer, or the inline wait.
- the hrtimer side (kernel/time/hrtimer.c ``__run_hrtimer``, helpers.c ``bpf_timer_cb``): expiry on
  some CPU's softirq, the callback reading ``callback_fn``, its body (the prog's code and its one
  helper call), its return.

The init, set_callback, start and the detach of cancel_and_free are shared with bpf_wq (helpers.py).
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async import helpers
from spec.bpf_async.model import IRQ, SOFTIRQ, Model
from spec.kernel import hrtimer
from spec.lang import Step, and_, any_, cites, disabled, ite, not_, over, put, when

# ------------------------------------------------------------------ bpf_timer_cancel


def cancel_steps(m: Model, s: Any, g: Any, who: tuple, e: int, after: dict | None) -> list[Step]:
    """bpf_timer_cancel (v6.12), to its first write another CPU can see: rcu_read_lock, the value's
    lock, t = timer->timer (-EINVAL if NULL), cur_t = this_cpu_read(hrtimer_running); cur_t == t:
    -EDEADLK; outside a callback (cur_t NULL) drop_prog_refcnt, unlock, on to hrtimer_cancel;
    inside one atomic_inc(&t->cancelling), the lock still held (CANCEL_INC). The rework's cancel is
    the same without the lock."""
    c, lv = who[1], who[2]
    if lv == IRQ:
        return [when(g, **m.done(s, who, after))]  # R: -EOPNOTSUPP where it would have to defer
    cur = s.slot[e]
    g = and_(g, m.lock_free(s, e))
    steps = [when(and_(g, cur == m.NO_OBJ), **m.done(s, who, after))]
    here = m.hrtimer_running(s, c, lv)
    for o in over(cur, m.Obj):
        gi = and_(g, cur == o)
        self_dl = here == o if m.cfg["self_cancel_check"] else False
        steps.append(when(and_(gi, self_dl), **m.done(s, who, after)))  # -EDEADLK, ref kept
        gi = and_(gi, not_(self_dl))
        if m.cfg["cancelling_counter"] and lv == SOFTIRQ:
            upd = m.set_ctx(s, c, lv, m.PC.CANCEL_INC, o, inc=True)
            upd["cancelling"] = put(s.cancelling, o, s.cancelling[o] + 1)
        else:
            upd = m.set_ctx(s, c, lv, m.PC.CANCEL_WAIT, o)
            m.drop_prog(s, o, upd, irqs_off=m.locked)  # under bpf_spin_lock_irqsave in the locked design
        steps.append(when(gi, **upd))
    return steps


def cancel_inc_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """smp_mb__after_atomic, then atomic_read(&cur_t->cancelling), which counts the caller's own
    increment when t == cur_t: a callback cancelling ours (or ours itself) -> -EDEADLK, unlock, and
    the decrement follows (CANCEL_DEC); else drop_prog_refcnt, unlock, on to hrtimer_cancel."""
    c, lv = who[1], who[2]
    o_ = s.arg[c][lv]
    here = s.cb_obj[c]  # cur_t: only a callback increments
    mutual = any_(and_(here == x, s.cancelling[x] > 0) for x in m.Obj)
    steps = []
    for o in over(o_, m.Obj):
        gi = and_(g, o_ == o)
        steps.append(when(and_(gi, mutual), **m.set_ctx(s, c, lv, m.PC.CANCEL_DEC, o, inc=True)))
        upd = m.set_ctx(s, c, lv, m.PC.CANCEL_WAIT, o, inc=True)
        m.drop_prog(s, o, upd, irqs_off=m.locked)
        m.touch_obj(upd, s, o)
        steps.append(when(and_(gi, not_(mutual)), **upd))
    return steps


def cancel_dec_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """The -EDEADLK path after the unlock: atomic_dec(&t->cancelling), rcu_read_unlock, return."""
    c, lv = who[1], who[2]
    o_ = s.arg[c][lv]
    steps = []
    for o in over(o_, m.Obj):
        upd = m.done(s, who, after)
        upd["cancelling"] = put(s.cancelling, o, s.cancelling[o] - 1)
        m.touch_obj(upd, s, o)
        steps.append(when(and_(g, o_ == o), **upd))
    return steps


def cancel_wait_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """hrtimer_cancel: waits while the callback runs; then the cancelling counter is decremented."""
    c, lv = who[1], who[2]
    o_ = s.arg[c][lv]
    steps = []
    for o in over(o_, m.Obj):
        upd = m.done(s, who, after)
        upd["exec_state"] = put(s.exec_state, o, hrtimer.INACTIVE)
        if m.cfg["cancelling_counter"]:
            upd["cancelling"] = put(s.cancelling, o, ite(s.inc[c][lv], s.cancelling[o] - 1, s.cancelling[o]))
        # with kfree_rcu the caller holds rcu_read_lock across the wait (0281b919e175), which
        # the model has by counting the whole helper call as a read-side section
        m.touch_obj(upd, s, o)
        steps.append(when(and_(g, o_ == o, hrtimer.cancel_passes(s.running[o], m.NO_CPU)), **upd))
    return steps


# ------------------------------------------------------------------ bpf_timer_cancel_and_free


def caf_detached_steps(
    m: Model, s: Any, gi: Any, who: tuple, o: int, base: dict, in_cb: Any, after: dict | None
) -> list[Step]:
    """bpf_timer_cancel_and_free after the detach under the lock (``base``: the slot cleared and the
    prog dropped): inside a timer callback the free is punted to a kworker (a6fcd19d7eac, V24) or,
    in V21, the own timer is freed without hrtimer_cancel; otherwise hrtimer_cancel (CAF_WAIT)."""
    steps = []
    mode = m.cfg["free_in_callback"]
    if mode == "skip_own":
        # V21: its own timer is freed at once, without hrtimer_cancel ("bpf_timer_cb()
        # read everything it needed from 't'")
        own = in_cb == o
        upd = m.done(s, who, after)
        upd.update(base)
        m.kfree(s, o, upd)
        steps.append(when(and_(gi, own), **upd))
        gi = and_(gi, not_(own))
    if mode == "defer":
        # a6fcd19d7eac: inside any timer callback on this CPU, punt to a kworker
        deferred = in_cb != m.NO_OBJ
        upd = m.done(s, who, after)
        upd.update(base)
        upd["delwork"] = put(s.delwork, o, m.DelWork.QUEUED)
        steps.append(when(and_(gi, deferred), **upd))
        gi = and_(gi, not_(deferred))
    upd = m.set_who(s, who, m.PC.CAF_WAIT, o)
    upd.update(base)
    steps.append(when(gi, **upd))
    return steps


# ------------------------------------------------------------------ the hrtimer and bpf_timer_cb


@cites(
    "K-hrtimer",
    "__run_hrtimer (from hrtimer_run_softirq, HRTIMER_SOFTIRQ)",
    "under cpu_base->lock: base->running = timer; __remove_hrtimer(timer, base, HRTIMER_STATE_INACTIVE, "
    "0); unlock (docs/second-reading/bpf_timer.md §1.2 T6 steps 1-2)",
    "under the hrtimer base lock with irqs off: one step; the expiry may happen on any CPU (a non-pinned "
    "timer migrates) and never overlaps the timer's running callback (a running timer stays on its base, "
    "switch_hrtimer_base)",
)
def TimerExpire(m: Model, s: Any, c: int, o: int) -> Step:
    """__run_hrtimer on c: base->running = timer, the timer leaves the queue (INACTIVE)."""
    g = and_(
        hrtimer.can_expire(s.exec_state[o], s.running[o], m.NO_CPU),
        s.cb_phase[c] == m.CbPhase.IDLE,
        m.can_step(s, c, SOFTIRQ),
    )
    return when(
        g,
        exec_state=put(s.exec_state, o, hrtimer.INACTIVE),
        running=put(s.running, o, c),
        cb_obj=put(s.cb_obj, c, o),
        cb_phase=put(s.cb_phase, c, m.CbPhase.DEQUEUED),
        ran=put(s.ran, o, True),
    )


def ret_updates(m: Model, s: Any, c: int, o: int, upd: dict) -> dict:
    """The callback returns: hrtimer_running and base->running cleared."""
    upd = dict(upd)
    upd["cb_phase"] = put(s.cb_phase, c, m.CbPhase.IDLE)
    upd["cb_obj"] = put(s.cb_obj, c, m.NO_OBJ)
    upd["running"] = put(s.running, o, m.NO_CPU)
    if m.max_callback_calls > 1:
        upd["cb_next"] = put(s.cb_next, c, 0)
    return upd


@cites(
    "V24",
    "bpf_timer_cb",
    "map = t->cb.map; value = t->cb.value; callback_fn = rcu_dereference_check(t->cb.callback_fn, "
    "rcu_read_lock_bh_held()); if (!callback_fn) goto out (return HRTIMER_NORESTART without setting "
    "hrtimer_running); else this_cpu_write(hrtimer_running, t)",
    "the reads of the object and the one read of callback_fn are one step (only the read of callback_fn "
    "races with a drop under the lock); the per-CPU write is seen only by this CPU; on NULL the return "
    "and __run_hrtimer's base->running = NULL are merged (as ret_updates)",
)
def TimerCallbackStart(m: Model, s: Any, c: int) -> list[Step]:
    """bpf_timer_cb reads t->cb.map, value and callback_fn (a NULL one returns
    HRTIMER_NORESTART at once), then sets hrtimer_running = t and calls callback_fn."""
    o_ = s.cb_obj[c]
    g = and_(s.cb_phase[c] == m.CbPhase.DEQUEUED, m.can_step(s, c, SOFTIRQ))
    if disabled(g):
        return []
    steps = []
    for o in over(o_, m.Obj):
        gi = and_(g, o_ == o)
        body = m.touch_obj(dict(cb_phase=put(s.cb_phase, c, m.CbPhase.BODY)), s, o)
        steps.append(when(and_(gi, s.has_prog[o]), **body))
        steps.append(when(and_(gi, not_(s.has_prog[o])), **m.touch_obj(ret_updates(m, s, c, o, {}), s, o)))
    return steps


@cites(
    "V24",
    "bpf_timer_cb -> callback_fn(map, key, value, 0, 0)",
    "the prog's code runs on its map value; with a callback workload its one helper call's first step "
    "(the ProgCall citations); a callback without one returns: this_cpu_write(hrtimer_running, NULL); "
    "return HRTIMER_NORESTART; __run_hrtimer: base->running = NULL (K-hrtimer)",
    "the callback's code only reads its map value before its helper call, so the code and the call's "
    "first step are one step; softirq runs with BH disabled, so no other softirq on this CPU interleaves",
)
def TimerCallbackBody(m: Model, s: Any, c: int) -> list[Step]:
    """callback_fn(map, key, value): the prog's code runs, then its next helper call (if any); after
    a call that is not the last the callback goes on running its code (BODY) to the next."""
    o_ = s.cb_obj[c]
    g = and_(s.cb_phase[c] == m.CbPhase.BODY, m.can_step(s, c, SOFTIRQ))
    if disabled(g):
        return []
    steps = []
    for o in over(o_, m.Obj):
        gi = and_(g, o_ == o)
        upd = m.run_prog_code(dict(cb_phase=put(s.cb_phase, c, m.CbPhase.IN_OP)), s, m.slot_of(o))
        calls = m.callback_calls(m.slot_of(o))
        if not calls:
            steps.append(when(gi, **ret_updates(m, s, c, o, upd)))
            continue
        who = ("ctx", c, SOFTIRQ)
        for k, (op, e) in enumerate(calls):
            gk = and_(gi, s.cb_next[c] == k) if m.max_callback_calls > 1 else gi
            if k + 1 < len(calls):  # the callback goes on after this call returns
                after = {"cb_phase": put(s.cb_phase, c, m.CbPhase.BODY), "cb_next": put(s.cb_next, c, k + 1)}
            else:
                after = ret_updates(m, s, c, o, {})
            for st in helpers.first_steps(m, s, gk, who, op, e, after):
                # a helper that returns at once carries the return's updates (cb_phase IDLE or BODY)
                steps.append(st._replace(updates={**upd, **st.updates}))
    return steps


@cites(
    "K-lru",
    "the callback's map_delete_elem: bpf_lru_push_free -> bpf_lru_list_push_free (map = lru)",
    "raw_spin_lock_irqsave(&l->lock, flags); ... raw_spin_unlock_irqrestore(&l->lock, flags); "
    "(round8-b3.md §4-5)",
    "as at ProgHelperStep: one locked step, no step while the eviction holds the lock",
)
@cites(
    "V24",
    "bpf_timer_cb (the callback's helper call goes on)",
    "the later steps of the callback's helper call (the ProgHelperStep citations); when it returns the "
    "callback returns (hrtimer_running = NULL; base->running = NULL)",
    "as at ProgHelperStep; the callback's return after its helper returned touches only this CPU's "
    "hrtimer_running and the base's running pointer (under the base lock)",
)
def TimerCallbackHelperStep(m: Model, s: Any, c: int) -> list[Step]:
    """The callback's helper call goes on; when it returns, the callback returns."""
    o_ = s.cb_obj[c]
    g = and_(s.cb_phase[c] == m.CbPhase.IN_OP, s.pc[c][SOFTIRQ] != m.PC.IDLE, m.can_step(s, c, SOFTIRQ))
    if disabled(g):
        return []
    steps = []
    for o in over(o_, m.Obj):
        who = ("ctx", c, SOFTIRQ)
        steps += helpers.continue_steps(m, s, and_(g, o_ == o), who, ret_updates(m, s, c, o, {}))
    return steps

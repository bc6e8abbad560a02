"""The BPF helpers on a bpf_timer or bpf_wq, as a prog run (or a callback) calls them
(kernel/bpf/helpers.c: ``__bpf_async_init``, ``__bpf_async_set_callback``, ``bpf_timer_start`` /
``bpf_wq_start``, ``bpf_timer_cancel``, ``bpf_timer_cancel_and_free`` / ``bpf_wq_cancel_and_free``),
and the prog runs that make the calls.

A helper call is made by ``who``: a context ("ctx", c, lv) (a prog run at TASK or, with hard-irq
callers, IRQ level, or a timer callback at SOFTIRQ) or a wq callback's kworker ("kw", o). Its first
step is ``first_steps`` (by the operation); each later step is ``continue_steps`` (by the caller's
pc). This file has the code bpf_timer and bpf_wq share in the locked design (V24/W: every section
under the map value's ``bpf_spin_lock`` with irqs off, one step each); where the rework or one kind
differs, the step is in ``rework.py``, ``timer.py`` or ``wq.py``.
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async import rework, timer, wq
from spec.bpf_async.model import IRQ, TASK, Model
from spec.kernel import hrtimer, workqueue
from spec.lang import Step, and_, disabled, ite, not_, or_, over, put, when

# ------------------------------------------------------------------ init


def init_steps(m: Model, s: Any, g: Any, who: tuple, e: int, after: dict | None) -> list[Step]:
    """bpf_timer_init / bpf_wq_init (__bpf_async_init). Locked design: under the value's lock,
    timer->timer read (-EBUSY if set), the object allocated and published, usercnt read (where the
    switch puts it). R: cmpxchg(&async->cb, NULL, cb) with refcnt 1, then smp_mb and the usercnt
    read as a second step (INIT_CHECK)."""
    Mem = m.Mem
    cur = s.slot[e]
    g = and_(g, m.lock_free(s, e))
    steps = []
    for can, o in m.new_obj(s, e):
        ok = and_(g, cur == m.NO_OBJ, can)
        published = dict(
            slot=put(s.slot, e, o), mem=put(s.mem, o, Mem.LIVE), inits=put(s.inits, e, s.inits[e] + 1)
        )
        if not m.locked:
            steps += rework.init_cmpxchg_steps(m, s, ok, who, o, published)
            continue
        check = m.cfg["init_usercnt_check"]
        alive = s.map_usercnt > 0
        if check == "none":
            steps.append(when(ok, **m.done(s, who, after), **published))
        elif check == "after_publish":
            # fd381ce60a2d: publish, smp_mb, read usercnt, all under the lock; on 0 the timer is
            # unpublished and kfree'd (-EPERM). A sweep's lockless read that sees the object in
            # between then waits for the lock and finds the slot empty again: the section is
            # one step for every observer.
            steps.append(when(and_(ok, alive), **m.done(s, who, after), **published))
            steps.append(when(and_(ok, not_(alive)), **m.done(s, who, after)))  # -EPERM, kfree
        else:
            # V21: usercnt is read under the lock before the publish; the lock is held across
            # both (INIT_CHECK holds it), but the sweep's lockless READ_ONCE(timer->timer) can
            # pass in between and see NULL.
            steps.append(when(and_(ok, alive), **m.set_who(s, who, m.PC.INIT_CHECK, o)))
            steps.append(when(and_(ok, not_(alive)), **m.done(s, who, after)))  # -EPERM
    steps.append(when(and_(g, cur != m.NO_OBJ), **m.done(s, who, after)))  # -EBUSY
    return steps


def init_publish_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """V21: timer->timer = t, then the unlock (the lock was held since the usercnt read, so the slot
    is still empty and the object is still the value's next one)."""
    o_ = m.arg_of(s, who)
    steps = []
    for o in over(o_, m.Obj):
        e = m.slot_of(o)
        upd = m.done(s, who, after)
        upd.update(
            slot=put(s.slot, e, o), mem=put(s.mem, o, m.Mem.LIVE), inits=put(s.inits, e, s.inits[e] + 1)
        )
        steps.append(when(and_(g, o_ == o), **upd))
    return steps


# ------------------------------------------------------------------ set_callback


def install_prog(
    m: Model, s: Any, g: Any, who: tuple, o: int, after: dict | None, perm: Any = True
) -> list[Step]:
    """set_callback on object o: bpf_prog_inc_not_zero unless o already holds the prog, then
    cb->prog and callback_fn set; -EPERM without ``perm``, -ENOENT if the count was 0."""
    ok = and_(perm, or_(s.has_prog[o], s.prog_refcnt > 0))
    upd = m.done(s, who, after)
    upd.update(has_prog=put(s.has_prog, o, True))
    upd["prog_refcnt"] = ite(s.has_prog[o], s.prog_refcnt, s.prog_refcnt + 1)
    m.touch_obj(upd, s, o)
    return [when(and_(g, ok), **upd), when(and_(g, not_(ok)), **m.done(s, who, after))]


def set_callback_steps(m: Model, s: Any, g: Any, who: tuple, e: int, after: dict | None) -> list[Step]:
    """bpf_timer_set_callback / bpf_wq_set_callback (__bpf_async_set_callback). Locked design: under
    the value's lock, -EINVAL without an object, -EPERM without user references, then the prog
    installed: one step. R: READ_ONCE(async->cb), then the prog update (SETCB)."""
    cur = s.slot[e]
    g = and_(g, m.lock_free(s, e)) if m.locked else g
    steps = [when(and_(g, cur == m.NO_OBJ), **m.done(s, who, after))]  # -EINVAL
    perm = s.map_usercnt > 0 if (m.locked and m.cfg["set_callback_usercnt_check"]) else True
    for o in over(cur, m.Obj):
        gi = and_(g, cur == o)
        if m.locked:
            steps += install_prog(m, s, gi, who, o, after, perm)  # under the lock: one step
        else:
            steps.append(when(gi, **m.set_who(s, who, m.PC.SETCB, o)))  # READ_ONCE(async->cb)
    return steps


# ------------------------------------------------------------------ start


def start_steps(m: Model, s: Any, g: Any, who: tuple, e: int, after: dict | None) -> list[Step]:
    """bpf_timer_start / bpf_wq_start, first step. bpf_timer_start (locked): under the value's lock,
    -EINVAL without an object or a callback, else hrtimer_start: one step. bpf_wq_start (W) and R:
    the lockless READ_ONCE of the object, the start at START_SCHED."""
    cur = s.slot[e]
    locked_timer = m.locked and m.timer
    g = and_(g, m.lock_free(s, e)) if locked_timer else g  # bpf_wq_start takes no lock
    steps = [when(and_(g, cur == m.NO_OBJ), **m.done(s, who, after))]
    for o in over(cur, m.Obj):
        gi = and_(g, cur == o)
        steps.append(when(and_(gi, not_(s.has_prog[o])), **m.done(s, who, after)))  # -EINVAL
        ok = and_(gi, s.has_prog[o])
        if locked_timer:
            upd = m.done(s, who, after)
            upd.update(exec_state=put(s.exec_state, o, hrtimer.ENQUEUED), ran=put(s.ran, o, False))
            steps.append(when(ok, **upd))
        else:
            # W: lockless READ_ONCE, then schedule_work; R: READ_ONCE, then inc_not_zero + start
            steps.append(when(ok, **m.set_who(s, who, m.PC.START_SCHED, o)))
    return steps


def start_sched_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """The start's second step on the object read before: W's schedule_work; R's inc_not_zero
    and start (rework.py)."""
    o_ = m.arg_of(s, who)
    steps = []
    for o in over(o_, m.Obj):
        gi = and_(g, o_ == o)
        if m.locked:
            upd = m.done(s, who, after)
            upd.update(exec_state=put(s.exec_state, o, m.arm(s.exec_state[o])), ran=put(s.ran, o, False))
            m.touch_obj(upd, s, o)
            steps.append(when(gi, **upd))
        else:
            steps += rework.start_inc_steps(m, s, gi, who, o, after)
    return steps


# ------------------------------------------------------------------ cancel_and_free


def caf_steps(m: Model, s: Any, g: Any, who: tuple, e: int, after: dict | None) -> list[Step]:
    """cancel_and_free(value e): the lockless READ_ONCE(async->cb) (NULL: return), then the detach
    (under the lock, or R's xchg) and what follows (timer.py, wq.py, rework.py)."""
    cur = s.slot[e]
    steps = [when(and_(g, cur == m.NO_OBJ), **m.done(s, who, after))]
    in_cb = m.hrtimer_running(s, who[1], who[2]) if who[0] == "ctx" else m.NO_OBJ
    for o in over(cur, m.Obj):
        gi = and_(g, cur == o, m.lock_free(s, e))
        base = dict(slot=put(s.slot, e, m.NO_OBJ), mem=put(s.mem, o, m.Mem.DETACHED))
        if not m.locked:
            steps += rework.caf_detached_steps(m, s, gi, who, o, base)
            continue
        m.drop_prog(s, o, base, irqs_off=True)
        if m.timer:
            steps += timer.caf_detached_steps(m, s, gi, who, o, base, in_cb, after)
        else:
            steps += wq.caf_detached_steps(m, s, gi, who, o, base, after)
    return steps


def caf_wait_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """The synchronous part: hrtimer_cancel / cancel_work_sync, then the free."""
    o_ = m.arg_of(s, who)
    steps = []
    for o in over(o_, m.Obj):
        upd = m.done(s, who, after)
        if m.timer:
            upd["exec_state"] = put(s.exec_state, o, hrtimer.INACTIVE)
            passes = hrtimer.cancel_passes(s.running[o], m.NO_CPU)
        else:
            upd["exec_state"] = put(s.exec_state, o, workqueue.IDLE)
            passes = not_(workqueue.is_running(s.exec_state[o]))
        m.touch_obj(upd, s, o)
        m.kfree(s, o, upd)
        steps.append(when(and_(g, o_ == o, passes), **upd))
    return steps


# ------------------------------------------------------------------ a helper call, step by step


def first_steps(m: Model, s: Any, g: Any, who: tuple, op: str, e: int, after: dict | None) -> list[Step]:
    """The first step of helper ``op`` on value e."""
    if op == "init":
        return init_steps(m, s, g, who, e, after)
    if op == "set_callback":
        return set_callback_steps(m, s, g, who, e, after)
    if op == "start":
        return start_steps(m, s, g, who, e, after)
    if op == "cancel":
        return timer.cancel_steps(m, s, g, who, e, after)
    return caf_steps(m, s, g, who, e, after)


def continue_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """Every later step of a helper call in progress, by its pc."""
    PC = m.PC
    pc = m.ctx_pc(s, who)
    steps = []
    if m.timer and who[0] == "ctx":
        steps += timer.cancel_inc_steps(m, s, and_(g, pc == PC.CANCEL_INC), who, after)
        steps += timer.cancel_dec_steps(m, s, and_(g, pc == PC.CANCEL_DEC), who, after)
        steps += timer.cancel_wait_steps(m, s, and_(g, pc == PC.CANCEL_WAIT), who, after)
    steps += caf_wait_steps(m, s, and_(g, pc == PC.CAF_WAIT), who, after)
    steps += start_sched_steps(m, s, and_(g, pc == PC.START_SCHED), who, after)
    if not m.locked:
        steps += rework.start_put_steps(m, s, and_(g, pc == PC.START_PUT), who, after)
        steps += rework.setcb_finish_steps(m, s, and_(g, pc == PC.SETCB), who, after)
        steps += rework.caf_cancel_steps(m, s, and_(g, pc == PC.CAF_CANCEL), who, after)
        steps += rework.init_check_steps(m, s, and_(g, pc == PC.INIT_CHECK), who, after)
    elif m.cfg["init_usercnt_check"] == "before_publish":
        steps += init_publish_steps(m, s, and_(g, pc == PC.INIT_CHECK), who, after)
    return [st for st in steps if not disabled(st.guard)]


# ------------------------------------------------------------------ prog runs


def runs_on(c: int, lv: int) -> bool:
    """Hard-irq prog runs on cpu0 only: the deferral path with a task-context caller on every CPU,
    at a size the matrix can explore (two CPUs with hard-irq callers each: 36M states)."""
    return lv != IRQ or c == 0


def ProgRunStart(m: Model, s: Any, c: int, lv: int) -> Step | list[Step]:
    """A prog run starts on CPU c (in task context, or in hard-irq): an RCU reader until it ends.
    It may call its helper after the prog was detached and its refcount reached 0 (the free
    waits for the grace period)."""
    if not runs_on(c, lv):
        return []
    g = and_(s.prog_attached, s.pc[c][lv] == m.PC.IDLE, m.can_step(s, c, lv))
    if lv == IRQ and not m.kc.rt:
        g = and_(g, s.wk_obj[c] == m.NO_OBJ)  # the irq_work runs in hard-irq: no nesting
    return when(g, **m.set_ctx(s, c, lv, m.PC.RUN))


def ProgRunEnd(m: Model, s: Any, c: int, lv: int) -> Step:
    """The run ends without a helper call."""
    return when(and_(s.pc[c][lv] == m.PC.RUN, m.can_step(s, c, lv)), **m.set_ctx(s, c, lv, m.PC.IDLE))


def ProgCall(m: Model, s: Any, call: str, c: int, e: int) -> list[Step]:
    """The run calls a helper on value e (``hardirq_*``: from a hard-irq run); the run ends when
    the helper returns."""
    lv, op = (IRQ, call.removeprefix("hardirq_")) if call.startswith("hardirq_") else (TASK, call)
    g = and_(s.pc[c][lv] == m.PC.RUN, m.can_step(s, c, lv))
    if disabled(g):
        return []
    return first_steps(m, s, g, ("ctx", c, lv), op, e, None)


def ProgHelperStep(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """The prog run's helper call goes on (a wait passes, a second atomic operation)."""
    g = and_(s.pc[c][lv] != m.PC.IDLE, s.pc[c][lv] != m.PC.RUN, m.can_step(s, c, lv))
    if disabled(g):
        return []
    return continue_steps(m, s, g, ("ctx", c, lv), None)

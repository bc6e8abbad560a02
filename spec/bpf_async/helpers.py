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
from spec.lang import Step, and_, cites, disabled, ite, not_, or_, over, put, when

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
    if not (who[0] == "ctx" and who[2] == TASK):
        # a callback's init (reinit_self) fails with -ENOMEM as a prog run's does (ProgInitNoMem, an
        # action of its own for its witness), and always past the model's bound of objs objects per
        # value: the callback's next calls then go on
        fails = True if m.cfg["alloc_fails"] else s.inits[e] >= m.objs
        steps += init_nomem_steps(m, s, and_(g, fails), who, e, after)
    return steps


def init_nomem_steps(m: Model, s: Any, g: Any, who: tuple, e: int, after: dict | None) -> list[Step]:
    """__bpf_async_init whose allocation fails: -ENOMEM after the -EBUSY check, before anything is
    published or any reference taken (locked design: under the value's lock; R: before the cmpxchg,
    so nothing is freed either)."""
    g = and_(g, s.slot[e] == m.NO_OBJ)
    if m.locked:
        g = and_(g, m.lock_free(s, e))
    return [when(g, **m.done(s, who, after))]


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
    cb->prog and callback_fn set; -EPERM without ``perm``, -ENOENT if the count was 0. With prog_ref
    off only callback_fn is set (no reference taken)."""
    upd = m.done(s, who, after)
    upd.update(has_prog=put(s.has_prog, o, True))
    if m.cfg["prog_ref"]:
        ok = and_(perm, or_(s.has_prog[o], s.prog_refcnt > 0))
        upd["prog_refcnt"] = ite(s.has_prog[o], s.prog_refcnt, s.prog_refcnt + 1)
    else:
        ok = perm
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
    if m.lru:
        # htab_lru_map_delete_elem: the bucket's locked section (the unlink), then htab_lru_push_free:
        # check_and_free_fields (cancel_and_free), then bpf_lru_push_free, which takes the LRU lock:
        # once cancel_and_free returns the call goes on at LRU_PUSH (K-lru)
        return caf_steps(m, s, g, who, e, m.set_who(s, who, m.PC.LRU_PUSH))
    if not m.hash:
        return caf_steps(m, s, g, who, e, after)
    # map_delete_elem on the hash map: htab_lock_bucket first. A raw_spinlock_t held by another
    # context spins (no step until it is released); an rqspinlock_t waiter may give up instead:
    # -ETIMEDOUT (or -EDEADLK), nothing deleted (K-htab-update)
    held = m.bucket_held(s)
    steps = caf_steps(m, s, and_(g, not_(held)), who, e, after)
    if m.cfg["bucket_lock"] == "rqspinlock":
        steps.append(when(and_(g, held), **m.done(s, who, after)))
    return steps


def lru_push_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """map = lru: the delete's bpf_lru_push_free takes the LRU lock, pushes the element on the free
    list and unlocks (one step); while user space's eviction holds the lock across its wait, the raw
    spin lock leaves the delete without a step: it spins."""
    return [when(and_(g, not_(m.bucket_held(s))), **m.done(s, who, after))]


def continue_steps(m: Model, s: Any, g: Any, who: tuple, after: dict | None) -> list[Step]:
    """Every later step of a helper call in progress, by its pc."""
    PC = m.PC
    pc = m.ctx_pc(s, who)
    steps = []
    if m.timer and who[0] == "ctx":
        steps += timer.cancel_inc_steps(m, s, and_(g, pc == PC.CANCEL_INC), who, after)
        steps += timer.cancel_dec_steps(m, s, and_(g, pc == PC.CANCEL_DEC), who, after)
        steps += timer.cancel_wait_steps(m, s, and_(g, pc == PC.CANCEL_WAIT), who, after)
    # map = lru: every wait of a prog's or callback's cancel_and_free is a map_delete_elem's, whose
    # LRU push follows
    steps += caf_wait_steps(
        m, s, and_(g, pc == PC.CAF_WAIT), who, m.set_who(s, who, PC.LRU_PUSH) if m.lru else after
    )
    if m.lru:
        steps += lru_push_steps(m, s, and_(g, pc == PC.LRU_PUSH), who, after)
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


def runs_on(m: Model, c: int, lv: int) -> bool:
    """Hard-irq prog runs on cpu0 only by default (irq_cpus = cpu0): the deferral path with a
    task-context caller on every CPU; irq_cpus = all: on every CPU (rework_timer: 5.06M states
    instead of 456K)."""
    return lv != IRQ or c == 0 or m.cfg["irq_cpus"] == "all"


@cites(
    "V24",
    "a prog run (environment; any program type the verifier lets use bpf_timer / bpf_wq)",
    "environment: a run of the attached prog starts in task context (with irq_callers, also in hard-irq "
    "on cpu0, or on every CPU with irq_cpus = all) and is an RCU reader until it ends: 'eBPF programs "
    "must run under rcu lock if program is allowed to access maps' (helpers.c header comment)",
    "environment event: the start changes only this context's program counter",
)
def ProgRunStart(m: Model, s: Any, c: int, lv: int) -> Step | list[Step]:
    """A prog run starts on CPU c (in task context, or in hard-irq): an RCU reader until it ends.
    It may call its helper after the prog was detached and its refcount reached 0 (the free
    waits for the grace period)."""
    if not runs_on(m, c, lv):
        return []
    g = and_(s.prog_attached, s.pc[c][lv] == m.PC.IDLE, m.can_step(s, c, lv))
    if lv == IRQ and not m.kc.rt:
        g = and_(g, s.wk_obj[c] == m.NO_OBJ)  # the irq_work runs in hard-irq: no nesting
    return when(g, **m.set_ctx(s, c, lv, m.PC.RUN))


@cites(
    "V24",
    "a prog run (environment)",
    "environment: the run ends without a helper call (its rcu_read_unlock)",
    "environment event: the end changes only this context's program counter (and ends its read-side section)",
)
def ProgRunEnd(m: Model, s: Any, c: int, lv: int) -> Step:
    """The run ends without a helper call."""
    return when(and_(s.pc[c][lv] == m.PC.RUN, m.can_step(s, c, lv)), **m.set_ctx(s, c, lv, m.PC.IDLE))


@cites(
    "V24",
    "the helper call (environment: which helper, on which map value)",
    "environment: the run calls bpf_timer_init / bpf_wq_init, bpf_timer_set_callback / "
    "bpf_wq_set_callback_impl, bpf_timer_start / bpf_wq_start, bpf_timer_cancel, or map_delete_elem (-> "
    "bpf_obj_free_fields -> cancel_and_free); hardirq_*: the same from a hard-irq run (the rework defers "
    "start and cancel_and_free there); the run ends when it returns",
    "environment event merged with the helper's first step below: the run's code before the call only reads",
)
@cites(
    "V24",
    "__bpf_async_init (bpf_timer_init, bpf_wq_init)",
    "docs/second-reading/bpf_timer.md §1.2 T1 steps 2-8: in_nmi check; lock; if (async->timer) -EBUSY; cb "
    "= bpf_map_kmalloc_node(..); initialise; WRITE_ONCE(async->cb, cb); smp_mb(); if "
    "(!atomic64_read(&map->usercnt)) { WRITE_ONCE(async->cb, NULL); kfree(cb); -EPERM }; unlock",
    "under the value's bpf_spin_lock with irqs off: no other locker of the value interleaves and the only "
    "lockless reader (cancel_and_free's READ_ONCE) re-reads under the lock before acting, so the section "
    "is one step for every observer (ABSTRACTIONS)",
)
@cites(
    "V21",
    "__bpf_async_init before fd381ce60a2d (init_usercnt_check = before_publish)",
    "the usercnt read under the lock before the allocation and the publish (INIT_CHECK); the publish and "
    "unlock are the next step (ProgHelperStep)",
    "split in two: the sweep's lockless READ_ONCE(timer->timer) can pass between the usercnt read and the "
    "publish and see NULL; the lock is held across both (other lockers wait)",
)
@cites(
    "V24",
    "__bpf_async_set_callback (bpf_timer_set_callback, bpf_wq_set_callback_impl)",
    "bpf_timer.md §1.2 T2 steps 1-6: in_nmi; lock; cb == NULL -> -EINVAL; !usercnt -> -EPERM; if (prev != "
    "prog) { prog = bpf_prog_inc_not_zero(prog) (error returned); if (prev) bpf_prog_put(prev); cb->prog "
    "= prog; } rcu_assign_pointer(cb->callback_fn, callback_fn); unlock",
    "under the value's lock with irqs off: one step (the prog's refcount is an atomic the section reads "
    "and writes once)",
)
@cites(
    "V24",
    "bpf_timer_start; bpf_wq_start",
    "bpf_timer_start (T3): lock; if (!t || !t->cb.prog) -EINVAL; hrtimer_start(&t->timer, .., mode); "
    "unlock. bpf_wq_start: w = READ_ONCE(async->work); if (!w || !READ_ONCE(w->cb.prog)) return -EINVAL; "
    "(schedule_work: the next step)",
    "bpf_timer_start's section is under the lock with irqs off (hrtimer_start takes the base lock inside "
    "it): one step; bpf_wq_start takes no lock, so its reads and its schedule_work are two steps (the "
    "racing enqueue of bpf_wq_and_async_cb.md X2)",
)
@cites(
    "V24",
    "bpf_timer_cancel",
    "docs/second-reading/round4.md Q1(a) steps 1-8 and 12-13: in_nmi; rcu_read_lock(); lock; t = "
    "timer->timer (-EINVAL); cur_t = this_cpu_read(hrtimer_running); cur_t == t -> -EDEADLK; outside a "
    "callback: drop_prog_refcnt, unlock (then hrtimer_cancel: ProgHelperStep); inside one: "
    "atomic_inc(&t->cancelling) with the lock still held (CANCEL_INC)",
    "under the lock with irqs off up to the first write another CPU's callback can read (the counter): "
    "the lock is held across to the read of the caller's own counter (ProgHelperStep), so the increment "
    "and the read are two steps as the kernel orders them (ABSTRACTIONS)",
)
@cites(
    "V24",
    "bpf_timer_cancel_and_free, bpf_wq_cancel_and_free (__bpf_async_cancel_and_free)",
    "bpf_timer.md §1.2 T5 steps 1-4 and T5a: if (!READ_ONCE(async->cb)) return; lock; re-read cb; "
    "drop_prog_refcnt(cb); WRITE_ONCE(async->cb, NULL); unlock; then if (this_cpu_read(hrtimer_running)) "
    "queue_work(system_unbound_wq, &t->cb.delete_work) (a6fcd19d7eac; V21: skip hrtimer_cancel for the "
    "own timer; wq: schedule_work(&w->delete_work))",
    "the lockless READ_ONCE and the locked section are merged: a reader that sees the pointer waits for "
    "the lock and re-reads it, so only the locked section's instant matters; the deferral's queue_work is "
    "merged with the unlock (it reads only this CPU's hrtimer_running); the synchronous wait is the next "
    "step (CAF_WAIT)",
)
@cites(
    "R1",
    "the rework's helpers: __bpf_async_init, __bpf_async_set_callback, bpf_timer_start / bpf_wq_start, "
    "bpf_timer_cancel, bpf_async_cancel_and_free",
    "init: refcount_set(&cb->refcnt, 1); old_cb = cmpxchg(&async->cb, NULL, cb) (-EBUSY); set_callback: "
    "cb = READ_ONCE(async->cb) (-EINVAL); start: READ_ONCE(async->cb), then refcount_inc_not_zero "
    "(-ENOENT) and hrtimer_start / schedule_work, or in hard-irq bpf_async_schedule_op(START); cancel: if "
    "(defer_timer_wq_op()) return -EOPNOTSUPP, else V24's checks without the lock; cancel_and_free: cb = "
    "xchg(&async->cb, NULL); bpf_async_update_prog_callback(cb, NULL, NULL) (5000a097f82c) "
    "(docs/kernel-facts.md#async-*)",
    "each step is one atomic operation (cmpxchg, READ_ONCE, xchg) with what only this caller touches; the "
    "second step of each is at ProgHelperStep; the early prog put is one atomic decrement",
)
@cites(
    "K-htab-update",
    "htab_map_delete_elem -> htab_lock_bucket; free_htab_elem after htab_unlock_bucket (map = hash)",
    "ret = htab_lock_bucket(b, &flags) (local_irq_save; map_locked: -EBUSY on a same-CPU re-entry; "
    "raw_spin_lock(&b->raw_lock); v6.15+: raw_res_spin_lock_irqsave, -EDEADLK / -ETIMEDOUT); l = "
    "lookup_elem_raw(..); if (l) hlist_nulls_del_rcu(&l->hash_node); htab_unlock_bucket(b, flags); if (l) "
    "free_htab_elem(htab, l) -> check_and_free_fields -> bpf_obj_free_fields -> bpf_timer_cancel_and_free "
    "(round5-issue21.md B1, C1)",
    "the bucket's locked section is one step (nothing else is done under it); a raw lock held by another "
    "context across steps leaves the delete without a step (it spins), an rqspinlock waiter may give up "
    "(-ETIMEDOUT: one step, nothing changed); the free after the unlock is cancel_and_free as below",
)
@cites(
    "K-lru",
    "htab_lru_map_delete_elem -> htab_lru_push_free (map = lru)",
    "htab_lock_bucket; hlist_nulls_del_rcu(&l->hash_node); htab_unlock_bucket; if (l) "
    "htab_lru_push_free(htab, l): check_and_free_fields(htab, elem); bpf_map_dec_elem_count(&htab->map); "
    "bpf_lru_push_free(&htab->lru, &elem->lru_node); (round8-b3.md §1, §4)",
    "the bucket section and the free of the fields are the delete's first steps, as for an array; the "
    "push, which takes the LRU lock, is its own later step (LRU_PUSH, at ProgHelperStep)",
)
def ProgCall(m: Model, s: Any, call: str, c: int, e: int) -> list[Step]:
    """The run calls a helper on value e (``hardirq_*``: from a hard-irq run); the run ends when
    the helper returns."""
    lv, op = (IRQ, call.removeprefix("hardirq_")) if call.startswith("hardirq_") else (TASK, call)
    g = and_(s.pc[c][lv] == m.PC.RUN, m.can_step(s, c, lv))
    if m.malloc:  # the run's lookup finds no element once the key is deleted
        g = and_(g, s.elem[e] == m.Elem.LIVE)
    if disabled(g):
        return []
    return first_steps(m, s, g, ("ctx", c, lv), op, e, None)


@cites(
    "V24",
    "__bpf_async_init (bpf_timer_init / bpf_wq_init), the allocation",
    "__bpf_spin_lock_irqsave(&async->lock); t = async->timer; if (t) { ret = -EBUSY; goto out; } cb = "
    "bpf_map_kmalloc_node(map, size, GFP_ATOMIC, map->numa_node); if (!cb) { ret = -ENOMEM; goto out; } "
    "... out: __bpf_spin_unlock_irqrestore(&async->lock) (docs/second-reading/round5-issue21.md A1)",
    "one locked section that reads the value and returns: nothing is published, no reference is taken",
)
@cites(
    "R1",
    "__bpf_async_init, the allocation",
    "old_cb = READ_ONCE(async->cb); if (old_cb) return -EBUSY; cb = bpf_map_kmalloc_nolock(map, size, 0, "
    "map->numa_node); if (!cb) return -ENOMEM; (round5-issue21.md A2)",
    "a read of async->cb and a failed allocation: nothing written, so one step",
)
def ProgInitNoMem(m: Model, s: Any, c: int, e: int) -> list[Step]:
    """A task-level run calls bpf_timer_init / bpf_wq_init on value e and the allocation fails
    (-ENOMEM); the run ends when the helper returns."""
    g = and_(s.pc[c][TASK] == m.PC.RUN, m.can_step(s, c, TASK))
    if disabled(g):
        return []
    return init_nomem_steps(m, s, g, ("ctx", c, TASK), e, None)


@cites(
    "V24",
    "bpf_timer_cancel (after CANCEL_INC, the -EDEADLK path, the wait)",
    "round4.md Q1(a) steps 9-16: smp_mb__after_atomic(); if (atomic_read(&cur_t->cancelling)) -EDEADLK; "
    "drop_prog_refcnt; unlock (CANCEL_INC -> CANCEL_WAIT or CANCEL_DEC); ret = ret ?: "
    "hrtimer_cancel(&t->timer); if (inc) atomic_dec(&t->cancelling); rcu_read_unlock()",
    "the read and the drop are under the lock; the wait's end and the atomic_dec are one step: another "
    "context's read of the counter in between sees what it saw during the wait, and its outcome does not "
    "depend on the timer state the cancel changes (ABSTRACTIONS); hrtimer_cancel is one step enabled when "
    "the callback is not running (K-hrtimer)",
)
@cites(
    "V24",
    "bpf_timer_delete_work / bpf_timer_cancel_and_free's inline wait; bpf_wq inline (wq_delete = inline: "
    "not V24)",
    "hrtimer_cancel(&t->timer); kfree_rcu(t, cb.rcu) (bpf_timer.md T5b); wq_delete = inline: "
    "cancel_work_sync(&w->work); kfree_rcu(w, cb.rcu) in the caller",
    "the wait returns when the callback is not running (one step enabled then); kfree_rcu only queues the "
    "grace period (its readers are fixed at this step)",
)
@cites(
    "V24",
    "bpf_wq_start (second half)",
    "schedule_work(&w->work); return 0",
    "schedule_work queues the work unless PENDING is already set (K-wq: it then returns false): one step "
    "against the worker, which clears PENDING before running the function",
)
@cites(
    "V21",
    "__bpf_async_init before fd381ce60a2d (the publish)",
    "timer->timer = t; unlock (the lock held since the usercnt read)",
    "one store under the lock",
)
@cites(
    "R1",
    "the rework's second steps: bpf_timer_start / bpf_wq_start, bpf_async_update_prog_callback, "
    "bpf_async_cancel_and_free, __bpf_async_init",
    "start: if (!refcount_inc_not_zero(&cb->refcnt)) return -ENOENT; hrtimer_start / schedule_work (or in "
    "hard-irq bpf_async_schedule_op(START): kmalloc_nolock, llist_add, irq_work_queue on the first add); "
    "then bpf_async_refcount_put (START_PUT); set_callback: the inc_not_zero / xchg(&cb->prog) / "
    "rcu_assign_pointer loop (SETCB); cancel_and_free: bpf_async_process_op(cb, BPF_ASYNC_CANCEL) inline "
    "(hrtimer_try_to_cancel / cancel_work) or schedule_op(CANCEL), then the map's reference put "
    "(CAF_CANCEL); init: smp_mb(); if (!atomic64_read(&map->usercnt)) { bpf_async_cancel_and_free(async); "
    "return -EPERM; } (INIT_CHECK)",
    "each step is one atomic operation with the private work around it: the start's inc_not_zero and "
    "arming are merged (the reference pins the object; the arming is one hrtimer / workqueue operation); "
    "schedule_op merges llist_add with irq_work_queue (a worker taking the command between them leaves "
    "only an empty run: ABSTRACTIONS); the set_callback loop is one xchg; try_to_cancel and cancel_work "
    "never wait",
)
@cites(
    "K-lru",
    "bpf_lru_push_free -> bpf_common_lru_push_free -> bpf_lru_list_push_free (map = lru)",
    "raw_spin_lock_irqsave(&l->lock, flags); ... __bpf_lru_node_move(l, node, BPF_LRU_LIST_T_FREE); "
    "raw_spin_unlock_irqrestore(&l->lock, flags); (a node on the global list; round8-b3.md §4)",
    "the locked section is one step; while the eviction holds the raw lock across its wait there is no "
    "step (a spin with irqs off)",
)
def ProgHelperStep(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """The prog run's helper call goes on (a wait passes, a second atomic operation)."""
    g = and_(s.pc[c][lv] != m.PC.IDLE, s.pc[c][lv] != m.PC.RUN, m.can_step(s, c, lv))
    if disabled(g):
        return []
    return continue_steps(m, s, g, ("ctx", c, lv), None)

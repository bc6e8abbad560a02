"""The submit path: a prog run (or a callback) calls ``bpf_delayed_work_submit(w)`` (RFC patch 2/3,
kernel/bpf/helpers.c).

The helper is these steps of the calling context's program counter ``pc``:

    IDLE --ProgRunSubmit (the claim)--> CLAIMED --SubmitReady--> ENQUEUE --SubmitEnqueue--> QUEUE
    QUEUE --SubmitIrqWorkQueue--> IDLE

(``locked_list`` adds LOCKED between ENQUEUE and QUEUE: the list spinlock is held; ``task_context``
ends at SubmitEnqueue, on the task's own list; with irq_work = self_ipi a task-level run waits in
RETURN until the irq_work it raised has run). A failed claim returns -EINVAL and the run ends in the
same step. A callback that submits another item runs the same steps at the drain's level
(``CallbackRun`` makes the claim).
"""

from __future__ import annotations

from typing import Any

from spec.delayed_work.model import TASK, Model
from spec.kernel import irq_work
from spec.lang import Step, and_, disabled, not_, over, put, when


def claim(m: Model, s: Any, c: int, lv: int, p: int, w: int, upd: dict, extra_guard: Any = True) -> tuple:
    """bpf_delayed_work_submit up to the claim: cmpxchg(flags, FREE, CLAIMED), then cb/data written.

    Returns the successful claim's step (pc CLAIMED, plus ``upd``) and the guard under which the
    claim is refused with -EINVAL (the caller decides what that returns to)."""
    alive = True
    if m.hash_map:
        alive = s.elem[w] == m.Elem.LIVE  # the prog found the element by lookup
    if m.usercnt_policy:
        alive = and_(alive, s.map_usercnt > 0)  # the bpf_timer policy: -EPERM without user refs
    free = s.flags[w] == m.WFlags.FREE if m.claim_lock else True
    ok = dict(upd)
    ok.update(m.set_ctx(s, c, lv, m.PC.CLAIMED, w, p))
    ok["flags"] = put(upd.get("flags", s.flags), w, m.WFlags.CLAIMED)
    ok["runs"] = put(upd.get("runs", s.runs), w, 0)
    m.touch_item(s, w, ok)
    return when(and_(extra_guard, alive, free), **ok), and_(extra_guard, alive, not_(free))


def ProgRunSubmit(m: Model, s: Any, c: int, lv: int, p: int, w: int) -> Step | list[Step]:
    """A prog run starts on CPU c (an RCU reader) and calls bpf_delayed_work_submit(w): the claim."""
    g = and_(s.prog_attached[p], m.level_idle(s, c, lv), m.can_step(s, c, lv))
    if m.task_ctx:
        g = and_(g, s.task_alive[c])
    if disabled(g):
        return []
    ok, _refused = claim(m, s, c, lv, p, w, {}, g)
    return ok  # a refused claim ends the run with no state change: a stuttering step


def SubmitReady(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """cmpxchg(CLAIMED, READY), then bpf_prog_inc_not_zero(aux->prog)."""
    PC, WFlags = m.PC, m.WFlags
    w, p = s.sub_item[c][lv], s.sub_prog[c][lv]
    g = and_(s.pc[c][lv] == PC.CLAIMED, m.can_step(s, c, lv))
    if disabled(g):
        return []
    steps = []
    for wi in over(w, m.Item):
        for pi in over(p, m.Prog):
            gi = and_(g, w == wi, p == pi)
            ready = dict(flags=put(s.flags, wi, WFlags.READY))
            m.touch_item(s, wi, ready)
            if not m.items_hold_prog_ref:
                steps.append(when(gi, **ready, **m.set_ctx(s, c, lv, PC.ENQUEUE, wi, pi)))
                continue
            ref = s.prog_refcnt[pi]
            inc = dict(ready, prog_refcnt=put(s.prog_refcnt, pi, ref + 1), ref_of=put(s.ref_of, wi, pi))
            inc.update(m.set_ctx(s, c, lv, PC.ENQUEUE, wi, pi))
            steps.append(when(and_(gi, ref > 0), **inc))
            fail = dict(ready) if m.posted else dict(flags=put(s.flags, wi, WFlags.FREE))
            if not m.posted:
                m.touch_item(s, wi, fail)
            fail.update(m.set_ctx(s, c, lv, PC.IDLE))  # returns -ENOENT; the item stays READY if posted
            steps.append(when(and_(gi, ref == 0), **fail))
    return steps


def SubmitEnqueueTask(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """llist_add onto the current task's list (task_work-style, drained on return to user)."""
    w = s.sub_item[c][lv]
    g = and_(s.pc[c][lv] == m.PC.ENQUEUE, m.can_step(s, c, lv))
    if disabled(g):
        return []
    steps = []
    for wi in over(w, m.Item):
        for case, new, corrupt in m.llist_add(s, s.task_list[c], wi):
            upd = dict(task_list=put(s.task_list, c, new), **corrupt)
            upd["enqueued"] = put(s.enqueued, wi, s.enqueued[wi] + 1)
            upd.update(m.set_ctx(s, c, lv, m.PC.IDLE))
            m.touch_item(s, wi, upd)
            steps.append(when(and_(g, w == wi, case), **upd))
    return steps


def enqueue_steps(m: Model, s: Any, c: int, lv: int, from_pc: int, to_pc: int) -> list[Step]:
    """llist_add (or list_add under the lock) of the context's item onto its prog's list."""
    w, p = s.sub_item[c][lv], s.sub_prog[c][lv]
    g = and_(s.pc[c][lv] == from_pc, m.can_step(s, c, lv))
    if disabled(g):
        return []
    steps = []
    for wi in over(w, m.Item):
        for pi in over(p, m.Prog):
            for case, new, corrupt in m.llist_add(s, s.plist[pi], wi):
                upd = dict(plist=put(s.plist, pi, new), **corrupt)
                upd["enqueued"] = put(s.enqueued, wi, s.enqueued[wi] + 1)
                upd.update(m.set_ctx(s, c, lv, to_pc, wi, pi))
                if m.locked:
                    upd["lock_owner"] = put(s.lock_owner, pi, 0)
                m.touch_item(s, wi, upd)
                m.touch_irq_work(s, pi, upd)
                steps.append(when(and_(g, w == wi, p == pi, case), **upd))
    return steps


def SubmitLock(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """spin_lock_irqsave(&list_lock): spins (stays disabled) while anyone holds it."""
    p = s.sub_prog[c][lv]
    g = and_(s.pc[c][lv] == m.PC.ENQUEUE, m.can_step(s, c, lv))
    if disabled(g):
        return []
    return [
        when(
            and_(g, p == pi, s.lock_owner[pi] == 0),
            lock_owner=put(s.lock_owner, pi, 1 + 3 * c + lv),
            **m.set_ctx(s, c, lv, m.PC.LOCKED, s.sub_item[c][lv], pi),
        )
        for pi in over(p, m.Prog)
    ]


def SubmitEnqueueLocked(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """list_add under the lock, then spin_unlock_irqrestore."""
    return enqueue_steps(m, s, c, lv, m.PC.LOCKED, m.PC.QUEUE)


def SubmitEnqueue(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """llist_add(&work->item, &aux->irq_work->items)."""
    return enqueue_steps(m, s, c, lv, m.PC.ENQUEUE, m.PC.QUEUE)


def SubmitIrqWorkQueue(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """irq_work_queue: fetch_or(CLAIMED); only a claim that found PENDING clear queues on this CPU."""
    p = s.sub_prog[c][lv]
    g = and_(s.pc[c][lv] == m.PC.QUEUE, m.can_step(s, c, lv))
    if disabled(g):
        return []
    steps = []
    for pi in over(p, m.Prog):
        claimed, _queues_here = irq_work.claim(s.iw_flags[pi])
        upd = dict(
            iw_flags=put(s.iw_flags, pi, claimed),
            iw_cpu=put(s.iw_cpu, pi, irq_work.queue_cpu(s.iw_flags[pi], s.iw_cpu[pi], c)),
        )
        # tick delivery: the run returns in the same step (an irq_work that ran before its
        # rcu_read_unlock would only be waited for longer); self-IPI: it is interrupted first
        interrupted = m.raised_irq_work_is_prompt and lv == TASK
        upd.update(m.set_ctx(s, c, lv, m.PC.RETURN if interrupted else m.PC.IDLE))
        m.touch_irq_work(s, pi, upd)
        steps.append(when(and_(g, p == pi), **upd))
    return steps


def SubmitReturn(m: Model, s: Any, c: int) -> Step:
    """irq_work = self_ipi: once the irq_work raised on c has run, the helper returns and
    the run ends (its read-side section included the irq_work)."""
    return when(
        and_(s.pc[c][TASK] == m.PC.RETURN, m.can_step(s, c, TASK)), **m.set_ctx(s, c, TASK, m.PC.IDLE)
    )

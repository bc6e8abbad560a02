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
from spec.lang import Step, and_, cites, disabled, not_, over, put, when


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


@cites(
    "S-p2",
    "a prog run calling bpf_delayed_work_submit (bpf_base_func_proto)",
    "environment: a run of an attached prog starts (task, hard-irq or NMI context: the RFC adds the "
    "helper to bpf_base_func_proto, callable from any program type) and calls the helper",
    "environment event: the run's code before the helper only reads, so its start, its entry into the "
    "helper and the helper's first atomic operation are one step; a refused claim returns -EINVAL and the "
    "run ends in the same step",
)
@cites(
    "S-p2",
    "bpf_delayed_work_submit",
    "cmpxchg(&work->flags, FREE, CLAIMED) (failure: return -EINVAL), then the writes of work->data and "
    "work->cb (docs/kernel-facts.md#rfc-submit)",
    "one cmpxchg; the plain writes after it are the claimer's alone and nobody reads them before the item "
    "is READY (ABSTRACTIONS). usercnt variant: the usercnt read (bpf_timer's policy, not in the RFC) is "
    "one read merged with the cmpxchg",
)
def ProgRunSubmit(m: Model, s: Any, c: int, lv: int, p: int, w: int) -> Step | list[Step]:
    """A prog run starts on CPU c (an RCU reader) and calls bpf_delayed_work_submit(w): the claim."""
    g = and_(s.prog_attached[p], m.level_idle(s, c, lv), m.can_step(s, c, lv))
    if m.task_ctx:
        g = and_(g, s.task_alive[c])
    if disabled(g):
        return []
    ok, _refused = claim(m, s, c, lv, p, w, {}, g)
    return ok  # a refused claim ends the run with no state change: a stuttering step


@cites(
    "S-p2",
    "bpf_delayed_work_submit",
    "cmpxchg(&work->flags, CLAIMED, READY); prog = bpf_prog_inc_not_zero(aux->prog); if (IS_ERR(prog)) "
    "return PTR_ERR(prog) (the item stays READY); rfc_fixed and later roll the flags back to FREE on that "
    "failure (this project's repair, not in the RFC)",
    "two atomic operations merged: between them the item is READY and not linked, which no other step "
    "tells apart from CLAIMED (a claim fails on both, a drain sees only linked items), and "
    "atomic64_fetch_add_unless reads only the prog's refcount: taking it at either instant gives the same "
    "outcomes",
)
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


@cites(
    "K-llist",
    "llist_add_batch (task_context: a per-task list, the cover letter's point 5; no code posted)",
    "do { new_last->next = first; } while (!try_cmpxchg(&head->first, &first, new_first)); onto the "
    "current task's list instead of aux->irq_work->items",
    "the try_cmpxchg that succeeds publishes the node; a failed try changes nothing another CPU can see; "
    "the helper returns in the same step (task_context raises no irq_work)",
)
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


@cites(
    "",
    "spin_lock_irqsave(&list_lock) (locked_list: the spinlock-protected list the cover letter's point 6 "
    "argues against)",
    "none: a design variant of this project; the RFC posted an llist",
    "model-only variant: the lock is taken by one atomic RMW; the step is enabled only when the lock is "
    "free (a spinner stays disabled), and with irqs off the CPU takes no hard-irq while it holds it "
    "(irqs_off_by_lock)",
)
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


@cites(
    "",
    "list_add + spin_unlock_irqrestore (locked_list variant)",
    "none: a design variant of this project; the RFC posted an llist",
    "model-only variant: under the lock no other locker interleaves and irqs are off on this CPU, so the "
    "add and the unlock are one step",
)
def SubmitEnqueueLocked(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """list_add under the lock, then spin_unlock_irqrestore."""
    return enqueue_steps(m, s, c, lv, m.PC.LOCKED, m.PC.QUEUE)


@cites(
    "S-p2",
    "bpf_delayed_work_submit",
    "llist_add(&work->item, &aux->irq_work->items)",
    "llist_add is one successful try_cmpxchg (K-llist llist_add_batch); its failed retries change nothing "
    "another CPU can see",
)
def SubmitEnqueue(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """llist_add(&work->item, &aux->irq_work->items)."""
    return enqueue_steps(m, s, c, lv, m.PC.ENQUEUE, m.PC.QUEUE)


@cites(
    "S-p2",
    "bpf_delayed_work_submit",
    "(void) irq_work_queue(&aux->irq_work->work); the helper returns 0 and the run ends",
    "see the K-irqwork citation for the queue; with irq_work = tick the helper's return and the run's end "
    "are merged with it (an irq_work that ran before the run's rcu_read_unlock would only be waited for "
    "longer); with self_ipi a task-level run waits in RETURN (SubmitReturn)",
)
@cites(
    "K-irqwork",
    "irq_work_queue, irq_work_claim, __irq_work_queue_local",
    "oflags = atomic_fetch_or(IRQ_WORK_CLAIMED | CSD_TYPE_IRQ_WORK, &work->node.a_flags); if (oflags & "
    "IRQ_WORK_PENDING) return false; then llist_add onto this CPU's raised list and the raise",
    "the claim is one atomic_fetch_or; only the claimer that set PENDING adds the work to this CPU's "
    "raised list (with preemption off), so no other step sees the add apart from the claim",
)
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


@cites(
    "K-irqwork",
    "__irq_work_queue_local (arch_irq_work_raise: a self-IPI)",
    "the raise of a self-IPI, taken as soon as the raising CPU enables irqs; then S-p2's helper returns 0 "
    "and the run ends (rcu_read_unlock)",
    "irq_work = self_ipi: the helper cannot return before the irq_work it raised has run; the return and "
    "the run's end touch only this context's own state",
)
def SubmitReturn(m: Model, s: Any, c: int) -> Step:
    """irq_work = self_ipi: once the irq_work raised on c has run, the helper returns and
    the run ends (its read-side section included the irq_work)."""
    return when(
        and_(s.pc[c][TASK] == m.PC.RETURN, m.can_step(s, c, TASK)), **m.set_ctx(s, c, TASK, m.PC.IDLE)
    )

"""The runner: ``irq_work_single`` running ``bpf_delayed_work_irq_work_cb`` (RFC patch 2/3,
kernel/bpf/helpers.c; kernel/irq_work.c), or in ``task_context`` the task's drain on its way back to
user space.

Per CPU, the runner's phase ``runner[c]``:

    IDLE --IrqWorkRun: del from raised list, clear PENDING, seen := flags--> FUNC
    FUNC --DrainTake: llist_del_all + order handling--> DRAIN
    DRAIN --CallbackRun(head)--> IN_CB (a submitting callback) or CB_DONE
    IN_CB --CallbackReturn--> CB_DONE --DrainPut: cb=data=NULL, bpf_prog_put--> PUT_DONE
    PUT_DONE --DrainRelease: xchg(flags, FREE), next item--> DRAIN
    DRAIN (chain empty) --IrqWorkDone: atomic_cmpxchg(flags, seen, seen & ~BUSY)--> IDLE

(``locked_list`` adds DrainLock before DrainTake; ``task_context`` starts at TaskReturnToUser, which
takes the task's list, and ends at TaskDrainDone.)
"""

from __future__ import annotations

from typing import Any

from spec.delayed_work.model import IRQ, TASK, Model
from spec.delayed_work.submit import claim
from spec.kernel import irq_work
from spec.lang import Step, and_, any_, cites, disabled, ite, not_, or_, over, put, when

# ------------------------------------------------------------------ task_context: the task's drain


@cites(
    "K-tw",
    "task_work_run (the model of point 5's drain)",
    "none: task_context is a design variant of this project (the cover letter's point 5: a per-task list "
    "drained on return to user space); no code was posted; drained the way task_work_run takes "
    "task->task_works: the whole list with one try_cmpxchg, then reversed",
    "one xchg takes the list; the reversal rewrites only the detached chain, which no other CPU reaches",
)
def TaskReturnToUser(m: Model, s: Any, c: int) -> list[Step]:
    """The task returns to user space with work queued: llist_del_all + reverse, drain starts."""
    g = and_(
        s.task_alive[c], s.runner[c] == m.RPhase.IDLE, m.level_idle(s, c, TASK), m.quiet_above(s, c, TASK),
        m.seq_len(s.task_list[c]) > 0,
    )  # fmt: skip
    return [
        when(
            and_(g, case),
            task_list=put(s.task_list, c, m.empty_seq),
            chain=put(s.chain, c, chain),
            runner=put(s.runner, c, m.RPhase.DRAIN),
        )
        for case, chain in m.reversed_prefixes(s.task_list[c])
    ]


@cites(
    "K-tw",
    "do_exit -> exit_task_work -> task_work_run (environment: the task exits)",
    "task_work_run runs the queued works, then installs &work_exited when the list is empty and "
    "PF_EXITING is set (task_exit_drain); without it the task's list is abandoned (none: task_context is "
    "a design variant of this project (the cover letter's point 5: a per-task list drained on return to "
    "user space))",
    "environment event: the exit is one event of the task, taken only while the task is idle at every "
    "level of its CPU",
)
def TaskExit(m: Model, s: Any, c: int) -> Step:
    """The task exits; without a drain on exit its queued items are abandoned."""
    g = and_(
        s.task_alive[c], s.runner[c] == m.RPhase.IDLE, m.level_idle(s, c, TASK), m.quiet_above(s, c, TASK)
    )
    if m.task_exit_drain:
        g = and_(g, m.seq_len(s.task_list[c]) == 0)  # exit_task_work runs what is queued first
    return when(g, task_alive=put(s.task_alive, c, False))


@cites(
    "",
    "task_work_run (task_context variant)",
    "none: task_context is a design variant of this project (the cover letter's point 5: a per-task list "
    "drained on return to user space); no code was posted",
    "model-only variant: the end of the drain loop reads only the task's own detached chain",
)
def TaskDrainDone(m: Model, s: Any, c: int) -> Step:
    """All queued callbacks ran; the task goes on to user space."""
    g = and_(s.runner[c] == m.RPhase.DRAIN, s.chain[c][0] == m.NONE, m.drain_guard(s, c))
    return when(g, runner=put(s.runner, c, m.RPhase.IDLE))


# ------------------------------------------------------------------ the irq_work and its func


@cites(
    "K-irqwork",
    "irq_work_run_list, irq_work_single",
    "the raised list taken (llist_del_all), then per work: flags = atomic_read(&work->node.a_flags) & "
    "~IRQ_WORK_PENDING; atomic_set(&work->node.a_flags, flags); smp_mb()",
    "in hard-irq with irqs off; a claim between the read and the set finds PENDING and changes nothing "
    "(its fetch_or sets bits already set), so the two are one step; the works of a raised list run one "
    "per step (ABSTRACTIONS, with strong fairness)",
)
def IrqWorkRun(m: Model, s: Any, c: int, p: int) -> Step:
    """The irq_work interrupt: take p's irq_work off this CPU's raised_list, clear PENDING."""
    idle = not_(m.level_busy(s, c, IRQ, raised=False))
    g = and_(s.iw_cpu[p] == c, s.runner[c] == m.RPhase.IDLE, idle, m.drain_guard(s, c))
    cleared = irq_work.run_start(s.iw_flags[p])
    upd = dict(
        iw_cpu=put(s.iw_cpu, p, m.NO_CPU),
        iw_flags=put(s.iw_flags, p, cleared),
        seen=put(s.seen, c, cleared),
        runner=put(s.runner, c, m.RPhase.FUNC),
        runner_prog=put(s.runner_prog, c, p),
    )
    m.touch_irq_work(s, p, upd)
    return when(g, **upd)


def take_steps(m: Model, s: Any, c: int) -> list[Step]:
    """func = bpf_delayed_work_irq_work_cb: list = llist_del_all(items); reverse handling."""
    p = s.runner_prog[c]
    g = and_(s.runner[c] == m.RPhase.FUNC, m.drain_guard(s, c))
    if disabled(g):
        return []
    steps = []
    nitem, NONE = m.items, m.NONE
    for pi in over(p, m.Prog):
        lst = s.plist[pi]
        if m.posted:
            # llist_reverse_order(list) with its result discarded: iteration starts at the old
            # head, now the tail (next == NULL), so only the newest item is visited.
            chains = [(True, (lst[0],) + (NONE,) * (nitem - 1))]
        else:
            chains = m.reversed_prefixes(lst)
        for case, chain in chains:
            upd = dict(plist=put(s.plist, pi, m.empty_seq), chain=put(s.chain, c, chain))
            upd["runner"] = put(s.runner, c, m.RPhase.DRAIN)
            m.touch_irq_work(s, pi, upd)
            for wi in m.Item:  # the reversal rewrites every node's next pointer
                m.touch_item(s, wi, upd, any_(x == wi for x in lst))
            steps.append(when(and_(g, p == pi, case), **upd))
    return steps


@cites(
    "",
    "spin_lock(&list_lock) in the drain (locked_list variant)",
    "none: a design variant of this project; the RFC posted an llist",
    "model-only variant: one atomic RMW, enabled only when the lock is free",
)
def DrainLock(m: Model, s: Any, c: int) -> list[Step]:
    """spin_lock(&list_lock) in hard-irq before taking the list."""
    p = s.runner_prog[c]
    g = and_(s.runner[c] == m.RPhase.FUNC, m.drain_guard(s, c))
    if disabled(g):
        return []
    return [
        when(
            and_(g, p == pi, s.lock_owner[pi] == 0),
            lock_owner=put(s.lock_owner, pi, 1 + 3 * c + IRQ),
        )
        for pi in over(p, m.Prog)
    ]


@cites(
    "",
    "the list taken under list_lock, then spin_unlock (locked_list variant)",
    "none: a design variant of this project; the RFC posted an llist",
    "model-only variant: under the lock no other locker interleaves; the reversal touches only the "
    "detached chain",
)
def DrainTakeLocked(m: Model, s: Any, c: int) -> list[Step]:
    """Take the whole list under the lock, then spin_unlock."""
    mine = 1 + 3 * c + IRQ
    held = any_(s.lock_owner[pi] == mine for pi in m.Prog)
    unlocked = tuple(ite(s.lock_owner[pi] == mine, 0, s.lock_owner[pi]) for pi in m.Prog)
    return [
        st._replace(guard=and_(st.guard, held), updates={**st.updates, "lock_owner": unlocked})
        for st in take_steps(m, s, c)
    ]


@cites(
    "S-p2",
    "bpf_delayed_work_irq_work_cb",
    "work_list = llist_del_all(&bpf_irq_work->items); llist_reverse_order(work_list); (rfc_posted drops "
    "the result: only the old head is visited; rfc_fixed and later use it)",
    "llist_del_all is one xchg (K-llist); the reversal rewrites only the detached chain, which no other "
    "CPU can reach",
)
def DrainTake(m: Model, s: Any, c: int) -> list[Step]:
    """list = llist_del_all(&items); then the order handling."""
    return take_steps(m, s, c)


@cites(
    "K-irqwork",
    "irq_work_single",
    "after func returns: (void)atomic_cmpxchg(&work->node.a_flags, flags, flags & ~IRQ_WORK_BUSY)",
    "one atomic_cmpxchg; the end of S-p2's loop before it reads only the detached chain",
)
def IrqWorkDone(m: Model, s: Any, c: int) -> list[Step]:
    """func returned: atomic_cmpxchg(&flags, seen, seen & ~BUSY) (fails if someone re-claimed)."""
    p = s.runner_prog[c]
    g = and_(s.runner[c] == m.RPhase.DRAIN, s.chain[c][0] == m.NONE, m.drain_guard(s, c))
    if disabled(g):
        return []
    steps = []
    for pi in over(p, m.Prog):
        new = irq_work.run_end(s.iw_flags[pi], s.seen[c])
        upd = dict(
            iw_flags=put(s.iw_flags, pi, new),
            runner=put(s.runner, c, m.RPhase.IDLE),
            runner_prog=put(s.runner_prog, c, m.NO_PROG),
            seen=put(s.seen, c, 0),
        )
        m.touch_irq_work(s, pi, upd)
        steps.append(when(and_(g, p == pi), **upd))
    return steps


# ------------------------------------------------------------------ one item of the chain


def callback_prog(m: Model, s: Any, c: int, w: int) -> Any:
    """The prog whose callback the drain runs for item w: its irq_work's prog, or in task_context
    (no per-prog irq_work) the prog the item holds its reference to."""
    return s.ref_of[w] if m.task_ctx else s.runner_prog[c]


@cites(
    "S-p2",
    "bpf_delayed_work_irq_work_cb",
    "for the chain's head: work->cb(work->data); with callback = submits, the callback's own "
    "bpf_delayed_work_submit up to its claim",
    "the callback's code only reads its map value up to the one helper call it makes, so the call's first "
    "atomic operation (the claim's cmpxchg) is merged with it; usercnt variant: the skip of a cancelled "
    "work (bpf_timer's policy, not in the RFC) is one read of usercnt",
)
def CallbackRun(m: Model, s: Any, c: int) -> list[Step]:
    """item->cb(item->data) for the chain's head: reads the map value, runs the prog's code."""
    RPhase = m.RPhase
    dl = m.drain_level
    w = s.chain[c][0]
    g = and_(s.runner[c] == RPhase.DRAIN, w != m.NONE, m.drain_guard(s, c))
    if disabled(g):
        return []
    steps = []
    for wi in over(w, m.Item):
        p = callback_prog(m, s, c, wi)
        for pi in over(p, m.Prog):
            gi = and_(g, w == wi, p == pi)
            base = dict(runs=put(s.runs, wi, ite(s.runs[wi] < 2, s.runs[wi] + 1, 2)))
            m.touch_item(s, wi, base)
            base["uaf_prog"] = or_(s.uaf_prog, s.prog_phase[pi] == m.Phase.FREED)
            if m.usercnt_policy:
                # map_release_uref cancelled the work: the drain skips the callback.
                cancelled = s.map_usercnt == 0
                steps.append(when(and_(gi, cancelled), runner=put(s.runner, c, RPhase.CB_DONE)))
                gi = and_(gi, not_(cancelled))
            base["enqueued"] = put(s.enqueued, wi, s.enqueued[wi] - 1)
            if m.cb_submits and m.items > 1:
                nxt = (wi + 1) % m.items
                upd = dict(base, runner=put(s.runner, c, RPhase.IN_CB))
                ok, refused = claim(m, s, c, dl, pi, nxt, upd, gi)
                steps.append(ok)
                steps.append(when(refused, **base, runner=put(s.runner, c, RPhase.CB_DONE)))
            else:
                steps.append(when(gi, **base, runner=put(s.runner, c, RPhase.CB_DONE)))
    return steps


@cites(
    "S-p2",
    "bpf_delayed_work_irq_work_cb",
    "the callback returns to the drain loop after its bpf_delayed_work_submit returned",
    "a return: no write another CPU can see",
)
def CallbackReturn(m: Model, s: Any, c: int) -> Step:
    """The callback's own bpf_delayed_work_submit returned; the callback returns."""
    dl = m.drain_level
    g = and_(s.runner[c] == m.RPhase.IN_CB, s.pc[c][dl] == m.PC.IDLE, m.can_step(s, c, dl))
    return when(g, runner=put(s.runner, c, m.RPhase.CB_DONE))


@cites(
    "S-p2",
    "bpf_delayed_work_irq_work_cb",
    "work->cb = work->data = NULL; bpf_prog_put(bpf_irq_work->prog)",
    "the plain writes are this drain's own (the item is READY and detached: nobody else writes it before "
    "the release); bpf_prog_put is one atomic64_dec_and_test, and in hard-irq the rest of a last put is "
    "deferred to a workqueue (K-syscall __bpf_prog_put: schedule_work), so nothing else happens in this "
    "step",
)
def DrainPut(m: Model, s: Any, c: int) -> list[Step]:
    """item->cb = item->data = NULL; bpf_prog_put(bpf_irq_work->prog)."""
    w = s.chain[c][0]
    g = and_(s.runner[c] == m.RPhase.CB_DONE, m.drain_guard(s, c))
    if disabled(g):
        return []
    steps = []
    for wi in over(w, m.Item):
        p = callback_prog(m, s, c, wi)
        for pi in over(p, m.Prog):
            upd = dict(runner=put(s.runner, c, m.RPhase.PUT_DONE))
            m.touch_item(s, wi, upd)
            if m.items_hold_prog_ref:
                m.prog_put(s, pi, upd, from_hardirq=m.drain_level == IRQ)
                upd["ref_of"] = put(s.ref_of, wi, m.NO_PROG)
            steps.append(when(and_(g, w == wi, p == pi), **upd))
    return steps


@cites(
    "S-p2",
    "bpf_delayed_work_irq_work_cb",
    "xchg(&work_item->flags, FREE); the loop moves to the next node (llist_for_each_entry_safe read it "
    "before the body, K-llist)",
    "one xchg; moving to the next node uses only the pointer read before the body",
)
def DrainRelease(m: Model, s: Any, c: int) -> list[Step]:
    """xchg(&item->flags, FREE); the loop moves to the next (already read) node."""
    w = s.chain[c][0]
    g = and_(s.runner[c] == m.RPhase.PUT_DONE, m.drain_guard(s, c))
    if disabled(g):
        return []
    steps = []
    for wi in over(w, m.Item):
        upd = dict(
            flags=put(s.flags, wi, m.WFlags.FREE),
            chain=put(s.chain, c, m.pop_front(s.chain[c])),
            runner=put(s.runner, c, m.RPhase.DRAIN),
        )
        m.touch_item(s, wi, upd)
        steps.append(when(and_(g, w == wi), **upd))
    return steps

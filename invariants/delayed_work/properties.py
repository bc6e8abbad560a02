"""What must hold of bpf_delayed_work, and why the kernel cares.

Each property is a predicate over one state (safety) or a temporal formula over behaviours (liveness,
checked under the fairness declared here). The model halts a behaviour at its first memory corruption
(undefined behaviour), so each liveness goal also counts as reached once memory is corrupted: the
liveness columns then speak only of uncorrupted behaviours, and the safety columns report the rest.
The model (``spec/delayed_work``) supplies the
vocabulary (``Model``: where an item is linked, whose memory is freed); the properties only read it.
"""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, all_, and_, count, implies, not_, or_

SAFETY = [
    "NoCallbackAfterProgFree",
    "NoMapAccessAfterFree",
    "NoIrqWorkUseAfterFree",
    "NoDoubleEnqueue",
    "NoStrandedItem",
    "RunsAtMostOnce",
    "RefcountsConsistent",
]
LIVENESS = ["EverySubmittedWorkRuns", "RunsExactlyOnce", "ProgEventuallyFreed", "NoLivelock"]


def register(spec: Spec, m: Any) -> None:
    """Attach the delayed_work properties and fairness assumptions to the model's Spec."""
    Phase, RPhase, WFlags = m.Phase, m.RPhase, m.WFlags
    task_ctx = m.variant == "task_context"

    def NoCallbackAfterProgFree(s):
        """A callback never starts or runs once its prog is freed.

        Forbids: executing the prog's JIT image after bpf_prog_free_deferred released it.
        Tests: RFC claims (a) "we wait for pending work before releasing the bpf_prog" and (d) "the
        bpf_delayed_work items bump the prog refcnt". Kernel consequence: a jump into freed executable
        memory, i.e. a crash or code execution from reused pages."""
        running = [
            and_(s.runner[c] == RPhase.IN_CB, s.prog_phase[s_prog] == Phase.FREED, s.runner_prog[c] == s_prog)
            for c in m.CPU
            for s_prog in m.Prog
        ]
        return and_(not_(s.uaf_prog), not_(or_(*running)))

    def NoMapAccessAfterFree(s):
        """No map value holding a work item is read or written after its memory is freed, and no
        freed element's llist_node is still linked on a list or a detached chain.

        Tests: RFC claims (b) "the map will be in the bpf_prog's used_maps" and (c) "the map free path
        does not need to release any external resources". Kernel consequence: the drain reads
        cb/data/next from freed (or reused) memory: a use-after-free in hard-irq context, list
        corruption when the element is reused."""
        linked_freed = [and_(m.occurrences(s, w) > 0, m.item_memory_freed(s, w)) for w in m.Item]
        return and_(not_(s.uaf_map), not_(or_(*linked_freed)))

    def NoIrqWorkUseAfterFree(s):
        """The prog's bpf_delayed_irq_work (irq_work and item list) is not freed while the irq_work is
        pending or BUSY, or while a runner still touches it.

        Tests: claim (a) as implemented by irq_work_sync (brief §2: irq_work_single writes flags after
        func returns; freeing from inside the callback is illegal; §9 item 2). Kernel consequence:
        the per-CPU raised_list links freed memory, or the runner's final cmpxchg writes freed
        memory."""
        checks = [not_(s.uaf_irq_work)]
        if not m.irq_work_freed_with_prog:
            return all_(checks)  # the posted patch never frees aux->irq_work: a leak, never a UAF
        for p in m.Prog:
            freed = s.prog_phase[p] == Phase.FREED
            checks.append(implies(freed, not_(m.runner_on(s, p))))
            checks.append(implies(freed, and_(s.iw_cpu[p] == m.NO_CPU, s.iw_flags[p] == 0)))
        return all_(checks)

    def NoDoubleEnqueue(s):
        """An item's llist_node is linked at most once (on one list or one detached chain).

        Forbids: llist_add of a node that is already linked, which rewrites its next pointer.
        Tests: the FREE->CLAIMED cmpxchg gate of bpf_delayed_work_submit. Kernel consequence: a
        corrupted or cyclic list: lost items, or a drain that never ends in hard-irq."""
        return not_(s.double_enqueue)

    def NoStrandedItem(s):
        """An item that is READY is on a list that will be drained, in a running drain, or inside a
        submit that is still going to link it.

        Forbids: a READY item nobody will ever run; it can never be submitted again (-EINVAL) and,
        if it holds a prog reference, the prog is never freed. Tests: the cover letter's intent versus
        the posted code (brief §1.6 items 1 and 2: the discarded llist_reverse_order result and the
        item left READY when bpf_prog_inc_not_zero fails). Kernel consequence: lost work, a leaked
        prog and map, a permanently busy slot."""
        ok = []
        for w in m.Item:
            placed = or_(m.on_live_list(s, w), m.in_drain(s, w), m.in_submit(s, w))
            exists = s.elem[w] == m.Elem.LIVE if m.map_kind == "hash" else True
            ok.append(implies(and_(exists, s.flags[w] == WFlags.READY), placed))
        return all_(ok)

    def RunsAtMostOnce(s):
        """Each submission's callback runs at most once.

        Tests: the claim lock and the drain's single pass. Kernel consequence: a callback run twice
        for one submission (double free of what it owns, double accounting)."""
        return all_(s.runs[w] <= 1 for w in m.Item)

    def RefcountsConsistent(s):
        """Each refcount equals the holders the model knows and is never negative; a prog's refcount
        is never raised from 0 (it stays 0 once the free path starts).

        prog_refcnt = fd + attach link + the items holding a reference to it;
        map_refcnt = the map fd + every prog not yet freed (used_maps; not in no_used_maps).
        Tests: claim (d) and the bpf_prog_inc_not_zero/bpf_prog_put pairing. Kernel consequence: an
        underflow frees a live prog; an extra reference leaks it."""
        ok = [s.map_refcnt >= 0]
        live_progs = count(s.prog_phase[p] != Phase.FREED for p in m.Prog)
        ok.append(s.map_refcnt == s.map_usercnt + (live_progs if m.used_maps_hold_map else 0))
        for p in m.Prog:
            holders = count([s.prog_fd[p], s.prog_attached[p]]) + count(s.ref_of[w] == p for w in m.Item)
            ok.append(s.prog_refcnt[p] >= 0)
            ok.append(s.prog_refcnt[p] == holders)
            ok.append(implies(s.prog_phase[p] != Phase.LIVE, s.prog_refcnt[p] == 0))
        return all_(ok)

    for fn in (
        NoCallbackAfterProgFree,
        NoMapAccessAfterFree,
        NoIrqWorkUseAfterFree,
        NoDoubleEnqueue,
        NoStrandedItem,
        RunsAtMostOnce,
        RefcountsConsistent,
    ):
        spec.invariant(fn)

    # ---------------------------------------------------------------- liveness
    def enqueued(w):
        return lambda s: m.occurrences(s, w) > 0

    for w in m.Item:
        name = m.Item.show(w)
        spec.leads_to(
            f"EverySubmittedWorkRuns[{name}]",
            lambda s, w=w: s.enqueued[w] > 0,
            lambda s, w=w: or_(s.enqueued[w] == 0, m.broken(s)),
            "Every successful llist_add of the item is eventually followed by a run of its callback: no "
            "submission is lost (brief §9 item 11). Counted per llist_add (the enqueued ghost), so a "
            "second claim cannot hide a run that already happened.",
        )
        spec.leads_to(
            f"RunsExactlyOnce[{name}]",
            enqueued(w),
            lambda s, w=w: or_(and_(s.enqueued[w] == 0, s.flags[w] == WFlags.FREE), m.broken(s)),
            "An enqueued item eventually completes: every llist_add of it has been followed by one run "
            "of its callback (the enqueued ghost counts llist_adds and runs) and it is back to FREE. "
            "A second run for one claim is RunsAtMostOnce's (a safety property). Round 4's trace "
            "readings found both earlier goals counting runs per claim, which two submissions share once "
            "the claim gate is gone (docs/second-reading/round4-traces.md §6, round4-traces-2.md §2).",
        )

    def all_freed(s):
        return or_(and_(s.map_refcnt == 0, *[s.prog_phase[p] == Phase.FREED for p in m.Prog]), m.broken(s))

    spec.leads_to(
        "ProgEventuallyFreed",
        m.user_gone,
        all_freed,
        "Once user space closed every fd and detached, the prog and then the map are freed (RFC "
        "question 4; the cycle bpf_timer's usercnt breaks, brief §4 and §8).",
    )

    def cpu_idle(c):
        if task_ctx:
            return lambda s: or_(s.runner[c] == RPhase.IDLE, m.broken(s))
        return lambda s: or_(
            and_(s.runner[c] == RPhase.IDLE, *[s.iw_cpu[p] != c for p in m.Prog]), m.broken(s)
        )

    def detached(s):
        return all_(not_(s.prog_attached[p]) for p in m.Prog)

    for c in m.CPU:
        spec.leads_to(
            f"NoLivelock[{m.CPU.show(c)}]",
            detached,
            cpu_idle(c),
            "Once no prog is attached (no new runs), the CPU eventually leaves the drain with nothing "
            "raised: callbacks that submit each other do not keep it in hard-irq forever.",
        )

    # Fairness: the kernel's own steps are weakly fair per instance (a raised irq_work eventually
    # runs, a started callback returns, an RCU grace period ends, queued work proceeds). User space
    # (detach, close, delete) and prog runs are not: a prog need never run again, a user may keep fds.
    kernel_steps = [
        "SubmitReady", "SubmitEnqueue", "SubmitIrqWorkQueue", "DrainTake", "CallbackRun",
        "CallbackReturn", "DrainPut", "DrainRelease", "IrqWorkDone", "RcuGracePeriod", "ProgFreeDeferred",
        "ElemFreeRcu", "TaskReturnToUser", "TaskDrainDone", "ProgPutDeferred", "ProgFreeAfterSyncRcu",
        "SubmitReturn",
    ]  # fmt: skip
    present = {a.name for a in spec.actions}
    for name in kernel_steps:
        if name in present:
            spec.wf(name)
    # Strong fairness: IrqWorkRun(c, p) is disabled while c runs another prog's irq_work, so with two
    # progs it is only intermittently enabled. The kernel's irq_work_run_list runs every work on the
    # raised list in one interrupt, so none can be passed over for ever: SF says exactly that. A lock
    # spinner likewise gets the lock if it is free infinitely often.
    for name in ("IrqWorkRun", "SubmitLock", "DrainLock"):
        if name in present:
            spec.sf(name)
    # The environment: prog runs and their helper calls, user space, task exit. Never fair; a liveness
    # violation needs a fair cycle without them (an endless storm of them is not a hang).
    spec.environment_actions(
        *[
            n
            for n in ["ProgRunSubmit", "ProgDetach", "ProgFdClose", "MapFdClose", "MapDeleteElem", "TaskExit"]
            if n in present
        ]
    )

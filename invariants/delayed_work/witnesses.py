"""What the model must be able to do: behaviours the kernel allows, and the preconditions that make
each "holds" verdict non-vacuous.

A model is wrong in two ways: it allows what the kernel forbids (a false alarm, which a trace exposes),
or it forbids what the kernel allows (a false proof, which nothing exposes unless someone looks). Each
*kernel witness* below is a behaviour of the primitives the RFC builds on, with the source that says
the kernel can do it; ``make check`` fails when the model cannot reach one in a configuration where it
is registered. Each *precondition* names a situation a property is about ("the prog is freed"); where
it is unreachable the property holds only vacuously and the matrix must say so.

A witness is registered only where the configuration can show it (two runners need two CPUs, an NMI
submit needs NMI progs); ``register`` says why for each condition.
"""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_, count, not_


def register(spec: Spec, m: Any) -> None:
    """Attach the witnesses and the properties' preconditions to a delayed_work spec."""
    PC, RPhase, WFlags, Phase = m.PC, m.RPhase, m.WFlags, m.Phase
    task_ctx = m.variant == "task_context"
    irq_drain = not task_ctx
    takes_ref = m.items_hold_prog_ref
    closes = m.user_closes
    ctxs = [(c, lv) for c in m.CPU for lv in m.levels()]

    def prog_run(s: Any, c: int, lv: int) -> Any:
        """A prog's own run (not a callback's submit inside a drain)."""
        if lv != m.drain_level:
            return s.pc[c][lv] != PC.IDLE
        return and_(s.pc[c][lv] != PC.IDLE, s.runner[c] == RPhase.IDLE)

    def flavour_reader(s: Any, c: int, lv: int) -> Any:
        return m.level_busy(s, c, lv) if m.rcu == "call_rcu" else prog_run(s, c, lv)

    def gp_ended(s: Any, t: Any, p: int) -> Any:
        return and_(s.prog_phase[p] == Phase.RCU_WAIT, t.prog_phase[p] == Phase.SYNC)

    def linked(s: Any, w: int) -> Any:
        return m.occurrences(s, w) > 0

    def add(name: str, fn: Any, doc: str, action: str | None = None, kernel: bool = True) -> None:
        spec.witness(name, fn, doc, action, kernel)

    # ------------------------------------------------------------------ kernel witnesses
    # A prog grace period can outlive a reader only if a reader of its flavour can start after
    # call_rcu: under call_rcu a drain raised by a late irq_work_queue; under tasks_trace only another
    # prog's run (the prog itself is detached by then), so two progs are needed.
    if not task_ctx and closes and (m.rcu == "call_rcu" or m.progs > 1):
        add(
            "ReaderOutlivesGracePeriod",
            lambda s, t: and_(
                any_(gp_ended(s, t, p) for p in m.Prog), any_(flavour_reader(s, c, lv) for c, lv in ctxs)
            ),
            "The prog's grace period ends while an RCU reader of its flavour that began after call_rcu "
            "is still running. The call_rcu() kernel-doc (kernel/rcu/tree.c): the callback 'might well "
            "execute concurrently with RCU read-side critical sections that started after call_rcu()'.",
            action="RcuGracePeriod",
        )
    if m.map_kind == "hash":
        add(
            "ReaderOutlivesElemGracePeriod",
            lambda s, t: any_(m.level_busy(s, c, lv) for c, lv in ctxs),
            "A deleted hash element is freed (htab_elem_free_rcu, a call_rcu callback) while a prog run "
            "or drain that began after the delete is still running (call_rcu() kernel-doc, as above).",
            action="ElemFreeRcu",
        )
    if irq_drain and m.cpus > 1:
        add(
            "TwoRunnersOfOneIrqWork",
            lambda t: any_(
                and_(
                    t.runner[a] != RPhase.IDLE,
                    t.runner[b] != RPhase.IDLE,
                    t.runner_prog[a] == t.runner_prog[b],
                )
                for a in m.CPU
                for b in m.CPU
                if a < b
            ),
            "One irq_work's callback runs on two CPUs at once. kernel/irq_work.c, irq_work_queue_on: "
            "'Can be re-enqueued while the callback is still in progress'; include/linux/irq_work.h: "
            "busy (flags 2) 'callback in progress, can be claimed'.",
        )
    # On one CPU a task-level submit cannot run while that CPU's runner is active (the runner
    # interrupts it), and a hard-irq prog cannot either (same level): only an NMI prog or a callback
    # can queue the work while it is BUSY there.
    if irq_drain and (m.cpus > 1 or m.nmi or m.callback == "submits"):
        add(
            "IrqWorkQueuedWhileBusy",
            lambda s, t: any_(
                and_(s.iw_flags[p] == 2, t.iw_flags[p] == 3, t.iw_cpu[p] != m.NO_CPU) for p in m.Prog
            ),
            "irq_work_queue succeeds on a work that is BUSY but not PENDING: irq_work_claim does "
            "atomic_fetch_or(IRQ_WORK_CLAIMED) and fails only 'if (oflags & IRQ_WORK_PENDING)' "
            "(kernel/irq_work.c).",
            action="SubmitIrqWorkQueue",
        )
    if takes_ref and closes:
        add(
            "IncNotZeroFailsInRunningProg",
            lambda s, t: any_(
                and_(
                    s.pc[c][lv] == PC.CLAIMED,
                    t.pc[c][lv] == PC.IDLE,
                    any_(and_(s.sub_prog[c][lv] == p, s.prog_refcnt[p] == 0) for p in m.Prog),
                )
                for c, lv in ctxs
            ),
            "bpf_prog_inc_not_zero(aux->prog) fails inside a running prog: the refcnt reached 0 while "
            "the run (an RCU reader) goes on until the grace period (kernel/bpf/syscall.c: "
            "atomic64_fetch_add_unless(&prog->aux->refcnt, 1, 0) returns ERR_PTR(-ENOENT); brief §6).",
            action="SubmitReady",
        )
    if takes_ref and closes and irq_drain:
        add(
            "LastPutFromHardIrq",
            lambda s, t: any_(and_(s.prog_refcnt[p] == 1, t.prog_refcnt[p] == 0) for p in m.Prog),
            "The last bpf_prog_put is made by the drain in hard-irq; __bpf_prog_put then defers "
            "bpf_prog_put_deferred (and so call_rcu) to a workqueue: 'if (in_irq() || "
            "irqs_disabled())' ... schedule_work (kernel/bpf/syscall.c).",
            action="DrainPut",
        )
        add(
            "IrqWorkQueuedAfterLastPut",
            lambda s, t: any_(
                and_(s.prog_refcnt[p] == 0, s.prog_phase[p] != Phase.FREED, t.iw_cpu[p] != m.NO_CPU)
                for p in m.Prog
            ),
            "A prog run that took its reference before the last put raises the irq_work after the "
            "drain made that put: the helper's llist_add and irq_work_queue are separate steps of a "
            "run that the grace period waits for, but the drain it raises begins after call_rcu.",
            action="SubmitIrqWorkQueue",
        )
    if m.nmi and irq_drain:
        add(
            "NmiSubmitDuringDrain",
            lambda t: any_(and_(t.pc[c][2] != PC.IDLE, t.runner[c] != RPhase.IDLE) for c in m.CPU),
            "An NMI prog calls bpf_delayed_work_submit on a CPU whose hard-irq drain is running: NMIs "
            "interrupt hard-irq; the RFC allows the helper in NMI with CONFIG_ARCH_HAVE_NMI_SAFE_CMPXCHG.",
        )
    if m.map_kind == "hash":
        add(
            "ElemDeletedWhileQueued",
            lambda t: any_(and_(t.elem[w] == m.Elem.DELETED, linked(t, w)) for w in m.Item),
            "User space deletes the hash element whose bpf_delayed_work is queued: patch 1/3 adds no "
            "cancel to map_delete_elem (brief §1.2, §1.6-3).",
        )
    if closes:
        add(
            "UserGoneWithItemsPending",
            lambda t: and_(
                m.user_gone(t),
                any_(t.flags[w] == WFlags.READY for w in m.Item),
            ),
            "User space closes the prog fd, the link and the map fd while items are pending: nothing "
            "in the RFC waits for or cancels them (no map_release_uref hook, brief §1.2).",
        )

    # ------------------------------------------------------------------ preconditions (vacuity)
    def pre(name: str, fn: Any, doc: str, action: str | None = None) -> None:
        add(name, fn, doc, action, kernel=False)

    pre("ProgFreed", lambda t: any_(t.prog_phase[p] == Phase.FREED for p in m.Prog), "a prog is freed")
    pre(
        "ProgFreedAfterCallbacks",
        lambda t: and_(
            any_(t.prog_phase[p] == Phase.FREED for p in m.Prog), any_(t.runs[w] >= 1 for w in m.Item)
        ),
        "a prog is freed after callbacks ran",
    )
    pre(
        "ItemMemoryFreedAfterUse",
        lambda t: any_(and_(m.item_memory_freed(t, w), t.runs[w] >= 1) for w in m.Item),
        "the map value of an item whose callback ran is freed",
    )
    # Where no irq_work is ever freed (the posted leak, task_context) this is unreachable by
    # construction, so NoIrqWorkUseAfterFree can only hold vacuously, and the matrix says so.
    pre(
        "IrqWorkFreed",
        lambda t: (
            any_(t.prog_phase[p] == Phase.FREED for p in m.Prog) if m.irq_work_freed_with_prog else False
        ),
        "a prog and its bpf_delayed_irq_work are freed",
    )
    pre(
        "ConcurrentSubmits",
        lambda t: count(t.pc[c][lv] != PC.IDLE for c, lv in ctxs) >= 2,
        "two submits are in progress at once",
    )
    pre(
        "ItemResubmittedAfterRun",
        lambda s, t: any_(and_(s.runs[w] == 1, t.runs[w] == 0) for w in m.Item),
        "an item whose callback ran is claimed again",
        action="ProgRunSubmit",
    )
    pre(
        "TwoItemsOnOneList",
        lambda t: any_(lst[1] != m.NONE for lst in m.lists(t)) if m.items > 1 else False,
        "two items are queued on one list at once",
    )
    pre("ItemEnqueued", lambda t: any_(linked(t, w) for w in m.Item), "an item is queued")
    pre("UserGone", m.user_gone, "user space closed every fd and detached")
    pre("Detached", lambda t: not_(any_(t.prog_attached[p] for p in m.Prog)), "no prog is attached")

    stranding = ["TwoItemsOnOneList"] + (["IncNotZeroFailsInRunningProg"] if takes_ref and closes else [])
    for prop, needs in {
        "NoCallbackAfterProgFree": ["ProgFreedAfterCallbacks"],
        "NoMapAccessAfterFree": ["ItemMemoryFreedAfterUse"],
        "NoIrqWorkUseAfterFree": ["IrqWorkFreed"],
        "NoDoubleEnqueue": ["ConcurrentSubmits"],
        "NoStrandedItem": stranding,
        "RunsAtMostOnce": ["ItemResubmittedAfterRun"],
        "RefcountsConsistent": ["ItemEnqueued", "UserGone"],
        "Deadlock": ["ConcurrentSubmits"],
        "EverySubmittedWorkRuns": ["ItemEnqueued"],
        "RunsExactlyOnce": ["ItemEnqueued"],
        "ProgEventuallyFreed": ["UserGone"],
        "NoLivelock": ["Detached"],
    }.items():
        spec.nonvacuous(prop, *needs)

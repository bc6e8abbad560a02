"""What the bpf_task_work model must be able to do: kernel behaviours (the reading's W-* list,
docs/second-reading/bpf_task_work.md §3) and the preconditions that make each "holds" non-vacuous.

A witness is registered only where the configuration can show it; ``register`` says why for each
condition. A cell too small to show one names it under ``[cell.unreachable]`` with the reason.
"""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_, count, not_


def register(spec: Spec, m: Any) -> None:
    """Attach the witnesses and the properties' preconditions to a bpf_task_work spec."""
    St, PC, R, Tw, CB, IwFn, Mem, Phase, Job = m.St, m.PC, m.RPhase, m.Tw, m.CB, m.IwFn, m.Mem, m.Phase, m.Job
    cfg = m.cfg
    Obj = m.Obj
    closes = cfg["user_closes"]

    def add(name: str, fn: Any, doc: str, action: str | None = None, kernel: bool = True) -> None:
        spec.witness(name, fn, doc, action, kernel)

    def cancelled_in(state: int) -> Any:
        return lambda s, t: any_(and_(s.st[o] == state, t.st[o] == St.FREED) for o in Obj)

    # ------------------------------------------------------------------ kernel witnesses
    if cfg["alloc_fails"]:
        add(
            "CtxAllocFails",
            lambda s, t: any_(
                and_(s.pc[c] == PC.FETCH, t.pc[c] == PC.IDLE, s.aval[c] == v, t.slot[v] == m.NO_OBJ)
                for c in m.CPU
                for v in m.Val
            ),
            "bpf_task_work_fetch_ctx's allocation fails with the slot empty: -ENOMEM, and "
            "bpf_task_work_schedule puts its task and prog references (round5-issue21.md A3).",
            action="SchedFetch",
        )
    if m.ncpu > 1:
        add(
            "ClaimRaceLost",
            lambda s, t: any_(
                and_(s.pc[c] == PC.REF, t.pc[c] == PC.IDLE, s.aobj[c] == o, s.st[o] == St.PENDING)
                for c in m.CPU
                for o in Obj
            ),
            "W1(b): two schedulers tryget one ctx; one wins T1, the other's cmpxchg(STANDBY, PENDING) "
            "fails on PENDING: it puts and returns -EBUSY (bpf_task_work_acquire_ctx).",
            action="SchedClaim",
        )
    for name, state, doc in (
        ("CancelInStandby", St.STANDBY, "W2: cancel_and_free of an idle ctx puts the map's ref"),
        (
            "CancelInPending",
            St.PENDING,
            "W3: cancel_and_free while the irq_work is queued (kfunc returned 0)",
        ),
        ("CancelInScheduling", St.SCHEDULING, "W4: cancel_and_free between T2 and T4"),
        ("CancelInScheduled", St.SCHEDULED, "W5: cancel_and_free while the task_work is queued"),
        ("CancelWhileRunning", St.RUNNING, "W6: cancel_and_free while callback_fn runs"),
    ):
        add(
            name, cancelled_in(state), doc + " (bpf_task_work_cancel_and_free: xchg(state, FREED)).", "XState"
        )
    if cfg["cancel_scheduled"]:
        add(
            "CancelScheduledWins",
            lambda s, t: any_(
                and_(s.iw_fn[o] == IwFn.CANCEL, s.tw[o] == Tw.QUEUED, t.tw[o] == Tw.NONE) for o in Obj
            ),
            "W5(a): bpf_task_work_cancel_scheduled's task_work_cancel removes the queued work before "
            "the task runs it.",
            action="IrqRun",
        )
        add(
            "CallbackBeatsCancelScheduled",
            lambda s, t: any_(
                and_(s.st[o] == St.FREED, s.iw_cpu[o] != m.NO_CPU, s.iw_fn[o] == IwFn.CANCEL) for o in Obj
            ),
            "W5(b): the task runs the callback before cancel_scheduled: T6 sees FREED, put, return; "
            "the cancel then fails and puts the map's ref.",
            action="CbStart",
        )
    add(
        "CallbackSeesFreed",
        lambda s, t: any_(and_(s.tw[o] == Tw.DETACHED, t.tw[o] == Tw.NONE, s.st[o] == St.FREED) for o in Obj),
        "W4(b)/W5(b): bpf_task_work_callback's T5/T6 find FREED (the value was deleted after the "
        "work was queued).",
        action="CbStart",
    )
    add(
        "IrqRunsAfterFreed",
        lambda s, t: any_(
            and_(
                s.iw_cpu[o] != m.NO_CPU, s.iw_fn[o] == IwFn.IRQ, s.st[o] == St.FREED, t.iw_cpu[o] == m.NO_CPU
            )
            for o in Obj
        ),
        "W3: bpf_task_work_irq runs on a ctx already FREED: T2 fails (cmpxchg(PENDING, SCHEDULING) "
        "returns FREED).",
        action="IrqRun",
    )
    if cfg["task_exits"]:
        add(
            "TaskWorkAddFails",
            lambda s, t: not_(s.task_alive),
            "W7: task_work_add returns -ESRCH because the target passed exit_task_work "
            "(kernel/task_work.c: work_exited); the round is dropped silently after the kfunc returned 0.",
            action="IrqAdd",
        )
    add(
        "CallbackOvertakesIrq",
        lambda s, t: any_(
            and_(s.tw[o] == Tw.DETACHED, s.st[o] == St.SCHEDULING, t.st[o] == St.RUNNING) for o in Obj
        ),
        "W8: the task runs the callback before bpf_task_work_irq's T4: T5 cmpxchg(SCHEDULING, "
        "RUNNING) ('This callback may start running before bpf_task_work_irq() switched to SCHEDULED').",
        action="CbStart",
    )
    if m.ncpu > 1:
        add(
            "IrqWorkReinitWhileBusy",
            lambda s, t: any_(and_(s.iw_flags[o] == 2, t.iw_flags[o] == 3) for o in Obj),
            "reading §1.4/W8: a new round re-inits and queues ctx->irq_work while the previous run is "
            "still BUSY in irq_work_single on another CPU.",
            action=m.fill_action,
        )
        add(
            "StaleIrqMarksNextRound",
            lambda s, t: any_(
                and_(s.st[o] == St.SCHEDULING, t.st[o] == St.SCHEDULED, s.tw[o] == Tw.NONE) for o in Obj
            ),
            "W8 extension: a stale bpf_task_work_irq's T4 turns the next round's SCHEDULING into "
            "SCHEDULED before that round's task_work_add.",
            action="IrqT4",
        )
    if m.ncpu > 1 and cfg["task_exits"]:
        add(
            "SlotWedged",
            lambda t: any_(
                and_(
                    t.st[o] == St.SCHEDULED,
                    t.tw[o] == Tw.NONE,
                    t.iw_cpu[o] == m.NO_CPU,
                    not_(t.armed[o]),
                    not_(any_(t.robj[c] == o for c in m.CPU)),
                    not_(and_(t.cbobj == o, t.cb != CB.IDLE)),
                )  # fmt: skip
                for o in Obj
            ),
            "W9b: SCHEDULED with no queued work and nobody to move it (the stale T4, then the next "
            "round's task_work_add fails): every schedule gets -EBUSY until cancel_and_free.",
        )
    if cfg["usercnt_check"] == "after" and closes:
        add(
            "CheckAfterClaimSeesZero",
            lambda s, t: any_(and_(s.pc[c] == PC.CLAIMED, t.pc[c] == PC.XSLOT) for c in m.CPU),
            "W11/T1u: the usercnt check after T1 reads 0: put the own ref, cancel_and_free, -EBUSY.",
            action="SchedCheckAfter",
        )
    if closes:
        add(
            "SweepFreesClaimedRound",
            lambda s, t: and_(
                s.job == Job.RELEASE, any_(and_(s.st[o] == St.PENDING, t.st[o] == St.FREED) for o in Obj)
            ),
            "W11: map_release_uref's sweep finds a ctx claimed by a scheduler (PENDING) and frees it; "
            "the irq's T2 then fails.",
            action="XState",
        )
        add(
            "ProgIncFails",
            lambda s, t: and_(
                s.prog_refcnt == 0, any_(and_(s.pc[c] == PC.RUN, t.pc[c] == PC.IDLE) for c in m.CPU)
            ),
            "W13: bpf_prog_inc_not_zero fails inside a running prog whose refcnt reached 0: -EBADF "
            "before any claim.",
            action="SchedIncProg",
        )
        add(
            "LastCtxPutInIrq",
            lambda s, t: any_(and_(s.ref[o] == 1, t.ref[o] == 0) for o in Obj),
            "W17: the final ctx_put is made by the irq_work (bpf_task_work_irq or cancel_scheduled) "
            "with irqs disabled.",
            action="IrqPut",
        )
        add(
            "LastProgPutInIrq",
            lambda t: t.prog_phase == Phase.PUT_DEFERRED,
            "W17: ctx_reset in the irq_work makes the last bpf_prog_put, which __bpf_prog_put defers "
            "to a workqueue (in_irq() || irqs_disabled()).",
        )
    if m.ncpu > 1:
        add(
            "TwoRunnersOfOneIrqWork",
            lambda t: any_(
                and_(t.runner[a] != R.IDLE, t.runner[b] != R.IDLE, t.robj[a] == t.robj[b])
                for a in m.CPU
                for b in m.CPU
                if a < b
            ),
            "irq_work_queue_on: 'Can be re-enqueued while the callback is still in progress': the "
            "ctx's irq_work runs on two CPUs at once (a new round, or cancel_scheduled).",
        )

    # ------------------------------------------------------------------ preconditions (vacuity)
    def pre(name: str, fn: Any, doc: str, action: str | None = None) -> None:
        add(name, fn, doc, action, kernel=False)

    pre("CtxFreed", lambda t: any_(t.mem[o] == Mem.FREED for o in Obj), "a ctx is freed")
    pre("CtxMarkedFreed", lambda t: any_(and_(t.mem[o] != Mem.UNUSED, t.st[o] == St.FREED) for o in Obj),
        "a ctx is FREED")  # fmt: skip
    pre("ProgFreedAfterCallback", lambda t: and_(t.prog_phase == Phase.FREED, t.cb_ran),
        "the prog is freed after a callback ran")  # fmt: skip
    pre(
        "MapFreedAfterCallback",
        lambda t: and_(t.map_freed, t.cb_ran),
        "the map is freed after a callback ran",
    )
    pre("FreedWhileArmed", lambda t: any_(and_(t.armed[o], t.st[o] == St.FREED) for o in Obj),
        "a ctx is FREED while its round is armed")  # fmt: skip
    if cfg["cancel_scheduled"]:
        pre(
            "TaskWorkCancelCalled",
            lambda s, t: any_(
                and_(s.iw_cpu[o] != m.NO_CPU, s.iw_fn[o] == IwFn.CANCEL, t.iw_cpu[o] == m.NO_CPU) for o in Obj
            ),
            "cancel_scheduled's task_work_cancel runs",
            action="IrqRun",
        )
    else:
        pre(
            "TaskWorkCancelCalled",
            lambda s, t: True,
            "the irq's post-add task_work_cancel runs",
            action="IrqCancel",
        )
    pre("ScheduleAfterSweep", lambda t: and_(t.swept, any_(t.pc[c] != PC.IDLE for c in m.CPU)),
        "a prog schedules after the uref sweep")  # fmt: skip
    pre(
        "SecondRound",
        lambda s, t: s.cb_ran,
        "a ctx is claimed and queued again after a callback ran",
        action=m.fill_action,
    )
    pre("Armed", lambda t: any_(t.armed[o] for o in Obj), "a round is armed")
    pre("UserGone", m.user_gone, "user space closed the map fd and detached and closed the prog")
    pre(
        "ConcurrentSchedules",
        lambda t: count(t.pc[c] != PC.IDLE for c in m.CPU) >= 2,
        "two schedules at once",
    )

    for prop, needs in {
        "NoCallbackAfterProgFree": ["ProgFreedAfterCallback"],
        "NoMapAccessAfterFree": ["MapFreedAfterCallback"],
        "NoAsyncUseAfterFree": ["CtxFreed"],
        "NoSpinDeadlock": ["ConcurrentSchedules"],
        "FreedIsAbsorbing": ["CtxMarkedFreed"],
        "FreedMarkedOnce": ["CtxMarkedFreed"],
        "CtxRefsConsistent": ["CtxFreed", "ConcurrentSchedules"],
        "NoCallbackOnFreedCtx": ["FreedWhileArmed"],
        "NoNullTaskDeref": ["TaskWorkCancelCalled"],
        "NoCallbackAfterUrefSweep": ["ScheduleAfterSweep"],
        "NoLateRoundRuns": ["ScheduleAfterSweep"],
        "NoIrqWorkReinitWhilePending": ["SecondRound"],
        "StepsSeeExpectedStates": ["SecondRound", "FreedWhileArmed"],
        "Deadlock": ["ConcurrentSchedules"],
        "EveryArmedCallbackRunsOrIsCancelled": ["Armed"],
        "AsyncEventuallyFreed": ["UserGone"],
        "ProgEventuallyFreed": ["UserGone"],
    }.items():
        spec.nonvacuous(prop, *needs)

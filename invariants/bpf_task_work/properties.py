"""What must hold of bpf_task_work (spec/bpf_task_work), and why the kernel cares.

The shared properties (invariants/common.py) keep their meaning across designs; the design-specific
ones follow the reading's §2 invariant and §5. The model halts a behaviour at its first undefined
behaviour (a use of freed memory, a NULL ctx->task dereference, a refcount underflow), so each
liveness goal also counts as reached once memory is corrupted: the liveness columns speak only of
uncorrupted behaviours and the safety columns report the rest.
"""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, all_, and_, count, implies, not_, or_

SAFETY = [
    "NoCallbackAfterProgFree",
    "NoMapAccessAfterFree",
    "NoAsyncUseAfterFree",
    "NoSpinDeadlock",
    "FreedIsAbsorbing",
    "FreedMarkedOnce",
    "CtxRefsConsistent",
    "NoCallbackOnFreedCtx",
    "NoNullTaskDeref",
    "NoCallbackAfterUrefSweep",
    "NoLateRoundRuns",
    "StepsSeeExpectedStates",
    "NoIrqWorkReinitWhilePending",
]
LIVENESS = ["EveryArmedCallbackRunsOrIsCancelled", "AsyncEventuallyFreed", "ProgEventuallyFreed"]


def register(spec: Spec, m: Any) -> None:
    """Attach the bpf_task_work properties and fairness assumptions to the model's Spec."""
    Mem, Phase, CB = m.Mem, m.Phase, m.CB
    cfg = m.cfg

    def NoCallbackAfterProgFree(s):
        """callback_fn is never entered, and never runs, once its prog is freed.

        Tests: the per-round ctx->prog ref taken by bpf_prog_inc_not_zero before any claim and
        dropped by ctx_reset after callback_fn returns (reading §5 (a), W13). Kernel consequence: a
        jump into freed JIT text."""
        return and_(not_(s.uaf_prog), not_(and_(s.cb == CB.RUN, s.prog_phase == Phase.FREED)))

    def NoMapAccessAfterFree(s):
        """No map value (the slot, or the value callback_fn gets) is accessed after the map's memory
        is freed. This is memory safety only: callback_fn running on a value that was deleted or
        swept (W6) is allowed, and NoCallbackOnFreedCtx speaks of entering on a FREED ctx.

        Tests: the callback's prog ref keeps used_maps, hence the map, alive (reading §5 (b))."""
        return and_(not_(s.uaf_map), not_(and_(s.cb == CB.RUN, s.map_freed)))

    def NoAsyncUseAfterFree(s):
        """No ctx (struct bpf_task_work_ctx) memory is read or written after bpf_mem_free: not by
        helpers.c (a scheduler's tryget in window A, the irq's T4/cancel in window B, any put), nor by
        the irq_work core (irq_work_single's run start or final flag cmpxchg).

        Tests: the refcount, plus (free_after_gp) a grace period covering the ref-less windows
        (reading §2 windows A, B; §5 (c); W10). Kernel consequence: V8's bpf_mem_free makes the
        object reusable at once: a tryget or cmpxchg on another value's ctx."""
        return and_(not_(s.uaf_ctx), not_(s.uaf_irq_core))

    def NoSpinDeadlock(s):
        """Trivially true: nothing in bpf_task_work waits. The state and the slot are lock-free
        (cmpxchg/xchg) and every cleanup is wait-free (reading §1.2, §5 (d)); the one lock,
        task->pi_lock in task_work_cancel, is taken only from the irq_work, never from a prog, and is
        not modelled. The Deadlock column (no enabled step in a non-quiescent state) is the other half."""
        return True

    def FreedIsAbsorbing(s):
        """A ctx's state never leaves FREED (every transition out of a live state is a cmpxchg from
        that state; reading §1)."""
        return not_(s.left_freed)

    def FreedMarkedOnce(s):
        """xchg(&ctx->state, FREED) runs at most once per ctx: xchg(&twk->ctx, NULL) hands each ctx to
        exactly one cancel_and_free (reading §0.1-5: brief §8's FREED->FREED is unreachable)."""
        return not_(s.freed_twice)

    def CtxRefsConsistent(s):
        """Each live ctx's refcount equals its holders (reading §2 invariant): the map's ref (the
        slot, a cancel_and_free between its xchg and its put, a pending cancel_scheduled) + the round
        ref (queued irq_work, runner before its put, queued/detached task_work, the callback) + one
        per scheduler between tryget and its T1 outcome; a freed ctx has 0; ctx->prog only while the
        ctx's round is outstanding. The prog's refcnt equals fd + link + schedulers holding their
        own ref + ctx->prog refs."""
        ok = []
        for o in m.Obj:
            holders = list(m.map_ref_holders(s, o))
            if cfg["round_ref"]:
                holders += m.round_holders(s, o) + m.transient_holders(s, o)
            live = or_(s.mem[o] == Mem.LIVE)
            ok.append(implies(live, s.ref[o] == count(holders)))
            ok.append(implies(not_(live), s.ref[o] == 0))
        ctx_progs = count(s.has_prog[o] for o in m.Obj)
        scheds = count(m.sched_holds_prog(s, c) for c in m.CPU)
        ok.append(s.prog_refcnt == count([s.prog_fd, s.prog_attached]) + scheds + ctx_progs)
        return all_(ok)

    def NoCallbackOnFreedCtx(s):
        """callback_fn is never entered on a ctx whose state is FREED (T5/T6 fail: put, return).
        FREED may still be set while callback_fn runs (W6; reading §0.1-7)."""
        return not_(s.cb_on_freed)

    def NoNullTaskDeref(s):
        """task_work_add/task_work_cancel never get ctx->task == NULL (reading W9/W9b: a delayed
        bpf_task_work_irq, or cancel_scheduled on a wedged SCHEDULED ctx, after ctx_reset)."""
        return not_(s.null_task)

    def NoCallbackAfterUrefSweep(s):
        """Once map_release_uref's sweep has returned (usercnt still 0), no callback_fn is entered:
        'dropping user references should stop everything' (V8 comment; reading §4 (i)) read as a
        barrier. Stronger than NoLateRoundRuns: it also asks that a round armed before the drop and
        still in flight be stopped by the time the sweep returns."""
        return not_(s.cb_after_sweep)

    def NoLateRoundRuns(s):
        """No callback_fn is entered for a round armed (bpf_task_work_schedule returned 0) while the
        map's usercnt was 0: the policy of the post-claim check (reading §4: the check after T1 and
        the uref sweep form a store-buffering pair, so no round escapes the sweep)."""
        return not_(s.late_cb)

    def StepsSeeExpectedStates(s):
        """A queued bpf_task_work_irq finds PENDING or FREED ('only FREED is possible' when T2
        fails), and a detached callback finds SCHEDULING, SCHEDULED or FREED (T5/T6): the comments
        of bpf_task_work_irq and bpf_task_work_callback (reading §1.1 T2, T5, T6)."""
        St, Tw, IwFn = m.St, m.Tw, m.IwFn
        ok = []
        for o in m.Obj:
            irq = and_(s.iw_cpu[o] != m.NO_CPU, s.iw_fn[o] == IwFn.IRQ)
            ok.append(implies(irq, or_(s.st[o] == St.PENDING, s.st[o] == St.FREED)))
            cb_states = or_(s.st[o] == St.SCHEDULING, s.st[o] == St.SCHEDULED, s.st[o] == St.FREED)
            ok.append(implies(s.tw[o] == Tw.DETACHED, cb_states))
        return all_(ok)

    def NoIrqWorkReinitWhilePending(s):
        """init_irq_work is never applied to ctx->irq_work while it is PENDING on a raised list (that
        would relink a queued llist node; reading §1.4 [our reading])."""
        return not_(s.reinit_pending)

    for fn in (
        NoCallbackAfterProgFree,
        NoMapAccessAfterFree,
        NoAsyncUseAfterFree,
        NoSpinDeadlock,
        FreedIsAbsorbing,
        FreedMarkedOnce,
        CtxRefsConsistent,
        NoCallbackOnFreedCtx,
        NoNullTaskDeref,
        NoCallbackAfterUrefSweep,
        NoLateRoundRuns,
        StepsSeeExpectedStates,
        NoIrqWorkReinitWhilePending,
    ):
        spec.invariant(fn)

    # ---------------------------------------------------------------- liveness
    for o in m.Obj:
        spec.leads_to(
            f"EveryArmedCallbackRunsOrIsCancelled[{m.Obj.show(o)}]",
            lambda s, o=o: s.armed[o],
            lambda s, o=o: or_(not_(s.armed[o]), m.broken(s)),
            "A round whose bpf_task_work_schedule returned 0 eventually enters callback_fn, or is "
            "dropped because the value was freed (W3-W5) or the task exited (W7) (reading §5 (e)).",
        )

    def ctxs_freed(s):
        return or_(all_(or_(s.mem[o] == Mem.UNUSED, s.mem[o] == Mem.FREED) for o in m.Obj), m.broken(s))

    spec.leads_to(
        "AsyncEventuallyFreed",
        m.user_gone,
        ctxs_freed,
        "Once user space closed the map fd and detached and closed the prog, every ctx is freed "
        "(reading §5 (f)).",
    )
    spec.leads_to(
        "ProgEventuallyFreed",
        m.user_gone,
        lambda s: or_(s.prog_phase == Phase.FREED, m.broken(s)),
        "Once user space let go, the prog is freed: nothing pins it (reading §5 (g); Leak 1/2 of §4).",
    )

    # Fairness: every kernel step, once enabled, eventually happens (a started schedule finishes,
    # a queued irq_work runs, a started callback returns, grace periods end, the free paths run).
    # User space and prog runs are not fair; nor is the target's return to user space when
    # target = may_block (a task blocked for ever, a kthread: W15), nor its exit.
    kernel_steps = [
        "SchedIncProg", "SchedCheckBefore", "SchedFetch", "SchedTryget", "SchedClaim", "SchedCheckAfter",
        "XSlot", "XClear", "XState", "XPut", "IrqAdd", "IrqT4", "IrqCancel", "IrqPut", "IrqDone",
        "CbStart", "CbEnd", "CbPut", "ProgPutDeferred", "ProgFree", "CtxGpEnd", "SchedReturn",
    ]  # fmt: skip
    if cfg["target"] == "returns":
        kernel_steps.append("TaskWorkTake")
    present = {a.name for a in spec.actions}
    for name in kernel_steps:
        if name in present:
            spec.wf(name)
    # IrqRun(c, o) is disabled while c runs another irq_work: irq_work_run_list runs every work on
    # the raised list, so none is passed over for ever (strong fairness).
    spec.sf("IrqRun")
    # The environment: prog runs and their helper calls, user space, task exit. Never fair; a liveness
    # violation needs a fair cycle without them (an endless storm of them is not a hang).
    spec.environment_actions(
        *[
            n
            for n in ["SchedRun", "TaskExit", "UserUpdate", "MapFdClose", "ProgDetach", "ProgFdClose"]
            if n in present
        ]
    )

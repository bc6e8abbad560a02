"""One small spec per kernel building block, to show that the block allows what the kernel allows.

``make_spec(block=NAME)`` builds a two-CPU harness that drives the block's functions the way a design
model does, and registers the block's **behaviour witnesses**: interleavings the kernel allows, each
with its source. ``tests/test_kernel_blocks.py`` explores every harness and fails if a witness is
unreachable (the block forbids a kernel behaviour: a proof built on it would be a false proof) or an
invariant of the harness fails (the block allows what the kernel forbids). The design models register
the same kinds of witness for the way they use each block (their ``witnesses`` modules).

``python -m explorer check`` can run a harness too (a config with ``model = "spec.kernel.harness"``).
"""

from __future__ import annotations

from typing import Any

from spec.kernel import hrtimer, irq_work, llist, prog, rcu, task_work, workqueue
from spec.lang import Bool, Enum, Fn, Int, Spec, SpecError, and_, any_, const_fn, ite, not_, or_, put, when

BLOCKS = ["rcu", "llist", "irq_work", "prog", "hrtimer", "workqueue", "task_work"]
PARAMS: dict[str, tuple] = {"block": (str, "rcu", BLOCKS)}

CPU = Enum("CPU", ["cpu0", "cpu1"])
CpuOrNone = Enum("CpuOrNone", ["cpu0", "cpu1", "none"])
NO_CPU = 2


def make_spec(**constants: Any) -> Spec:
    unknown = sorted(set(constants) - set(PARAMS))
    if unknown:
        raise SpecError(f"kernel harness: unknown constant(s) {', '.join(unknown)}")
    block = constants.get("block", "rcu")
    if block not in BLOCKS:
        raise SpecError(f"kernel harness: unknown block {block!r} (known: {', '.join(BLOCKS)})")
    spec = Spec(f"kernel[{block}]")
    spec.constants = {"block": block}
    globals()[f"_{block}"](spec)
    return spec


def _rcu(spec: Spec) -> None:
    """Two readers (one per CPU) and one call_rcu whose grace period then ends."""
    GP = Enum("GP", ["IDLE", "WAITING", "DONE"])
    spec.var("reading", Fn(CPU, Bool), const_fn(CPU, False))
    spec.var("gp", GP, GP.IDLE)
    spec.var("waited", Fn(Enum("Key", ["gp0"]), Fn(CPU, Fn(Enum("Level", ["L0"]), Bool))),
             (rcu.nobody(2, 1),))  # fmt: skip
    # ghost: reader c has been inside one section since call_rcu was issued
    spec.var("since_call", Fn(CPU, Bool), const_fn(CPU, False))

    @spec.action(c=CPU)
    def ReaderStart(s, c):
        return when(not_(s.reading[c]), reading=put(s.reading, c, True))

    @spec.action(c=CPU)
    def ReaderEnd(s, c):
        return when(s.reading[c], reading=put(s.reading, c, False), since_call=put(s.since_call, c, False))

    @spec.action()
    def CallRcu(s):
        now = rcu.snapshot(lambda c, _lv: s.reading[c], 2, 1)
        return when(
            s.gp == GP.IDLE, gp=GP.WAITING, waited=rcu.start_gp(s.waited, 0, now), since_call=s.reading
        )

    @spec.action()
    def GracePeriodEnds(s):
        return when(and_(s.gp == GP.WAITING, rcu.gp_over(s.waited[0])), gp=GP.DONE)

    for a in spec.actions:
        a.fn = rcu.end_finished_readers(
            a.fn, ("reading",), [(c, 0) for c in CPU], lambda t, c, _lv: not_(t.reading[c]), ["waited"]
        )

    @spec.invariant
    def PreexistingReadersWaitedFor(s):
        """A grace period never ends while a reader that was in flight at call_rcu is still inside."""
        return not_(and_(s.gp == GP.DONE, any_(s.since_call[c] for c in CPU)))

    spec.witness(
        "ReaderOutlivesGracePeriod",
        lambda s, t: any_(t.reading[c] for c in CPU),
        "The grace period ends while a reader that began after call_rcu is still inside "
        "(call_rcu() kernel-doc, kernel/rcu/tree.c: the callback 'might well execute concurrently "
        "with RCU read-side critical sections that started after call_rcu()').",
        action="GracePeriodEnds",
    )
    spec.witness(
        "GracePeriodWaitsForNothing",
        lambda s, t: not_(any_(s.since_call[c] for c in CPU)),
        "A grace period with no reader in flight at call_rcu may end at once (it waits for nothing).",
        action="GracePeriodEnds",
    )


def _llist(spec: Spec) -> None:
    """Two nodes, one list head, one consumer's detached chain."""
    Node = Enum("Node", ["a", "b", "none"])
    NONE = 2
    spec.var("head", Fn(Enum("Slot", 2), Node), (NONE, NONE))
    spec.var("chain", Fn(Enum("Slot", 2), Node), (NONE, NONE))
    spec.var("order", Fn(Enum("Slot", 2), Node), (NONE, NONE), "the nodes in the order they were added")
    spec.var("double_enqueue", Bool, False)

    def linked(s, n):
        return any_(x == n for x in (*s.head, *s.chain))

    @spec.action(n=(Node, [0, 1]))
    def LlistAdd(s, n):
        first = s.order[0] != NONE
        ordered = (ite(first, s.order[0], n), ite(first, n, NONE))
        return [
            when(and_(not_(s.double_enqueue), g), head=new, order=ordered, **ghost)
            for g, new, ghost in llist.add_cases(s.head, n, linked(s, n))
        ]

    @spec.action()
    def LlistDelAllReverse(s):
        return [
            when(and_(not_(s.double_enqueue), s.chain[0] == NONE, g), head=llist.empty(s.head, NONE), chain=c)
            for g, c in llist.reversed_prefixes(s.head, NONE)
        ]

    @spec.action()
    def ConsumeHead(s):
        return when(s.chain[0] != NONE, chain=llist.pop_front(s.chain, NONE))

    spec.witness(
        "DelAllNewestFirst",
        lambda t: and_(t.head[0] == t.order[1], t.head[1] == t.order[0], t.order[1] != NONE),
        "llist_add pushes at the head, so the list reads newest first (llist.h: 'the order of entries "
        "deleted is from the newest to the oldest added one').",
    )
    spec.witness(
        "ReverseRunsOldestFirst",
        lambda t: and_(t.chain[0] == t.order[0], t.chain[1] == t.order[1], t.order[1] != NONE),
        "llist_reverse_order returns the new first entry: the oldest node (lib/llist.c).",
    )
    spec.witness(
        "AddWhileConsumerHoldsChain",
        lambda t: and_(t.chain[0] != NONE, t.head[0] != NONE),
        "llist_add and llist_del_all need no lock between them: a producer adds while a consumer "
        "walks the chain it took (llist.h's table).",
    )
    spec.witness(
        "DoubleAddCorrupts",
        lambda t: t.double_enqueue,
        "llist_add of a node that is still linked rewrites its next pointer (llist_add_batch).",
    )


def _irq_work(spec: Spec) -> None:
    """One irq_work, queued from either CPU, run on the CPU it was queued on, and one syncer."""
    RPhase = Enum("RPhase", ["IDLE", "IN_FUNC"])
    spec.var("flags", Int(0, 3), 0)
    spec.var("queued_on", CpuOrNone, NO_CPU)
    spec.var("runner", Fn(CPU, RPhase), const_fn(CPU, RPhase.IDLE))
    spec.var("seen", Fn(CPU, Int(0, 3)), const_fn(CPU, 0))
    spec.var("synced", Bool, False, "irq_work_sync returned once")

    @spec.action(c=CPU)
    def IrqWorkQueue(s, c):
        flags, _queues = irq_work.claim(s.flags)
        return when(True, flags=flags, queued_on=irq_work.queue_cpu(s.flags, s.queued_on, c))

    @spec.action(c=CPU)
    def IrqWorkRun(s, c):
        cleared = irq_work.run_start(s.flags)
        return when(
            and_(s.queued_on == c, s.runner[c] == RPhase.IDLE),
            queued_on=NO_CPU, flags=cleared, seen=put(s.seen, c, cleared),
            runner=put(s.runner, c, RPhase.IN_FUNC),
        )  # fmt: skip

    @spec.action(c=CPU)
    def IrqWorkDone(s, c):
        return when(
            s.runner[c] == RPhase.IN_FUNC,
            flags=irq_work.run_end(s.flags, s.seen[c]), runner=put(s.runner, c, RPhase.IDLE),
            seen=put(s.seen, c, 0),
        )  # fmt: skip

    @spec.action()
    def IrqWorkSync(s):
        return when(and_(not_(s.synced), irq_work.sync_passes(s.flags)), synced=True)

    @spec.invariant
    def PendingMeansQueued(s):
        """A PENDING work is on exactly one raised list (irq_work_queue's claim is the gate)."""
        return (s.queued_on != NO_CPU) == irq_work.is_pending(s.flags)

    spec.witness(
        "ClaimWhileBusySucceeds",
        lambda s, t: and_(s.flags == irq_work.BUSY, t.queued_on != NO_CPU),
        "A claim of a BUSY but not PENDING work succeeds and queues it (irq_work_claim; "
        "irq_work_queue_on: 'Can be re-enqueued while the callback is still in progress').",
        action="IrqWorkQueue",
    )
    spec.witness(
        "TwoRunnersOverlap",
        lambda t: and_(t.runner[0] == RPhase.IN_FUNC, t.runner[1] == RPhase.IN_FUNC),
        "Re-queued on another CPU while its func runs, the work runs there too: two runners overlap.",
    )
    spec.witness(
        "SyncReturnsWhileARunnerIsInside",
        lambda s, t: any_(s.runner[c] == RPhase.IN_FUNC for c in CPU),
        "irq_work_sync reads flags without BUSY while a later runner is still in func: the earlier "
        "runner's final cmpxchg matched its snapshot and cleared the one shared BUSY bit (brief §2).",
        action="IrqWorkSync",
    )
    spec.witness(
        "QueueCoalesces",
        lambda s, t: and_(irq_work.is_pending(s.flags), t.queued_on == s.queued_on),
        "irq_work_queue on a PENDING work returns false and raises nothing ('Only queue if not "
        "already pending').",
        action="IrqWorkQueue",
    )


def _prog(spec: Spec) -> None:
    """One prog: two user references, a run that may call bpf_prog_inc_not_zero, a put from hard-irq."""
    Phase = Enum("Phase", prog.PHASES)
    spec.var("refcnt", Fn(Enum("P", ["p0"]), Int(-1, 3)), (2,))
    spec.var("phase", Fn(Enum("P", ["p0"]), Phase), (Phase.LIVE,))
    spec.var("running", Bool, False)
    spec.var("inc_failed", Bool, False)
    spec.var("run_holds_ref", Bool, False, "the run's bpf_prog_inc_not_zero succeeded")
    spec.var("user_refs", Int(0, 2), 2, "the fd and the attach link")

    @spec.action()
    def RunStart(s):
        return when(and_(not_(s.running), s.phase[0] == Phase.LIVE, s.refcnt[0] > 0), running=True)

    @spec.action()
    def RunIncNotZero(s):
        ok, new = prog.inc_not_zero(s.refcnt[0])
        g = and_(s.running, not_(s.run_holds_ref), not_(s.inc_failed))
        return [
            when(and_(g, ok), refcnt=(new,), run_holds_ref=True),
            when(and_(g, not_(ok)), inc_failed=True),
        ]

    @spec.action()
    def RunEnd(s):
        """The run ends and puts the reference it took (a put from a syscall-like context)."""
        refs, phases, _ = prog.put_ref(s.refcnt, s.phase, 0, Phase, False)
        return [
            when(
                and_(s.running, s.run_holds_ref),
                running=False,
                run_holds_ref=False,
                refcnt=refs,
                phase=phases,
            ),
            when(and_(s.running, not_(s.run_holds_ref)), running=False),
        ]

    for name, hard in (("PutFromSyscall", False), ("PutFromHardirq", True)):

        def put_action(s, hard=hard):
            refs, phases, _ = prog.put_ref(s.refcnt, s.phase, 0, Phase, hard)
            return when(s.user_refs > 0, refcnt=refs, phase=phases, user_refs=s.user_refs - 1)

        put_action.__name__ = name
        spec.action()(put_action)

    @spec.invariant
    def NeverRaisedFromZero(s):
        """bpf_prog_inc_not_zero never takes a count up from 0, and no put takes it below 0."""
        return and_(s.refcnt[0] >= 0, or_(s.refcnt[0] > 0, s.phase[0] != Phase.LIVE))

    spec.witness(
        "IncNotZeroFailsDuringARun",
        lambda t: t.inc_failed,
        "A prog still runs after its refcnt reached 0 (the free waits a grace period), so "
        "bpf_prog_inc_not_zero inside it fails (brief §6).",
    )
    spec.witness(
        "LastPutInHardirqDefers",
        lambda t: t.phase[0] == Phase.PUT_DEFERRED,
        "__bpf_prog_put in hard-irq or with irqs off defers bpf_prog_put_deferred to a workqueue.",
    )


def _hrtimer(spec: Spec) -> None:
    """One soft hrtimer started from task context or from its own callback, cancelled from a task."""
    Pc = Enum("Pc", ["IDLE", "CANCEL_WAIT"])
    spec.var("state", Enum("HrState", hrtimer.STATES), hrtimer.INACTIVE)
    spec.var("running", CpuOrNone, NO_CPU)
    spec.var("pc", Fn(CPU, Pc), const_fn(CPU, Pc.IDLE), "a task's hrtimer_cancel in progress")
    spec.var("rearmed", Bool, False, "ghost: started while its callback ran")

    @spec.action(c=CPU)
    def HrtimerStart(s, c):
        return when(s.pc[c] == Pc.IDLE, state=hrtimer.ENQUEUED)

    @spec.action(c=CPU)
    def HrtimerExpire(s, c):
        return when(
            hrtimer.can_expire(s.state, s.running, NO_CPU), state=hrtimer.INACTIVE, running=c, rearmed=False
        )

    @spec.action(c=CPU)
    def CallbackRearms(s, c):
        return when(and_(s.running == c, not_(s.rearmed)), state=hrtimer.ENQUEUED, rearmed=True)

    @spec.action(c=CPU)
    def CallbackReturns(s, c):
        return when(s.running == c, running=NO_CPU)

    @spec.action(c=CPU)
    def HrtimerCancel(s, c):
        return when(and_(s.pc[c] == Pc.IDLE, s.running != c), pc=put(s.pc, c, Pc.CANCEL_WAIT))

    @spec.action(c=CPU)
    def HrtimerCancelReturns(s, c):
        g = and_(s.pc[c] == Pc.CANCEL_WAIT, hrtimer.cancel_passes(s.running, NO_CPU))
        return when(g, pc=put(s.pc, c, Pc.IDLE), state=hrtimer.INACTIVE)

    spec.witness(
        "RearmedWhileRunning",
        lambda t: and_(t.running != NO_CPU, t.state == hrtimer.ENQUEUED),
        "hrtimer_start on a timer whose callback runs enqueues it; __run_hrtimer keeps it enqueued.",
    )
    spec.witness(
        "CancelWaitsForRunningCallback",
        lambda t: and_(any_(t.pc[c] == Pc.CANCEL_WAIT for c in CPU), t.running != NO_CPU),
        "hrtimer_cancel spins while the callback runs (hrtimer_cancel_wait_running).",
    )


def _workqueue(spec: Spec) -> None:
    """One work item, scheduled from a task, run by a worker, cancelled with and without waiting."""
    spec.var("work", Enum("WorkState", workqueue.STATES), workqueue.IDLE)
    spec.var("syncing", Bool, False, "a cancel_work_sync is waiting")

    @spec.action()
    def ScheduleWork(s):
        return when(True, work=workqueue.schedule(s.work))

    @spec.action()
    def WorkerStarts(s):
        return when(s.work == workqueue.PENDING, work=workqueue.RUNNING)

    @spec.action()
    def WorkerReturns(s):
        return when(workqueue.is_running(s.work), work=workqueue.finish(s.work))

    @spec.action()
    def CancelWork(s):
        return when(True, work=workqueue.cancel(s.work))

    @spec.action()
    def CancelWorkSync(s):
        return when(not_(s.syncing), syncing=True, work=workqueue.cancel(s.work))

    @spec.action()
    def CancelWorkSyncReturns(s):
        return when(and_(s.syncing, not_(workqueue.is_running(s.work))), syncing=False, work=workqueue.IDLE)

    spec.witness(
        "RequeuedWhileRunning",
        lambda t: t.work == workqueue.RUNNING_PENDING,
        "schedule_work on a running work queues it again; it runs once more after the current run.",
    )
    spec.witness(
        "StartsCoalesce",
        lambda s, t: and_(workqueue.is_pending(s.work), t.work == s.work),
        "schedule_work on a pending work returns false: two starts, one run.",
        action="ScheduleWork",
    )
    spec.witness(
        "CancelSyncWaitsForRunningWork",
        lambda t: and_(t.syncing, workqueue.is_running(t.work)),
        "cancel_work_sync sleeps until the running instance returns (__flush_work).",
    )


def _task_work(spec: Spec) -> None:
    """One task and one callback_head: added, cancelled, run on return to user, or refused after exit."""
    spec.var("alive", Bool, True)
    spec.var("queued", Bool, False)
    spec.var("ran", Bool, False)
    spec.var("refused", Bool, False)
    spec.var("cancelled", Bool, False)

    @spec.action()
    def TaskWorkAdd(s):
        ok = task_work.add_succeeds(s.alive)
        return [when(and_(not_(s.queued), ok), queued=True), when(not_(ok), refused=True)]

    @spec.action()
    def TaskWorkCancel(s):
        return when(s.queued, queued=False, cancelled=True)

    @spec.action()
    def ReturnToUser(s):
        return when(task_work.can_run(s.queued, s.alive), queued=False, ran=True)

    @spec.action()
    def TaskExit(s):
        """do_exit runs the queued task_work (exit_task_work), then refuses new work."""
        return when(and_(s.alive, not_(s.queued)), alive=False)

    spec.witness(
        "AddRefusedAfterExit", lambda t: t.refused, "task_work_add fails with -ESRCH on an exiting task."
    )
    spec.witness("CancelRemovesQueued", lambda t: t.cancelled, "task_work_cancel removes a queued callback.")
    spec.witness(
        "RunsOnReturnToUser", lambda t: t.ran, "The task runs its task_work on return to user space."
    )

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

from spec.kernel import hrtimer, irq_work, llist, prog, rcu, sources, task_work, workqueue
from spec.lang import (
    Bool,
    Enum,
    Fn,
    Int,
    Set,
    Spec,
    SpecError,
    and_,
    any_,
    cites,
    const_fn,
    ite,
    not_,
    or_,
    put,
    when,
)

BLOCKS = ["rcu", "llist", "irq_work", "prog", "hrtimer", "workqueue", "task_work"]
PARAMS: dict[str, tuple] = {"block": (str, "rcu", BLOCKS)}
# the source each block's harness actions cite (spec/kernel/sources.py)
BLOCK_SOURCES = {
    "rcu": "K-rcu-doc",
    "llist": "K-llist",
    "irq_work": "K-irqwork",
    "prog": "K-syscall",
    "hrtimer": "K-hrtimer",
    "workqueue": "K-wq",
    "task_work": "K-tw",
}

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
    spec.sources = sources.pick(BLOCK_SOURCES[block])
    globals()[f"_{block}"](spec)
    return spec


def _rcu(spec: Spec) -> None:
    """Two readers (one per CPU) and one call_rcu whose grace period then ends."""
    GP = Enum("GP", ["IDLE", "WAITING", "DONE"])
    spec.var("reading", Fn(CPU, Bool), const_fn(CPU, False))
    spec.var("gp", GP, GP.IDLE)
    spec.var("waited", Fn(Enum("Key", ["gp0"]), Fn(CPU, Set(Enum("Level", ["L0"])))),
             (rcu.nobody(2, 1),))  # fmt: skip
    # ghost: reader c has been inside one section since call_rcu was issued
    spec.var("since_call", Fn(CPU, Bool), const_fn(CPU, False))

    @spec.action(c=CPU)
    @cites(
        "K-rcu-doc",
        "rcu_read_lock (a reader on CPU c)",
        "a read-side critical section begins (or any region with preemption, bh or irqs disabled, v5.0+)",
        "a reader's start is one event of its CPU",
    )
    def ReaderStart(s, c):
        return when(not_(s.reading[c]), reading=put(s.reading, c, True))

    @spec.action(c=CPU)
    @cites(
        "K-rcu-doc",
        "rcu_read_unlock",
        "the read-side critical section ends; every pending grace period stops waiting for it "
        "(end_finished_readers)",
        "a reader's end is one event of its CPU",
    )
    def ReaderEnd(s, c):
        return when(s.reading[c], reading=put(s.reading, c, False), since_call=put(s.since_call, c, False))

    @spec.action()
    @cites(
        "K-rcu-doc",
        "call_rcu",
        "call_rcu(head, func): the grace period waits for the readers in flight now",
        "the snapshot of the readers in flight is taken at the call: one event (a real grace period may "
        "wait longer, never less)",
    )
    def CallRcu(s):
        now = rcu.snapshot(lambda c, _lv: s.reading[c], 2, 1)
        return when(
            s.gp == GP.IDLE, gp=GP.WAITING, waited=rcu.start_gp(s.waited, 0, now), since_call=s.reading
        )

    @spec.action()
    @cites(
        "K-rcu-doc",
        "call_rcu's grace period (kernel-doc)",
        "the callback runs after every pre-existing reader ended and 'might well execute concurrently "
        "with RCU read-side critical sections that started after call_rcu() was invoked'",
        "the grace period's end is one event, enabled once its snapshot is empty",
    )
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
    @cites(
        "K-llist",
        "llist_add -> llist_add_batch",
        "do { new_last->next = first; } while (!try_cmpxchg(&head->first, &first, new_first)); return !first",
        "the try_cmpxchg that succeeds is the one step another CPU can see; failed tries change nothing",
    )
    def LlistAdd(s, n):
        first = s.order[0] != NONE
        ordered = (ite(first, s.order[0], n), ite(first, n, NONE))
        return [
            when(and_(not_(s.double_enqueue), g), head=new, order=ordered, **ghost)
            for g, new, ghost in llist.add_cases(s.head, n, linked(s, n))
        ]

    @spec.action()
    @cites(
        "K-llist",
        "llist_del_all, llist_reverse_order",
        "xchg(&head->first, NULL), then the detached chain reversed ('return the new first entry')",
        "one xchg; the reversal touches only the detached chain",
    )
    def LlistDelAllReverse(s):
        return [
            when(and_(not_(s.double_enqueue), s.chain[0] == NONE, g), head=llist.empty(s.head, NONE), chain=c)
            for g, c in llist.reversed_prefixes(s.head, NONE)
        ]

    @spec.action()
    @cites(
        "K-llist",
        "llist_for_each_entry_safe",
        "the walk moves to pos->next, read before the body",
        "the consumer's walk touches only its detached chain",
    )
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
    @cites(
        "K-irqwork",
        "irq_work_queue -> irq_work_claim, __irq_work_queue_local",
        "oflags = atomic_fetch_or(IRQ_WORK_CLAIMED | CSD_TYPE_IRQ_WORK, &work->node.a_flags); if (oflags "
        "& IRQ_WORK_PENDING) return false; llist_add onto this CPU's raised list",
        "one atomic_fetch_or; only the claimer that set PENDING adds the work (preemption off), so no "
        "other step sees the add apart from the claim",
    )
    def IrqWorkQueue(s, c):
        flags, _queues = irq_work.claim(s.flags)
        return when(True, flags=flags, queued_on=irq_work.queue_cpu(s.flags, s.queued_on, c))

    @spec.action(c=CPU)
    @cites(
        "K-irqwork",
        "irq_work_run_list, irq_work_single",
        "taken off the raised list; flags = atomic_read(..) & ~IRQ_WORK_PENDING; atomic_set(..); "
        "smp_mb(); then func",
        "with irqs off; a claim between the read and the set finds PENDING and changes nothing",
    )
    def IrqWorkRun(s, c):
        cleared = irq_work.run_start(s.flags)
        return when(
            and_(s.queued_on == c, s.runner[c] == RPhase.IDLE),
            queued_on=NO_CPU, flags=cleared, seen=put(s.seen, c, cleared),
            runner=put(s.runner, c, RPhase.IN_FUNC),
        )  # fmt: skip

    @spec.action(c=CPU)
    @cites(
        "K-irqwork",
        "irq_work_single",
        "(void)atomic_cmpxchg(&work->node.a_flags, flags, flags & ~IRQ_WORK_BUSY)",
        "one atomic_cmpxchg",
    )
    def IrqWorkDone(s, c):
        return when(
            s.runner[c] == RPhase.IN_FUNC,
            flags=irq_work.run_end(s.flags, s.seen[c]), runner=put(s.runner, c, RPhase.IDLE),
            seen=put(s.seen, c, 0),
        )  # fmt: skip

    @spec.action()
    @cites(
        "K-irqwork",
        "irq_work_sync",
        "while (irq_work_is_busy(work)) cpu_relax(); (or rcuwait_wait_event on RT)",
        "returns the first time it reads BUSY clear: one step enabled then",
    )
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


_PUT_CITES = {
    "PutFromSyscall": (
        "K-syscall",
        "bpf_prog_put from a syscall",
        "__bpf_prog_put: if (atomic64_dec_and_test(&aux->refcnt)) bpf_prog_put_deferred(&aux->work) (not "
        "in_irq, irqs on)",
        "one atomic decrement; at zero the phase moves to RCU_WAIT",
    ),
    "PutFromHardirq": (
        "K-syscall",
        "bpf_prog_put in hard-irq",
        "__bpf_prog_put: if (atomic64_dec_and_test(&aux->refcnt)) { if (in_irq() || irqs_disabled()) { "
        "INIT_WORK(&aux->work, bpf_prog_put_deferred); schedule_work(&aux->work); } }",
        "one atomic decrement; at zero the deferral is queued in the same step (PUT_DEFERRED)",
    ),
}


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
    @cites(
        "K-syscall",
        "a prog run (environment)",
        "environment: a run of the prog starts while its refcount is positive",
        "environment event",
    )
    def RunStart(s):
        return when(and_(not_(s.running), s.phase[0] == Phase.LIVE, s.refcnt[0] > 0), running=True)

    @spec.action()
    @cites(
        "K-syscall",
        "bpf_prog_inc_not_zero",
        "refold = atomic64_fetch_add_unless(&prog->aux->refcnt, 1, 0); if (!refold) return ERR_PTR(-ENOENT)",
        "one atomic64_fetch_add_unless",
    )
    def RunIncNotZero(s):
        ok, new = prog.inc_not_zero(s.refcnt[0])
        g = and_(s.running, not_(s.run_holds_ref), not_(s.inc_failed))
        return [
            when(and_(g, ok), refcnt=(new,), run_holds_ref=True),
            when(and_(g, not_(ok)), inc_failed=True),
        ]

    @spec.action()
    @cites(
        "K-syscall",
        "bpf_prog_put (the run's reference)",
        "__bpf_prog_put: atomic64_dec_and_test(&aux->refcnt); at zero from task context "
        "bpf_prog_put_deferred",
        "one atomic decrement (the free path's later steps are not in this harness)",
    )
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
        spec.action()(cites(*_PUT_CITES[name])(put_action))

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
    @cites(
        "K-hrtimer",
        "hrtimer_start (hrtimer_start_range_ns)",
        "under the base lock: remove if enqueued, enqueue (also while the callback runs)",
        "under cpu_base->lock with irqs off: one step",
    )
    def HrtimerStart(s, c):
        return when(s.pc[c] == Pc.IDLE, state=hrtimer.ENQUEUED)

    @spec.action(c=CPU)
    @cites(
        "K-hrtimer",
        "__run_hrtimer",
        "under cpu_base->lock: base->running = timer; __remove_hrtimer(.., HRTIMER_STATE_INACTIVE, ..)",
        "under the base lock: one step",
    )
    def HrtimerExpire(s, c):
        return when(
            hrtimer.can_expire(s.state, s.running, NO_CPU), state=hrtimer.INACTIVE, running=c, rearmed=False
        )

    @spec.action(c=CPU)
    @cites(
        "K-hrtimer",
        "hrtimer_start from the timer's own callback",
        "the timer is enqueued while base->running == timer; __run_hrtimer keeps it enqueued",
        "under the base lock: one step",
    )
    def CallbackRearms(s, c):
        return when(and_(s.running == c, not_(s.rearmed)), state=hrtimer.ENQUEUED, rearmed=True)

    @spec.action(c=CPU)
    @cites(
        "K-hrtimer",
        "__run_hrtimer",
        "fn(timer) returns HRTIMER_NORESTART; relock; base->running = NULL",
        "under the base lock: one step",
    )
    def CallbackReturns(s, c):
        return when(s.running == c, running=NO_CPU)

    @spec.action(c=CPU)
    @cites(
        "K-hrtimer",
        "hrtimer_cancel",
        "do { ret = hrtimer_try_to_cancel(timer); if (ret < 0) hrtimer_cancel_wait_running(timer); } "
        "while (ret < 0): the caller enters the loop",
        "the entry changes only the caller's state; the loop's end is HrtimerCancelReturns",
    )
    def HrtimerCancel(s, c):
        return when(and_(s.pc[c] == Pc.IDLE, s.running != c), pc=put(s.pc, c, Pc.CANCEL_WAIT))

    @spec.action(c=CPU)
    @cites(
        "K-hrtimer",
        "hrtimer_cancel / hrtimer_try_to_cancel",
        "the try_to_cancel that returns >= 0 (the callback is not running): the timer removed, the loop left",
        "hrtimer_try_to_cancel works under the base lock: one step, enabled when the callback is not running",
    )
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
    @cites(
        "K-wq",
        "schedule_work -> queue_work",
        "queued unless PENDING is set (then it returns false: the two starts coalesce); a running work is "
        "queued again (non-reentrant)",
        "one step: the PENDING test-and-set and the queueing",
    )
    def ScheduleWork(s):
        return when(True, work=workqueue.schedule(s.work))

    @spec.action()
    @cites(
        "K-wq",
        "process_one_work",
        "set_work_pool_and_clear_pending before the function is called",
        "under the pool lock: one step",
    )
    def WorkerStarts(s):
        return when(s.work == workqueue.PENDING, work=workqueue.RUNNING)

    @spec.action()
    @cites(
        "K-wq",
        "process_one_work",
        "the function returns; the worker does not touch the work afterwards",
        "one step of the worker",
    )
    def WorkerReturns(s):
        return when(workqueue.is_running(s.work), work=workqueue.finish(s.work))

    @spec.action()
    @cites(
        "K-wq",
        "cancel_work (__cancel_work, try_to_grab_pending)",
        "a pending instance removed; returns whether one was; never waits",
        "one step: the grab of PENDING",
    )
    def CancelWork(s):
        return when(True, work=workqueue.cancel(s.work))

    @spec.action()
    @cites(
        "K-wq",
        "cancel_work_sync",
        "its first part: a pending instance removed",
        "one step: the grab of PENDING; the wait is CancelWorkSyncReturns",
    )
    def CancelWorkSync(s):
        return when(not_(s.syncing), syncing=True, work=workqueue.cancel(s.work))

    @spec.action()
    @cites(
        "K-wq",
        "cancel_work_sync -> __flush_work",
        "returns once no instance runs ('guaranteed to be not pending or executing on any CPU')",
        "the wait's end is one step enabled when the work is not running",
    )
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
    @cites(
        "K-tw",
        "task_work_add",
        "head = READ_ONCE(task->task_works); do { if (unlikely(head == &work_exited)) return -ESRCH; "
        "work->next = head; } while (!try_cmpxchg(&task->task_works, &head, work))",
        "the try_cmpxchg that succeeds (or the read of &work_exited) is one step",
    )
    def TaskWorkAdd(s):
        ok = task_work.add_succeeds(s.alive)
        return [when(and_(not_(s.queued), ok), queued=True), when(not_(ok), refused=True)]

    @spec.action()
    @cites(
        "K-tw",
        "task_work_cancel -> task_work_cancel_match",
        "walks task->task_works under raw_spin_lock_irqsave(&task->pi_lock, ..) and unlinks the work",
        "under the pi_lock: one step against task_work_run's xchg",
    )
    def TaskWorkCancel(s):
        return when(s.queued, queued=False, cancelled=True)

    @spec.action()
    @cites(
        "K-tw",
        "task_work_run (on return to user space)",
        "the whole list taken with one try_cmpxchg, then each work run",
        "one try_cmpxchg takes the list; the single work's run is merged with it",
    )
    def ReturnToUser(s):
        return when(task_work.can_run(s.queued, s.alive), queued=False, ran=True)

    @spec.action()
    @cites(
        "K-tw",
        "do_exit -> exit_task_work -> task_work_run (environment)",
        "the queued works run, then &work_exited installed (PF_EXITING, empty list)",
        "environment event, enabled with nothing queued",
    )
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

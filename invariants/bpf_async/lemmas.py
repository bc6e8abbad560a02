"""Auxiliary invariants that make the safety properties of ``spec/bpf_async`` inductive.

Used by ``explorer.smt.prove_by_step`` (``python -m explorer prove CONFIG --invariant NAME --aux``, and
the ``SafetyInductive[...]`` queries of ``make check``): with them, each safety invariant of the
bpf_timer is shown to hold in every reachable state of a configuration far larger than BFS explores.
Two sets: ``STRENGTHENING`` for v6.12 (design = locked, every safeguard on), ``REFCNT_STRENGTHENING``
for the 2026 bpf_async_cb rework (design = refcnt, with or without hard-irq callers, whose start and
cancel_and_free are deferred through the object's irq_work and command llist; the two irq_work lemmas
are left out without them). Both hold for every callback workload. Each predicate states one fact
about the modelled kernel code, and its docstring says why the code keeps it. They describe the timer
with the default switches; on other variants some are false, and a failing proof names the one that
breaks (the rework without inc_not_zero before a start: RefcntPinsMemory; without the tasks-trace
free's busy re-check: RefcntCallbackShape).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spec.kernel import hrtimer
from spec.lang import Spec, all_, and_, any_, count, implies, ite, not_, or_

STRENGTHENING = [
    "ObjectStatesOfTheDesign",
    "ContextsCanonical",
    "UserProcessShape",
    "UnusedObjectsUntouched",
    "SlotHoldsItsOwnLiveObject",
    "CallbackShape",
    "DetachedHasOneFreePath",
    "FreeWaitsForItsReaders",
    "ProgRefsHeldOnlyWhileLive",
    "ProgGracePeriodWaitsForCallbacks",
    "MapRefcntAccounted",
    "CancellingCounted",
    "CallbacksDoNotWaitForThemselves",
]


# the rework's timer (design = refcnt), with or without hard-irq callers
REFCNT_STRENGTHENING = [
    "RefcntObjectStates",
    "RefcntContextsCanonical",
    "UserNeverWaits",
    "RefcntUnusedObjectsUntouched",
    "SlotHoldsItsOwnLiveObject",
    "RefcntCallbackShape",
    "RefcntCounted",
    "RefcntPinsMemory",
    "CommandListsPacked",
    "IrqWorkShape",
    "TasksTraceFreeWaitsForItsReaders",
    "ProgRefsHeldOnlyWhileLive",
    "ProgGracePeriodWaitsForCallbacks",
    "MapRefcntAccounted",
    "CancellingCounted",
    "CallbacksDoNotWaitForThemselves",
]


def aux_invariants(spec: Spec) -> dict[str, Callable[[Any], Any]]:
    m = spec.model
    if m.kind != "timer" or m.design not in ("locked", "refcnt"):
        raise ValueError(f"spec {spec.name}: auxiliary invariants are written for bpf_timer (locked, refcnt)")
    PC, Mem, Phase, CbPhase, UPc = m.PC, m.Mem, m.Phase, m.CbPhase, m.spec.var_type("upc")
    NO_OBJ, NO_CPU = m.NO_OBJ, m.NO_CPU
    TASK, SOFTIRQ, IRQ = 0, 1, 2
    ENQUEUED = 1  # spec/kernel/hrtimer.py
    ctxs = [(c, lv) for c in m.CPU for lv in (TASK, SOFTIRQ)]
    waits = [PC.CANCEL_WAIT, PC.CAF_WAIT]
    # a callback's bpf_timer_cancel with the counter incremented: before its read, waiting, or after -EDEADLK
    counted = [PC.CANCEL_INC, PC.CANCEL_WAIT, PC.CANCEL_DEC]
    # a helper call that will still touch its object: the waits and bpf_timer_cancel's counter steps
    in_call = [*waits, PC.CANCEL_INC, PC.CANCEL_DEC]

    def on(s, c, lv, o, pcs=waits):
        return and_(any_(s.pc[c][lv] == p for p in pcs), s.arg[c][lv] == o)

    def in_body(s, c):
        return or_(s.cb_phase[c] == CbPhase.BODY, s.cb_phase[c] == CbPhase.IN_OP)

    def ObjectStatesOfTheDesign(s):
        """The locked timer uses no tasks-trace free and no work: an object's memory is never TT_DEFER,
        its deferred free is QUEUED or NONE; an armed (enqueued) timer's memory is LIVE or DETACHED."""
        ok = []
        for o in m.Obj:
            ok += [s.mem[o] != Mem.TT_DEFER, s.delwork[o] != m.DelWork.CANCELLED]
            ok.append(
                implies(s.exec_state[o] == ENQUEUED, or_(s.mem[o] == Mem.LIVE, s.mem[o] == Mem.DETACHED))
            )
        return all_(ok)

    def ContextsCanonical(s):
        """Each context is idle (no object, no counter increment), a task run (RUN), or inside a helper
        call on an object: waiting in hrtimer_cancel (CANCEL_WAIT, from bpf_timer_cancel or
        cancel_and_free's CAF_WAIT), or, in a callback, between bpf_timer_cancel's atomic_inc and its
        read (CANCEL_INC) or before the -EDEADLK path's atomic_dec (CANCEL_DEC); only a callback's own
        bpf_timer_cancel increments a cancelling counter; hard-irq is unused."""
        ok = []
        for c in m.CPU:
            for lv in (TASK, SOFTIRQ, IRQ):
                pc, arg = s.pc[c][lv], s.arg[c][lv]
                if lv == IRQ:
                    allowed = [PC.IDLE]
                elif lv == TASK:
                    allowed = [PC.IDLE, PC.RUN, *waits]
                else:
                    allowed = [PC.IDLE, *in_call]
                ok.append(any_(pc == p for p in allowed))
                ok.append(implies(or_(pc == PC.IDLE, pc == PC.RUN), arg == NO_OBJ))
                ok.append(implies(any_(pc == p for p in in_call), arg != NO_OBJ))
                ok.append(_counted_only_in_callbacks(s, c, lv, pc, counted))
        return all_(ok)

    def UserProcessShape(s):
        """User space waits only on a detached object; the sweep runs only after usercnt reached 0."""
        ok = [implies(s.upc == UPc.IDLE, s.uarg == NO_OBJ)]
        waiting = or_(s.upc == UPc.CAF_WAIT, s.upc == UPc.SWEEP_WAIT)
        ok.append(implies(waiting, s.uarg != NO_OBJ))
        ok.append(implies(s.upc == UPc.SWEEP, s.uarg == NO_OBJ))
        for o in m.Obj:
            ok.append(implies(and_(waiting, s.uarg == o), s.mem[o] == Mem.DETACHED))
        ok.append(implies(or_(s.upc == UPc.SWEEP, s.upc == UPc.SWEEP_WAIT), s.map_usercnt == 0))
        ok.append(implies(s.upc == UPc.SWEEP_WAIT, s.usweep > 0))
        return all_(ok)

    def UnusedObjectsUntouched(s):
        """An object is UNUSED exactly when its value has not allocated it yet (inits counts the
        allocations in order); nothing refers to an UNUSED object."""
        return _unused_untouched(s, m, ctxs, lambda o: [s.delwork[o] != m.DelWork.NONE, s.uarg == o])

    def SlotHoldsItsOwnLiveObject(s):
        """async->cb points only to an object of its own value, which is LIVE; a LIVE object is in its
        value's slot (init publishes it, cancel_and_free detaches it, both under the lock)."""
        ok = []
        for e in m.Slot:
            for o in m.Obj:
                ok.append(implies(s.slot[e] == o, and_(m.slot_of(o) == e, s.mem[o] == Mem.LIVE)))
        for o in m.Obj:
            ok.append(implies(s.mem[o] == Mem.LIVE, s.slot[m.slot_of(o)] == o))
        return all_(ok)

    def CallbackShape(s):
        """A CPU's softirq runs at most one timer callback: cb_obj[c] == o exactly when base->running
        of o is c; a callback's helper call is in progress only in IN_OP; a running timer's memory
        is not freed (the free follows hrtimer_cancel, which waits for it)."""
        ok = _one_callback_per_cpu(s, m)
        for o in m.Obj:
            ok.append(implies(s.running[o] != NO_CPU, or_(s.mem[o] == Mem.LIVE, s.mem[o] == Mem.DETACHED)))
        return all_(ok)

    def DetachedHasOneFreePath(s):
        """A DETACHED object is on exactly one way to its free: the deferred kworker (delete work), a
        context in cancel_and_free's hrtimer_cancel, or user space's; only a DETACHED object is on
        one; a waiting bpf_timer_cancel's object is not freed (the caller holds rcu_read_lock)."""
        ok = []
        for o in m.Obj:
            paths = [
                s.delwork[o] == m.DelWork.QUEUED,
                and_(s.upc != UPc.IDLE, s.upc != UPc.SWEEP, s.uarg == o),
            ]
            paths += [on(s, c, lv, o, [PC.CAF_WAIT]) for c, lv in ctxs]
            detached = s.mem[o] == Mem.DETACHED
            ok.append(implies(detached, count(paths) == 1))
            ok.append(implies(not_(detached), count(paths) == 0))
            ok.append(implies(detached, not_(s.has_prog[o])))
        return all_(ok)

    def FreeWaitsForItsReaders(s):
        """An object waiting for kfree_rcu's grace period is not armed, not running and not reachable
        from a slot; every context still inside a helper call on it is in the grace period's snapshot
        (it found the pointer under rcu_read_lock before the detach)."""
        ok = []
        for o in m.Obj:
            rw = s.mem[o] == Mem.RCU_WAIT
            ok.append(
                implies(rw, and_(s.exec_state[o] != ENQUEUED, s.running[o] == NO_CPU, not_(s.has_prog[o])))
            )
            for c, lv in ctxs:
                ok.append(implies(and_(rw, on(s, c, lv, o, in_call)), s.obj_readers[o][c][lv]))
            ok.append(
                implies(
                    s.mem[o] == Mem.FREED,
                    and_(
                        s.exec_state[o] != ENQUEUED,
                        s.running[o] == NO_CPU,
                        not_(s.has_prog[o]),
                        s.cancelling[o] == 0,
                    ),
                )
            )
        return all_(ok)

    def ProgRefsHeldOnlyWhileLive(s):
        """Once the prog's count reached 0 nothing holds it: no fd, link or object reference."""
        held = or_(s.prog_fd, s.prog_attached, *[s.has_prog[o] for o in m.Obj])
        return implies(s.prog_phase != Phase.LIVE, not_(held))

    def ProgGracePeriodWaitsForCallbacks(s):
        """While the prog's grace period is pending, every callback executing the prog's code is in its
        snapshot (it entered the code holding the object's reference, i.e. while the prog was LIVE,
        and call_rcu came later); after the free no callback executes it."""
        ok = []
        for c in m.CPU:
            ok.append(
                implies(and_(s.prog_phase == Phase.RCU_WAIT, in_body(s, c)), s.prog_readers[0][c][SOFTIRQ])
            )
        return all_(ok)

    def MapRefcntAccounted(s):
        """map refcnt = user space's reference (until the sweep's final put) + the prog's used_maps
        (until the prog is freed)."""
        user = or_(s.map_usercnt == 1, s.upc == UPc.SWEEP, s.upc == UPc.SWEEP_WAIT)
        return s.map_refcnt == count([user, s.prog_phase != Phase.FREED])

    def CancellingCounted(s):
        """t->cancelling counts the callbacks inside bpf_timer_cancel for t that incremented it (before
        their read, waiting in hrtimer_cancel, or about to decrement after -EDEADLK)."""
        return all_(
            s.cancelling[o] == count(and_(on(s, c, SOFTIRQ, o, counted), s.inc[c][SOFTIRQ]) for c in m.CPU)
            for o in m.Obj
        )

    def CallbacksDoNotWaitForThemselves(s):
        """A callback never waits for its own timer (hrtimer_running == t refuses it before the
        increment), never waits in cancel_and_free (deferred), and a callback past its atomic_inc
        incremented its target's counter."""
        ok = []
        for c in m.CPU:
            pc = s.pc[c][SOFTIRQ]
            ok.append(pc != PC.CAF_WAIT)
            for p in counted:
                ok.append(implies(pc == p, s.inc[c][SOFTIRQ]))
            for p in (PC.CANCEL_INC, PC.CANCEL_WAIT):
                ok.append(implies(pc == p, s.arg[c][SOFTIRQ] != s.cb_obj[c]))
        return all_(ok)

    # ------------------------------------------------------------------ the rework (design = refcnt)
    irqc = m.cfg["irq_callers"]
    levels = (TASK, SOFTIRQ, IRQ) if irqc else (TASK, SOFTIRQ)
    rctxs = [(c, lv) for c in m.CPU for lv in levels]
    touching = m.touching_pcs
    CMD_NONE, IW_CLAIMED, IW_BUSY = 0, 3, 2  # spec/bpf_async/model.py, spec/kernel/irq_work.py
    # the helper call a callback makes (the callback workload), as the pcs it passes through
    cb_pcs = {
        "none": [],
        "rearm": [PC.START_SCHED, PC.START_PUT],
        "cancel_other": [PC.CANCEL_INC, PC.CANCEL_WAIT, PC.CANCEL_DEC],
        "cancel_self": [PC.CANCEL_INC, PC.CANCEL_WAIT, PC.CANCEL_DEC],
        "delete_other": [PC.CAF_CANCEL],
        "delete_self": [PC.CAF_CANCEL],
        "mixed": [PC.CANCEL_INC, PC.CANCEL_WAIT, PC.CANCEL_DEC, PC.START_SCHED, PC.START_PUT, PC.CAF_CANCEL],
    }[m.callback]

    def on_any(s, c, lv, o):
        return and_(any_(s.pc[c][lv] == p for p in touching), s.arg[c][lv] == o)

    def chain_len(q):
        return count(x != CMD_NONE for x in q)

    def RefcntObjectStates(s):
        """The rework frees through its refcount and the tasks-trace free, never through a delete work:
        delwork stays NONE; an object's memory is TT_DEFER (the free deferred through the irq_work)
        only when a last put can be made with irqs off, i.e. with hard-irq callers."""
        ok = []
        for o in m.Obj:
            ok.append(s.delwork[o] == m.DelWork.NONE)
            if not irqc:
                ok.append(s.mem[o] != Mem.TT_DEFER)
        return all_(ok)

    def RefcntContextsCanonical(s):
        """Each context is idle, a prog run (RUN), or inside one of the rework's helper steps on an
        object (INIT_CHECK, SETCB, START_SCHED, START_PUT, CAF_CANCEL, bpf_timer_cancel's CANCEL_WAIT;
        cancel_and_free never waits); a callback only at the steps of its workload's one call;
        hard-irq runs only on cpu0 and only start or delete (which defer; no START_PUT there); only a
        callback's bpf_timer_cancel increments a cancelling counter."""
        ok = []
        task = [PC.RUN, PC.CANCEL_WAIT, PC.INIT_CHECK, PC.START_SCHED, PC.START_PUT, PC.SETCB, PC.CAF_CANCEL]
        for c in m.CPU:
            for lv in (TASK, SOFTIRQ, IRQ):
                pc, arg = s.pc[c][lv], s.arg[c][lv]
                if lv == TASK:
                    allowed = task
                elif lv == SOFTIRQ:
                    allowed = cb_pcs
                else:
                    allowed = [PC.RUN, PC.START_SCHED, PC.CAF_CANCEL] if (irqc and c == 0) else []
                ok.append(any_(pc == p for p in [PC.IDLE, *allowed]))
                ok.append(implies(or_(pc == PC.IDLE, pc == PC.RUN), arg == NO_OBJ))
                ok.append(implies(and_(pc != PC.IDLE, pc != PC.RUN), arg != NO_OBJ))
                ok.append(_counted_only_in_callbacks(s, c, lv, pc, counted))
        return all_(ok)

    def UserNeverWaits(s):
        """User space's cancel_and_free (update, sweep) is the rework's: detach, try_to_cancel and the
        put in one syscall step, never a wait: user space is IDLE or sweeping (after usercnt 0)."""
        return and_(
            or_(s.upc == UPc.IDLE, s.upc == UPc.SWEEP),
            s.uarg == NO_OBJ,
            implies(s.upc == UPc.SWEEP, s.map_usercnt == 0),
        )

    def RefcntUnusedObjectsUntouched(s):
        """An object is UNUSED exactly when its value has not allocated it yet (inits counts the
        allocations in order); nothing refers to an UNUSED object: no prog, timer, reference, helper
        call, callback, grace period, irq_work or command."""

        def design_refs(o):
            refs = [s.refcnt[o] != 0]
            if irqc:
                refs += [s.iw_cpu[o] != NO_CPU, s.iw_rcu[o], s.cmds[o][0] != CMD_NONE]
                refs += [s.wk_obj[c] == o for c in m.CPU]
            return refs

        return _unused_untouched(s, m, rctxs, design_refs)

    def RefcntCallbackShape(s):
        """A CPU's softirq runs at most one timer callback: cb_obj[c] == o exactly when base->running
        of o is c; a callback's helper call is in progress only in IN_OP; a running timer's memory is
        allocated and not freed (the tasks-trace free re-checks and retries while the callback runs)."""
        ok = _one_callback_per_cpu(s, m)
        for o in m.Obj:
            ok.append(implies(s.running[o] != NO_CPU, and_(s.mem[o] != Mem.UNUSED, s.mem[o] != Mem.FREED)))
        return all_(ok)

    def RefcntCounted(s):
        """cb->refcnt counts its holders: the map (while async->cb points to the object, then the
        cancel_and_free that detached it until its put), each start between its inc_not_zero and its
        put, each command on the object's llist and each command a running irq_work worker of the
        object still has to process."""
        ok = []
        for o in m.Obj:
            holders = [s.slot[m.slot_of(o)] == o]
            holders += [and_(s.pc[c][lv] == PC.CAF_CANCEL, s.arg[c][lv] == o) for c, lv in rctxs]
            holders += [and_(s.pc[c][lv] == PC.START_PUT, s.arg[c][lv] == o) for c, lv in rctxs]
            if irqc:
                holders += [x != CMD_NONE for x in s.cmds[o]]
                holders += [and_(s.wk_obj[c] == o, x != CMD_NONE) for c in m.CPU for x in s.wk_chain[c]]
            ok.append(s.refcnt[o] == count(holders))
        return all_(ok)

    def RefcntPinsMemory(s):
        """An object with references is allocated and its free not issued (LIVE in its slot, or
        DETACHED); the put that reaches 0 issues the free (RCU_WAIT, or TT_DEFER with irqs off), so a
        DETACHED object holds a reference."""
        return all_((s.refcnt[o] > 0) == or_(s.mem[o] == Mem.LIVE, s.mem[o] == Mem.DETACHED) for o in m.Obj)

    def CommandListsPacked(s):
        """The object's llist of commands and a worker's reversed chain are packed (llist_add pushes at
        the head, the worker pops the oldest); a CPU has a chain only while its worker runs."""
        ok = []
        for o in m.Obj:
            q = s.cmds[o]
            ok += [implies(q[i + 1] != CMD_NONE, q[i] != CMD_NONE) for i in range(len(q) - 1)]
        for c in m.CPU:
            q = s.wk_chain[c]
            ok += [implies(q[i + 1] != CMD_NONE, q[i] != CMD_NONE) for i in range(len(q) - 1)]
            ok.append(implies(s.wk_obj[c] == NO_OBJ, q[0] == CMD_NONE))
        return all_(ok)

    def IrqWorkShape(s):
        """The object's irq_work is PENDING (flags CLAIMED, on cpu0's raised list: only cpu0 has
        hard-irq callers) exactly when it is queued; queued as the command worker exactly when commands
        wait (only the llist_add that finds the list empty queues it, and the worker empties the list
        when it clears PENDING); re-initialised as worker_for_call_rcu only by the last put (TT_DEFER,
        queued until it issues call_rcu_tasks_trace); a worker runs only on cpu0, never under a prog
        run there, with its snapshot of the flags (BUSY)."""
        ok = []
        for o in m.Obj:
            f, cpu, cmd0 = s.iw_flags[o], s.iw_cpu[o], s.cmds[o][0]
            ok.append(or_(f == 0, f == IW_BUSY, f == IW_CLAIMED))
            ok.append((cpu != NO_CPU) == (f == IW_CLAIMED))
            ok.append(or_(cpu == 0, cpu == NO_CPU))
            ok.append(implies(not_(s.iw_rcu[o]), (cpu != NO_CPU) == (cmd0 != CMD_NONE)))
            ok.append(
                implies(
                    s.iw_rcu[o],
                    and_(
                        cmd0 == CMD_NONE,
                        (cpu != NO_CPU) == (s.mem[o] == Mem.TT_DEFER),
                        or_(s.mem[o] == Mem.TT_DEFER, s.mem[o] == Mem.RCU_WAIT, s.mem[o] == Mem.FREED),
                    ),
                )
            )
            ok.append(implies(s.mem[o] == Mem.TT_DEFER, s.iw_rcu[o]))
        for c in m.CPU:
            busy = s.wk_obj[c] != NO_OBJ
            if c != 0:
                ok.append(not_(busy))
            ok.append(implies(busy, s.pc[c][IRQ] == PC.IDLE))
            ok.append(s.seen[c] == ite(busy, IW_BUSY, 0))
        return all_(ok)

    def TasksTraceFreeWaitsForItsReaders(s):
        """A freed object is not armed, not running, holds no prog and has no irq_work or command in
        flight; while its tasks-trace free is pending (RCU_WAIT) every context still inside a helper
        call on it and every irq_work worker of it is in the grace period's snapshot (each found the
        object, or got its command, before the last put, and is a classic reader; a tasks-trace grace
        period implies a classic one)."""
        ok = []
        for o in m.Obj:
            rw = s.mem[o] == Mem.RCU_WAIT
            for c, lv in rctxs:
                ok.append(implies(and_(rw, on_any(s, c, lv, o)), s.obj_readers[o][c][lv]))
            if irqc:
                for c in m.CPU:
                    ok.append(implies(and_(rw, s.wk_obj[c] == o), s.obj_readers[o][c][IRQ]))
            gone = [
                s.exec_state[o] != ENQUEUED,
                s.running[o] == NO_CPU,
                not_(s.has_prog[o]),
                s.cancelling[o] == 0,
            ]
            if irqc:
                gone += [s.iw_cpu[o] == NO_CPU, s.cmds[o][0] == CMD_NONE]
                gone += [s.wk_obj[c] != o for c in m.CPU]
            ok.append(implies(s.mem[o] == Mem.FREED, all_(gone)))
        return all_(ok)

    lemmas = [
        ObjectStatesOfTheDesign,
        ContextsCanonical,
        UserProcessShape,
        UnusedObjectsUntouched,
        SlotHoldsItsOwnLiveObject,
        CallbackShape,
        DetachedHasOneFreePath,
        FreeWaitsForItsReaders,
        ProgRefsHeldOnlyWhileLive,
        ProgGracePeriodWaitsForCallbacks,
        MapRefcntAccounted,
        CancellingCounted,
        CallbacksDoNotWaitForThemselves,
        RefcntObjectStates,
        RefcntContextsCanonical,
        UserNeverWaits,
        RefcntUnusedObjectsUntouched,
        RefcntCallbackShape,
        RefcntCounted,
        RefcntPinsMemory,
        CommandListsPacked,
        IrqWorkShape,
        TasksTraceFreeWaitsForItsReaders,
    ]
    by_name = {fn.__name__: fn for fn in lemmas}
    names = STRENGTHENING if m.design == "locked" else REFCNT_STRENGTHENING
    if not irqc:
        names = [n for n in names if n not in ("CommandListsPacked", "IrqWorkShape")]
    return {n: by_name[n] for n in names}


def _unused_untouched(s: Any, m: Any, ctxs: list, design_refs: Callable[[int], list]) -> Any:
    """UnusedObjectsUntouched for either design: UNUSED exactly for the objects not yet allocated, and
    nothing (the references every design has, and ``design_refs(o)``) refers to one."""
    ok = []
    for o in m.Obj:
        e, k = m.slot_of(o), o % m.objs
        unused = s.mem[o] == m.Mem.UNUSED
        ok.append(unused == (s.inits[e] <= k))
        refs = [
            s.has_prog[o],
            s.exec_state[o] == hrtimer.ENQUEUED,
            s.running[o] != m.NO_CPU,
            s.cancelling[o] != 0,
        ]
        refs += [s.arg[c][lv] == o for c, lv in ctxs] + [s.cb_obj[c] == o for c in m.CPU]
        refs += [s.obj_readers[o][c][lv] for c, lv in ctxs]
        refs += design_refs(o)
        ok.append(implies(unused, not_(any_(refs))))
    return all_(ok)


def _one_callback_per_cpu(s: Any, m: Any) -> list:
    """Both designs' CallbackShape, per CPU: its softirq runs at most one timer callback (cb_obj[c]
    == o exactly when base->running of o is c), and a callback's helper call is in progress only in
    IN_OP."""
    ok = []
    for c in m.CPU:
        ok.append((s.cb_phase[c] == m.CbPhase.IDLE) == (s.cb_obj[c] == m.NO_OBJ))
        ok.append(implies(s.pc[c][1] != m.PC.IDLE, s.cb_phase[c] == m.CbPhase.IN_OP))  # 1: SOFTIRQ
        for o in m.Obj:
            ok.append((s.cb_obj[c] == o) == (s.running[o] == c))
    return ok


def _counted_only_in_callbacks(s: Any, c: int, lv: int, pc: Any, counted: list[int]) -> Any:
    """Only a callback (softirq) inside bpf_timer_cancel past its atomic_inc has incremented a
    cancelling counter (``inc``)."""
    inside = any_(pc == p for p in counted) if lv == 1 else False
    return implies(not_(inside), not_(s.inc[c][lv]))

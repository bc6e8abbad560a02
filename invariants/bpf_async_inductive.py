"""Auxiliary invariants that make the safety properties of ``spec/bpf_async.py`` inductive.

Used by ``explorer.smt.prove_by_step`` (``python -m explorer prove CONFIG --invariant NAME --aux``, and
the ``SafetyInductive[...]`` queries of ``make check``): with them, each safety invariant of the
bpf_timer design (v6.12, locked, every safeguard on) is shown to hold in every reachable state of a
configuration far larger than BFS explores. Each predicate states one fact about the modelled kernel
code, and its docstring says why the code keeps it. They describe the timer with the default
switches; on other variants some are false, and a failing proof names the one that breaks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spec.lang import Spec, all_, and_, any_, count, implies, not_, or_

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


def aux_invariants(spec: Spec) -> dict[str, Callable[[Any], Any]]:
    m = spec.model
    if m.kind != "timer" or m.design != "locked":
        raise ValueError(f"spec {spec.name}: auxiliary invariants are written for the locked bpf_timer")
    PC, Mem, Phase, CbPhase, UPc = m.PC, m.Mem, m.Phase, m.CbPhase, m.spec.var_type("upc")
    NO_OBJ, NO_CPU = m.NO_OBJ, m.NO_CPU
    TASK, SOFTIRQ, IRQ = 0, 1, 2
    ENQUEUED = 1  # spec/kernel/hrtimer.py
    ctxs = [(c, lv) for c in m.CPU for lv in (TASK, SOFTIRQ)]
    waits = [PC.CANCEL_WAIT, PC.CAF_WAIT]

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
        """Each context is idle (no object, no counter increment), a task run (RUN), or waiting in
        hrtimer_cancel (CANCEL_WAIT, from bpf_timer_cancel or cancel_and_free's CAF_WAIT) on an object;
        only a callback's own helper call increments a cancelling counter; hard-irq is unused."""
        ok = []
        for c in m.CPU:
            for lv in (TASK, SOFTIRQ, IRQ):
                pc, arg = s.pc[c][lv], s.arg[c][lv]
                allowed = [PC.IDLE] if lv == IRQ else [PC.IDLE, *waits] + ([PC.RUN] if lv == TASK else [])
                ok.append(any_(pc == p for p in allowed))
                ok.append(implies(or_(pc == PC.IDLE, pc == PC.RUN), arg == NO_OBJ))
                ok.append(implies(any_(pc == p for p in waits), arg != NO_OBJ))
                ok.append(implies(not_(and_(lv == SOFTIRQ, pc == PC.CANCEL_WAIT)), not_(s.inc[c][lv])))
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
        ok = []
        for o in m.Obj:
            e, k = m.slot_of(o), o % m.objs
            unused = s.mem[o] == Mem.UNUSED
            ok.append(unused == (s.inits[e] <= k))
            refs = [
                s.has_prog[o],
                s.exec_state[o] == ENQUEUED,
                s.running[o] != NO_CPU,
                s.cancelling[o] != 0,
                s.delwork[o] != m.DelWork.NONE,
                s.uarg == o,
            ]
            refs += [s.arg[c][lv] == o for c, lv in ctxs] + [s.cb_obj[c] == o for c in m.CPU]
            refs += [s.obj_readers[o][c][lv] for c, lv in ctxs]
            ok.append(implies(unused, not_(any_(refs))))
        return all_(ok)

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
        ok = []
        for c in m.CPU:
            ok.append((s.cb_phase[c] == CbPhase.IDLE) == (s.cb_obj[c] == NO_OBJ))
            ok.append(implies(s.pc[c][SOFTIRQ] != PC.IDLE, s.cb_phase[c] == CbPhase.IN_OP))
            for o in m.Obj:
                ok.append((s.cb_obj[c] == o) == (s.running[o] == c))
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
                ok.append(implies(and_(rw, on(s, c, lv, o)), s.obj_readers[o][c][lv]))
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
        """t->cancelling counts the callbacks waiting in bpf_timer_cancel for t that incremented it."""
        return all_(
            s.cancelling[o]
            == count(and_(on(s, c, SOFTIRQ, o, [PC.CANCEL_WAIT]), s.inc[c][SOFTIRQ]) for c in m.CPU)
            for o in m.Obj
        )

    def CallbacksDoNotWaitForThemselves(s):
        """A callback never waits for its own timer (hrtimer_running == t), never waits in
        cancel_and_free (deferred), and a waiting callback incremented its target's counter."""
        ok = []
        for c in m.CPU:
            ok.append(s.pc[c][SOFTIRQ] != PC.CAF_WAIT)
            ok.append(
                implies(
                    s.pc[c][SOFTIRQ] == PC.CANCEL_WAIT,
                    and_(s.inc[c][SOFTIRQ], s.arg[c][SOFTIRQ] != s.cb_obj[c]),
                )
            )
        return all_(ok)

    out = {}
    for fn in (
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
    ):
        out[fn.__name__] = fn
    assert list(out) == STRENGTHENING
    return out

"""What must hold of bpf_timer, bpf_wq and the 2026 bpf_async_cb rework (``spec/bpf_async``).

The shared properties (``invariants/common.py``) with this model's reading of them, the fairness the
liveness ones rest on and the environment actions; the kernel behaviours the model must be able to
show (witnesses) and the preconditions that make each "holds" non-vacuous are in ``witnesses.py``.
As in ``invariants/delayed_work/properties.py``, a behaviour halts at its first use-after-free, so the
liveness goals count a corrupted state as reached.
"""

from __future__ import annotations

from typing import Any

from spec.kernel import workqueue
from spec.lang import Spec, all_, and_, any_, count, implies, not_, or_

SAFETY = [
    "NoCallbackAfterProgFree",
    "NoMapAccessAfterFree",
    "NoAsyncUseAfterFree",
    "NoSpinDeadlock",
    "ProgRefcountConsistent",
]
LIVENESS = ["EveryArmedCallbackRunsOrIsCancelled", "AsyncEventuallyFreed", "ProgEventuallyFreed"]

# the pcs at which a helper call in progress will touch its object again
WAITS = ("CANCEL_WAIT", "CAF_WAIT")


def register(spec: Spec, m: Any) -> None:
    timer = m.kind == "timer"
    PC, Mem, Phase = m.PC, m.Mem, m.Phase
    touching = m.touching_pcs
    ctxs = [(c, lv) for c in m.CPU for lv in [0, 1, 2]]

    def in_prog_code(s):
        """Some callback is executing the prog's code (its body or a helper it called)."""
        if timer:
            return any_(or_(s.cb_phase[c] == m.CbPhase.BODY, s.cb_phase[c] == m.CbPhase.IN_OP) for c in m.CPU)
        return any_(s.wphase[o] == m.WPhase.IN_OP for o in m.Obj)

    def NoCallbackAfterProgFree(s):
        """No callback runs the prog's code once the prog is freed.

        Tests: the prog reference the object holds (set_callback) and what keeps the prog alive while a
        callback runs after that reference is dropped: a timer callback is a classic RCU reader, so the
        prog's call_rcu waits for it; a wq callback runs under rcu_read_lock_trace only, which a
        non-sleepable prog's call_rcu does not wait for (second reading of bpf_wq, CE-a1). Kernel
        consequence: a jump into freed JIT text."""
        return and_(not_(s.uaf_prog), implies(s.prog_phase == Phase.FREED, not_(in_prog_code(s))))

    def NoMapAccessAfterFree(s):
        """No callback reads or writes its map value after the map is freed.

        Tests: the map staying alive through the prog's used_maps while a callback runs (nothing else
        holds it: the async object holds no map reference). Kernel consequence: a use-after-free of
        the map value in softirq or kworker context."""
        return and_(not_(s.uaf_map), implies(s.map_refcnt == 0, not_(in_prog_code(s))))

    def NoAsyncUseAfterFree(s):
        """No freed async object is read or written, linked in a timer base or workqueue, or still
        the target of a helper call, a deferred free or a map value.

        Tests: detach under the lock (or xchg), hrtimer_cancel / cancel_work_sync before the free,
        kfree_rcu (the readers that found the pointer), the deferral of a free from inside a callback,
        and in the rework the refcount, inc_not_zero before a start and the busy re-check. Kernel
        consequence: the hrtimer base or the worker pool links freed memory; a helper writes it."""
        ok = [not_(s.uaf_async)]
        for o in m.Obj:
            freed = m.freed(s, o)
            live_refs = [not_(m.armed(s, o)), s.delwork[o] == m.DelWork.NONE]
            live_refs += [s.slot[e] != o for e in m.Slot]
            live_refs += [not_(and_(s.pc[c][lv] == p, s.arg[c][lv] == o)) for c, lv in ctxs for p in touching]
            live_refs.append(not_(and_(s.upc != 0, s.uarg == o)))
            if not timer:
                live_refs += [not_(and_(s.wpc[k] == p, s.warg[k] == o)) for k in m.Obj for p in touching]
            if m.cfg["irq_callers"]:
                # its irq_work queued or running, or commands waiting on it
                live_refs += [s.iw_cpu[o] == m.NO_CPU, s.cmds[o][0] == 0]
                live_refs += [s.wk_obj[c] != o for c in m.CPU]
            ok.append(implies(freed, all_(live_refs)))
        return all_(ok)

    def waits_on(s, c, lv):
        """The CPU whose softirq runs the callback context (c, lv) spins for, as (object, guard)."""
        return [
            (o, and_(or_(s.pc[c][lv] == PC.CANCEL_WAIT, s.pc[c][lv] == PC.CAF_WAIT), s.arg[c][lv] == o))
            for o in m.Obj
        ]

    def NoSpinDeadlock(s):
        """No callback waits for itself or for a callback that waits for it, or spins on a lock whose
        holder waits for it.

        Timer: a callback (softirq on c) in hrtimer_cancel for a timer whose callback runs on c (its own)
        or on d while d's callback waits for one running on c. Wq: a kworker in cancel_work_sync for its
        own work, or two kworkers each waiting for the other's work. Tests: the hrtimer_running ==
        t check, the cancelling counter, the deferral of cancel_and_free, the wq's delete_work. With
        map = hash: a callback about to map_delete_elem spins on the bucket lock that user space's
        update holds while its hrtimer_cancel waits for that callback (round5-issue21.md B1; the
        rqspinlock of v6.15+ lets the callback give up). With map = lru: a callback whose
        map_delete_elem is about to push the freed element spins on the LRU lock that user space's
        update holds while its eviction's hrtimer_cancel waits for that callback (B3, v6.14 and
        before)."""
        bad = []
        if timer:
            for c in m.CPU:
                for o, w in waits_on(s, c, 1):
                    bad.append(and_(w, s.running[o] == c))
                    for d in m.CPU:
                        if d == c:
                            continue
                        for o2, w2 in waits_on(s, d, 1):
                            bad.append(and_(w, s.running[o] == d, w2, s.running[o2] == c))
            if (m.hash and m.cfg["bucket_lock"] == "raw") or m.lru:
                # the callback on c spins on the bucket lock (raw: it cannot give up) while the
                # lock's holder waits in hrtimer_cancel for that callback
                for c in m.CPU:
                    for o in m.Obj:
                        bad.append(
                            and_(
                                m.bucket_holder_waits_for(s, o), s.running[o] == c, m.takes_bucket_next(s, c)
                            )
                        )
        else:
            for k in m.Obj:
                wk = [(o, and_(s.wpc[k] == PC.CAF_WAIT, s.warg[k] == o)) for o in m.Obj]
                for o, w in wk:
                    if o == k:
                        bad.append(and_(w, workqueue.is_running(s.exec_state[k])))
                    else:
                        back = and_(s.wpc[o] == PC.CAF_WAIT, s.warg[o] == k)
                        bad.append(
                            and_(
                                w,
                                workqueue.is_running(s.exec_state[o]),
                                back,
                                workqueue.is_running(s.exec_state[k]),
                            )
                        )
        return not_(any_(bad)) if bad else True

    def ProgRefcountConsistent(s):
        """The prog's refcount is the fd, the attach link, a bpffs pin and one per object holding it
        (none with prog_ref off); never negative, never raised from 0."""
        user = [s.prog_fd, s.prog_attached] + ([s.prog_pin] if m.cfg["prog_pinned"] else [])
        held = count(s.has_prog[o] for o in m.Obj) if m.cfg["prog_ref"] else 0
        holders = count(user) + held
        return and_(
            s.prog_refcnt >= 0,
            implies(s.prog_phase == Phase.LIVE, s.prog_refcnt == holders),
            implies(s.prog_phase != Phase.LIVE, s.prog_refcnt == 0),
        )

    for fn in (
        NoCallbackAfterProgFree,
        NoMapAccessAfterFree,
        NoAsyncUseAfterFree,
        NoSpinDeadlock,
        ProgRefcountConsistent,
    ):
        spec.invariant(fn)

    # ------------------------------------------------------------------ liveness
    for o in m.Obj:
        name = m.Obj.show(o)
        spec.leads_to(
            f"EveryArmedCallbackRunsOrIsCancelled[{name}]",
            lambda s, o=o: m.armed(s, o),
            lambda s, o=o: or_(not_(m.armed(s, o)), m.broken(s)),
            "An armed timer expires (its callback runs, maybe as a no-op after a drop) or is cancelled; "
            "a pending work runs or is cancelled.",
        )

    def all_objects_freed(s):
        return or_(all_(or_(s.mem[o] == Mem.UNUSED, s.mem[o] == Mem.FREED) for o in m.Obj), m.broken(s))

    spec.leads_to(
        "AsyncEventuallyFreed",
        m.user_gone,
        all_objects_freed,
        "Once user space let go, every async object is eventually freed (KKD: 'Once usercnt drops to "
        "zero ... nothing will come and free it anymore', brief §8; the usercnt checks and the sweep).",
    )
    spec.leads_to(
        "ProgEventuallyFreed",
        m.user_gone,
        lambda s: or_(s.prog_phase == Phase.FREED, m.broken(s)),
        "Once user space let go, the prog is freed: no async object pins it (the cycle map_release_uref "
        "breaks: 'Ctrl-C of user space process will not leave timers running forever', brief §4).",
    )

    # Fairness: the kernel's own steps are weakly fair (an expired timer's callback runs and returns,
    # a queued work runs, a grace period ends, a prog run ends); a wait that is enabled only while the
    # awaited callback is not running is strongly fair (it is re-enabled infinitely often). User space
    # and the start of prog runs or their helper calls are not fair.
    weak = [
        "TimerCallbackStart",
        "TimerCallbackBody",
        "WorkStart",
        "WorkReadCallback",
        "WorkCallback",
        "WorkReturn",
        "ObjectFreed",
        "ProgPutDeferred",
        "ProgFree",
        "UrefSweep",
        "ProgRunEnd",
        "UserElemFree",
        "ElemFreed",
        "AsyncIrqWorkCommand",
        "AsyncIrqWorkDone",
    ]
    strong = [
        "ProgHelperStep",
        "TimerCallbackHelperStep",
        "WorkHelperStep",
        "UserWaitDone",
        "DeleteWorkRun",
        "DeleteWorkFree",
        "AsyncIrqWorkRun",
        # __hrtimer_run_queues runs every expired timer of its base in one softirq pass: a timer is
        # not passed over for ever while its CPU's softirq keeps running other callbacks (WF would
        # allow that: TimerExpire(c, o) is disabled whenever c's softirq is busy)
        "TimerExpire",
    ]
    present = {a.name for a in spec.actions}
    for name in weak:
        if name in present:
            spec.wf(name)
    for name in strong:
        if name in present:
            spec.sf(name)
    # The environment: prog runs and their helper calls, user space, task exit. Never fair; a liveness
    # violation needs a fair cycle without them (an endless storm of them is not a hang).
    spec.environment_actions(
        *[
            n
            for n in [
                "ProgRunStart",
                "ProgCall",
                "UserUpdateElem",
                "UserDeleteElem",
                "ProgInitNoMem",
                "MapFdClose",
                "ProgDetach",
                "ProgFdClose",
                "ProgUnpin",
            ]  # fmt: skip
            if n in present
        ]
    )

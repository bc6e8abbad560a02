"""What the bpf_timer / bpf_wq model must be able to do: kernel behaviours (docs/second-reading/
bpf_timer.md and bpf_wq_and_async_cb.md) and the preconditions that make each "holds" of
``invariants/bpf_async/properties.py`` non-vacuous. A witness is registered only where the
configuration can show it; ``register`` says why for each condition.
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async.model import CMD_NONE, IRQ, QUEUE
from spec.kernel import hrtimer, workqueue
from spec.lang import Spec, and_, any_, not_, or_


def register(spec: Spec, m: Any) -> None:
    """Attach the witnesses and the properties' preconditions to a bpf_async spec."""
    timer = m.kind == "timer"
    PC, Mem, Phase = m.PC, m.Mem, m.Phase

    def add(name, fn, doc, action=None, kernel=True):
        spec.witness(name, fn, doc, action, kernel)

    def waiting_for_running(t):
        waits = []
        for c in m.CPU:
            for lv in [0, 1] if timer else [0]:
                for o in m.Obj:
                    w = and_(
                        or_(t.pc[c][lv] == PC.CANCEL_WAIT, t.pc[c][lv] == PC.CAF_WAIT), t.arg[c][lv] == o
                    )
                    waits.append(and_(w, m.callback_running(t, o)))
        for o in m.Obj:
            waits.append(and_(t.upc != 0, t.uarg == o, m.callback_running(t, o)))
            if not timer:
                waits.append(and_(t.delwork[o] == m.DelWork.CANCELLED, m.callback_running(t, o)))
        return any_(waits)

    add(
        "RunCallsHelperAfterLastPut",
        lambda s, t: and_(
            s.prog_refcnt == 0, any_(and_(s.pc[c][0] == PC.RUN, t.pc[c][0] != PC.RUN) for c in m.CPU)
        ),
        "A prog run calls its helper after the prog's refcount reached 0: runs outlive the last put "
        "until the grace period ends (brief §6), so set_callback's bpf_prog_inc_not_zero can fail.",
        action="ProgCall",
    )
    if m.design == "locked" or timer:  # the rework's wq never waits: cancel_work is not synchronous
        add(
            "WaitForRunningCallback",
            waiting_for_running,
            "A cancel or free waits (hrtimer_cancel spins; cancel_work_sync sleeps) while the callback "
            "runs on another CPU or kworker (hrtimer_cancel_wait_running; __flush_work).",
        )
    add(
        "CallbackRunsAfterItsPut",
        lambda t: and_(any_(m.callback_running(t, o) for o in m.Obj), t.prog_phase != Phase.LIVE),
        "A callback still runs after the prog's last reference was put (cancel_and_free drops the "
        "reference before waiting: second readings of bpf_timer §4(a) and bpf_wq CE-a1).",
        kernel=False,
    )
    if timer:
        add(
            "CallbackFindsNoFn",
            lambda s, t: any_(
                and_(s.running[o] != m.NO_CPU, t.running[o] == m.NO_CPU, not_(s.has_prog[o])) for o in m.Obj
            ),
            "A timer expires after its callback was dropped (bpf_timer_cancel drops the prog under the "
            "lock, then calls hrtimer_cancel): bpf_timer_cb reads a NULL callback_fn and returns.",
            action="TimerCallbackStart",
        )
        if m.callback == "rearm":
            add(
                "RearmedWhileRunning",
                lambda t: any_(
                    and_(t.running[o] != m.NO_CPU, t.exec_state[o] == hrtimer.ENQUEUED) for o in m.Obj
                ),
                "The callback re-arms its own timer (bpf_timer_start from the callback): enqueued while "
                "it runs ('the callback_fn can re-arm itself indefinitely', brief §4).",
            )
    else:
        add(
            "RequeuedWhileRunning",
            lambda t: any_(t.exec_state[o] == workqueue.RUNNING_PENDING for o in m.Obj),
            "bpf_wq_start while the work runs queues it again (schedule_work on a running work).",
        )
        add(
            "ProgGracePeriodEndsDuringWqCallback",
            lambda s, t: any_(t.wphase[o] == m.WPhase.IN_OP for o in m.Obj),
            "The prog's grace period ends while a wq callback is inside its rcu_read_lock_trace section: "
            "call_rcu does not wait for tasks-trace readers (second reading of bpf_wq §5.7).",
            action="ProgFree",
            kernel=not m.cfg["sleepable"],
        )

    if m.cfg["alloc_fails"]:
        add(
            "InitAllocFails",
            lambda s, t: True,
            "bpf_timer_init / bpf_wq_init on an empty value whose allocation fails: -ENOMEM, nothing "
            "published and no reference taken (round5-issue21.md A1, A2).",
            action="ProgInitNoMem",
        )
        if m.irqc:
            add(
                "CancelCommandAllocFails",
                lambda s, t: any_(
                    and_(
                        s.pc[c][IRQ] == PC.CAF_CANCEL,
                        s.arg[c][IRQ] == o,
                        t.pc[c][IRQ] == PC.IDLE,
                        s.cmds[o][QUEUE - 1] == CMD_NONE,
                        t.cmds[o][0] == s.cmds[o][0],
                    )
                    for c in m.CPU
                    for o in m.Obj
                ),
                "A hard-irq cancel_and_free's command allocation fails with room on the command list: "
                "bpf_async_schedule_op puts the map's reference and queues nothing; the tasks-trace "
                "free's re-cancel is left to stop the timer (round5-issue21.md A4).",
                action="ProgHelperStep",
            )

    # preconditions of the "holds" verdicts
    add("ProgFreed", lambda t: t.prog_phase == Phase.FREED, "The prog is freed.", kernel=False)
    add("MapFreed", lambda t: t.map_refcnt == 0, "The map is freed.", kernel=False)
    add(
        "ObjectFreed",
        lambda t: any_(t.mem[o] == Mem.FREED for o in m.Obj),
        "An async object is freed.",
        kernel=False,
    )
    add("CallbackRan", lambda t: any_(t.ran[o] for o in m.Obj), "A callback ran.", kernel=False)
    add("UserGone", m.user_gone, "User space let go of the map and the prog.", kernel=False)
    add(
        "CallbackWaits",
        lambda t: (
            any_(or_(t.pc[c][1] == PC.CANCEL_WAIT, t.pc[c][1] == PC.CAF_WAIT) for c in m.CPU)
            if timer
            else any_(t.wpc[o] == PC.CAF_WAIT for o in m.Obj)
        ),
        "A callback waits for a callback (the situation a spin deadlock needs).",
        kernel=False,
    )
    spec.nonvacuous("NoCallbackAfterProgFree", "ProgFreed", "CallbackRan")
    spec.nonvacuous("NoMapAccessAfterFree", "MapFreed", "CallbackRan")
    spec.nonvacuous("NoAsyncUseAfterFree", "ObjectFreed")
    if m.malloc and m.callback == "reinit_self":
        add(
            "TimerArmedInDeletedElement",
            lambda t: any_(
                and_(
                    t.slot[m.slot_of(o)] == o,
                    t.elem[m.slot_of(o)] != m.Elem.LIVE,
                    t.exec_state[o] == hrtimer.ENQUEUED,
                )
                for o in m.Obj
            ),
            "A timer callback re-initialises and re-arms its own value's timer (bpf_timer_init through the "
            "value pointer it was given) after user space's delete detached the old one: __bpf_async_init "
            "checks async->cb and the map's usercnt, not whether the element is still in the map "
            "(round5-issue21.md B1/B2).",
        )
    if m.hash or m.lru:
        add(
            "CallbackBlockedOnBucket",
            lambda t: any_(
                and_(m.bucket_holder_waits_for(t, o), t.running[o] == c, m.takes_bucket_next(t, c))
                for c in m.CPU
                for o in m.Obj
            ),
            "A timer callback is about to map_delete_elem (map = lru: to push the deleted element) while "
            "user space's update holds the bucket (LRU) lock and waits in hrtimer_cancel for that "
            "callback (the situation a bucket-lock deadlock needs).",
            kernel=False,
        )
        if m.hash and m.cfg["bucket_lock"] == "rqspinlock":
            add(
                "BucketLockTimesOut",
                lambda s, t: any_(
                    and_(m.bucket_held(s), m.takes_bucket_next(s, c), t.cb_phase[c] != m.CbPhase.BODY)
                    for c in m.CPU
                ),
                "A callback's map_delete_elem gives up on a bucket lock held by another context: "
                "raw_res_spin_lock_irqsave returns -ETIMEDOUT (or -EDEADLK) and the delete fails "
                "(v6.15+, round5-issue21.md C1).",
                action="TimerCallbackBody",
            )
        spec.nonvacuous("NoSpinDeadlock", "CallbackBlockedOnBucket")
    else:
        spec.nonvacuous("NoSpinDeadlock", "CallbackWaits")
    spec.nonvacuous("AsyncEventuallyFreed", "UserGone")
    spec.nonvacuous("ProgEventuallyFreed", "UserGone")
    spec.nonvacuous("EveryArmedCallbackRunsOrIsCancelled", "CallbackRan")

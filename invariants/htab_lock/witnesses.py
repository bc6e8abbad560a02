"""What the bucket-lock model must be able to do (kernel behaviours), and the precondition of its
"holds"."""

from __future__ import annotations

from typing import Any

from spec.htab_lock import NMI, TASK
from spec.lang import Spec, and_, any_


def register(spec: Spec, m: Any) -> None:
    PC = m.PC

    def add(name, fn, doc, action=None, kernel=True):
        spec.witness(name, fn, doc, action, kernel)

    add(
        "NmiInsideBucketLock",
        lambda t: any_(and_(t.pc[c][NMI] != PC.IDLE, t.pc[c][TASK] == PC.HELD) for c in m.CPU),
        "An NMI or tracing prog runs an update on a CPU whose task-level update holds a bucket lock (NMIs "
        "and tracing progs ignore irqs off).",
    )
    if m.counters:
        add(
            "ReentryRefused",
            lambda t: any_(t.pc[c][lv] == PC.REFUSED for c in m.CPU for lv in (TASK, NMI)),
            "htab_lock_bucket finds this CPU's map_locked counter taken and returns -EBUSY (20b6cc34ea74).",
        )
    if len(m.CPU) > 1:
        add(
            "CrossCpuSpin",
            lambda t: any_(
                and_(t.pc[c][lv] == PC.COUNTED, t.key[c][lv] == k, t.owner[m.b(k)] == m.owner_id(d, x))
                for c in m.CPU
                for lv in (TASK, NMI)
                for k in range(len(m.Key))
                for d in m.CPU
                if d != c
                for x in (TASK, NMI)
            ),
            "An update waits for a bucket lock that a context on another CPU holds (it spins until the "
            "holder's unlock).",
        )
    if m.lock == "rqspinlock":
        add(
            "LockGivesUp",
            lambda s, t: any_(
                and_(s.pc[c][lv] == PC.COUNTED, t.pc[c][lv] == PC.IDLE) for c in m.CPU for lv in (TASK, NMI)
            ),
            "raw_res_spin_lock_irqsave gives up: -EDEADLK on a lock its own CPU holds, -ETIMEDOUT after "
            "waiting for another CPU.",
            action="LockBucket",
        )
    spec.nonvacuous("NoSelfDeadlock", "NmiInsideBucketLock")

"""What the timer value-lock model must be able to do (kernel behaviours), and the precondition of its
"holds"."""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_
from spec.timer_lock import NESTED, TASK


def register(spec: Spec, m: Any) -> None:
    PC = m.PC

    def add(name, fn, doc, action=None, kernel=True):
        spec.witness(name, fn, doc, action, kernel)

    if m.nested_runs:
        add(
            "NestedInsideValueLock",
            lambda t: any_(and_(t.pc[c][NESTED] != PC.IDLE, t.pc[c][TASK] == PC.HELD) for c in m.CPU),
            "A tracing or NMI prog calls a timer helper on a CPU whose task-level helper holds the value's "
            "lock (tracing progs run inside the functions they trace; NMIs ignore irqs off).",
        )
        spec.nonvacuous("NoSelfDeadlock", "NestedInsideValueLock")
    if m.nested_in_nmi and m.cfg["nmi_check"] and m.nested_runs:
        add(
            "NmiStartRefused",
            lambda t: any_(t.pc[c][NESTED] == PC.REFUSED for c in m.CPU),
            "bpf_timer_start in NMI returns -EOPNOTSUPP (in_nmi()).",
        )
    if len(m.CPU) > 1:
        add(
            "CrossCpuSpin",
            lambda t: any_(
                and_(t.pc[c][lv] == PC.LOCKING, t.owner == m.owner_id(d, x))
                for c in m.CPU
                for lv in (TASK, NESTED)
                for d in m.CPU
                if d != c
                for x in (TASK, NESTED)
            ),
            "A helper waits for the value's lock, which a context on another CPU holds (it spins until "
            "the holder's unlock).",
        )

"""What the bpf_spin_lock model must be able to do (kernel behaviours), and the precondition of its
"holds"."""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_
from spec.spin_lock import NMI, TASK


def register(spec: Spec, m: Any) -> None:
    PC = m.PC

    def add(name, fn, doc, action=None, kernel=True):
        spec.witness(name, fn, doc, action, kernel)

    if m.nmi_runs:
        add(
            "NmiInsideSpinLock",
            lambda t: any_(and_(t.pc[c][NMI] != PC.IDLE, t.pc[c][TASK] == PC.HELD) for c in m.CPU),
            "An NMI prog runs on a CPU whose task-level prog holds a value's bpf_spin_lock (irqs off "
            "does not mask NMIs).",
        )
        spec.nonvacuous("NoSelfDeadlock", "NmiInsideSpinLock")
    if m.nmi_runs and m.counts_runs and m.cfg["recursion_check"]:
        add(
            "RecursionSkipped",
            lambda t: any_(t.pc[c][NMI] == PC.SKIPPED for c in m.CPU),
            "The trampoline skips prog X in the NMI: its counter on this CPU is taken by the run the NMI "
            "interrupted (bpf_prog_inc_misses_counter).",
        )
    if m.nmi_runs and len(m.Value) > 1:
        add(
            "NmiHoldsAnotherValue",
            lambda t: any_(and_(t.pc[c][NMI] == PC.HELD, t.pc[c][TASK] == PC.HELD) for c in m.CPU),
            "An NMI prog holds one value's lock while the prog it interrupted holds another's.",
        )
    if m.res:
        add(
            "LockGivesUp",
            lambda s, t: any_(
                and_(s.pc[c][lv] == PC.LOCKING, t.pc[c][lv] == PC.IDLE) for c in m.CPU for lv in (TASK, NMI)
            ),
            "bpf_res_spin_lock gives up: -EDEADLK on a lock its own CPU holds, -ETIMEDOUT after waiting "
            "for another CPU.",
            action="Lock",
        )
    if len(m.CPU) > 1:
        add(
            "CrossCpuSpin",
            lambda t: any_(
                and_(t.pc[c][lv] == PC.LOCKING, t.val[c][lv] == v, t.owner[v] == m.owner_id(d, x))
                for c in m.CPU
                for lv in (TASK, NMI)
                for v in range(len(m.Value))
                for d in m.CPU
                if d != c
                for x in (TASK, NMI)
            ),
            "A prog waits for a value's lock, which a context on another CPU holds (it spins until the "
            "holder's unlock).",
        )

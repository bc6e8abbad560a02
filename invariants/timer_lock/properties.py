"""What the timer helpers' value lock must guarantee: no context spins for ever on the lock that a
context it interrupted holds, and the engine's deadlock check (no step at all)."""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_, not_
from spec.timer_lock import NESTED, TASK


def spins_on_interrupted(s: Any, m: Any) -> Any:
    """A nested prog on some CPU wants the value's lock, which the task-level call it runs inside holds."""
    return any_(and_(s.pc[c][NESTED] == m.PC.LOCKING, s.owner == m.owner_id(c, TASK)) for c in m.CPU)


def register(spec: Spec, m: Any) -> None:
    def NoSelfDeadlock(s):
        """No tracing or NMI prog spins on the value's bpf_spin_lock that the timer helper it runs
        inside, on its own CPU, holds: that helper cannot go on until the prog returns, so neither ever
        does (an AA deadlock with irqs off; the CPU hangs). Tests: bpf_timer_start's in_nmi() refusal
        (v5.15) and the verifier's refusal of timer maps to tracing progs (KPROBE ... RAW_TRACEPOINT;
        Kumar Kartikeya Dwivedi's 2022 RFC to add TRACING, never merged)."""
        return not_(spins_on_interrupted(s, m))

    spec.invariant(NoSelfDeadlock)

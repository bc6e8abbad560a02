"""What the bucket lock must guarantee: no context spins for ever on a lock that a context it
interrupted holds (the deadlock map_locked, its mask fix and the rqspinlock each remove), and the
engine's deadlock check (no step at all)."""

from __future__ import annotations

from typing import Any

from spec.htab_lock import NMI, TASK
from spec.lang import Spec, and_, any_, not_


def spins_on_interrupted(s: Any, m: Any) -> Any:
    """An NMI prog on some CPU wants a bucket lock that the task-level update it interrupted holds."""
    bad = []
    for c in m.CPU:
        for k in range(len(m.Key)):
            bad.append(
                and_(s.pc[c][NMI] == m.PC.COUNTED, s.key[c][NMI] == k, s.owner[m.b(k)] == m.owner_id(c, TASK))
            )
    return any_(bad)


def register(spec: Spec, m: Any) -> None:
    def NoSelfDeadlock(s):
        """No NMI (or tracing) prog spins on a bucket lock that the update it interrupted on its own CPU
        holds: that update cannot run again until the NMI prog returns, so neither ever does (an AA
        deadlock with irqs off; the CPU hangs). Tests: map_locked (20b6cc34ea74) and its counter's
        index (the January 2023 mask fix); the rqspinlock gives up on such a lock (-EDEADLK), so with
        it the state is a step before the refusal, never a spin."""
        if m.lock == "rqspinlock":
            return True
        return not_(spins_on_interrupted(s, m))

    spec.invariant(NoSelfDeadlock)

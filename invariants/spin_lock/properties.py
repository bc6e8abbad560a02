"""What a prog's bpf_spin_lock must guarantee against a prog in an NMI: no context spins for ever on
the lock that the context it interrupted holds, and the engine's deadlock check (no step at all: also
a cycle of waits across CPUs, such as two NMIs each wanting the value the other CPU's prog holds)."""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_, not_
from spec.spin_lock import NMI, TASK


def spins_on_interrupted(s: Any, m: Any) -> Any:
    """An NMI prog on some CPU wants a value's lock that the task-level prog it interrupted holds."""
    return any_(
        and_(s.pc[c][NMI] == m.PC.LOCKING, s.val[c][NMI] == v, s.owner[v] == m.owner_id(c, TASK))
        for c in m.CPU
        for v in range(len(m.Value))
    )


def register(spec: Spec, m: Any) -> None:
    def NoSelfDeadlock(s):
        """No NMI prog spins on a bpf_spin_lock that the prog it interrupted, on its own CPU, holds:
        the interrupted prog cannot go on until the NMI returns, so neither ever does (an AA deadlock
        with irqs off; the CPU hangs). Tests: the verifier's refusal of tracing prog types
        (is_tracing_prog_type, which leaves out BPF_PROG_TYPE_TRACING) and the trampoline's per-prog
        recursion guard; bpf_res_spin_lock gives up on such a lock (-EDEADLK), so with it the state is
        a step before the refusal, never a spin."""
        if m.res:
            return True
        return not_(spins_on_interrupted(s, m))

    spec.invariant(NoSelfDeadlock)

"""What a prog's last put from an NMI must not do: spin on a lock that the context it interrupted holds
(the engine's deadlock check is the other half: no step at all)."""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_, not_
from spec.nmi_put import NMI, TASK


def register(spec: Spec, m: Any) -> None:
    def NoSelfDeadlock(s):
        """No NMI spins on its CPU's worker pool lock while the task it interrupted holds it: the task
        cannot release it until the NMI returns, so neither ever does (an AA deadlock with irqs off; the
        CPU hangs). The tests: the verifier's rule that kept perf_event and kprobe progs off timer and wq
        maps before the rework, v6.12 set_callback's in_nmi() refusal; a put deferred by irq_work (the
        candidate fix) takes no lock."""
        return not_(any_(and_(s.pc[c][NMI] == m.PC.LOCKING, s.pool[c] == m.owner_id(c, TASK)) for c in m.CPU))

    spec.invariant(NoSelfDeadlock)

"""What the NMI prog-put model must be able to do (kernel behaviours), and the preconditions of its
"holds"."""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_
from spec.nmi_put import NMI, TASK


def register(spec: Spec, m: Any) -> None:
    PC = m.PC

    def add(name, fn, doc, action=None, kernel=True):
        spec.witness(name, fn, doc, action, kernel)

    if not m.nmi_runs:
        return
    add(
        "NmiInsidePoolLock",
        lambda t: any_(and_(t.pc[c][NMI] != PC.IDLE, t.pc[c][TASK] == PC.HOLDS) for c in m.CPU),
        "An NMI runs prog B on a CPU whose task holds that CPU's worker pool lock (irqs off does not mask "
        "NMIs).",
    )
    spec.nonvacuous("NoSelfDeadlock", "NmiInsidePoolLock")
    if m.refused:
        add(
            "NmiSetCallbackRefused",
            lambda t: any_(t.pc[c][NMI] == PC.REFUSED for c in m.CPU),
            "v6.12's set_callback in NMI returns -EOPNOTSUPP before it touches the object.",
        )
        return
    if m.cfg["user_releases"]:
        add(
            "LastPutInNmi",
            lambda s, t: and_(s.a_ref == 1, t.a_ref == 0),
            "Prog B's helper call in the NMI puts prog A's last reference (user space detached A and "
            "closed its fds: the object's reference was its last).",
            action="NmiHelper",
        )
        spec.nonvacuous("NoSelfDeadlock", "LastPutInNmi")

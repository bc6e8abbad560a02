"""irq_work (brief §2; kernel/irq_work.c, include/linux/smp_types.h).

The flag word ``node.a_flags`` is an Int(0, 3) of PENDING (1) and BUSY (2); the LAZY and HARD_IRQ
bits select a list and never change, so they are left out. A work is queued on at most one CPU's
raised list at a time (the model keeps that CPU, or ``none``).

- ``irq_work_claim``: ``atomic_fetch_or(CLAIMED)``; it fails (the queue returns false, nothing is
  raised) if PENDING was set. A claim of a BUSY but not PENDING work succeeds: the work can be queued
  on another CPU while its callback still runs there.
- ``irq_work_single``: clear PENDING and keep the result as the runner's snapshot (``seen``); smp_mb;
  func; then ``atomic_cmpxchg(&flags, seen, seen & ~BUSY)``, which fails if anyone re-claimed since.
  BUSY is one bit for every runner: two runners of one work can overlap, and an earlier runner's
  final cmpxchg can clear BUSY while a later one is still inside func.
- ``irq_work_sync``: spins (or waits) while BUSY; one step enabled when BUSY is clear.
"""

from __future__ import annotations

from typing import Any

from spec.lang import ite, or_

PENDING, BUSY = 1, 2
CLAIMED = PENDING | BUSY


def is_pending(flags: Any) -> Any:
    return or_(flags == 1, flags == 3)


def claim(flags: Any) -> tuple[Any, Any]:
    """irq_work_claim: (the flags after fetch_or(CLAIMED), whether this claim queues the work)."""
    return CLAIMED, ite(is_pending(flags), False, True)


def queue_cpu(flags: Any, queued_on: Any, cpu: int) -> Any:
    """The raised list the work is on after irq_work_queue from ``cpu``: unchanged if the claim found
    it PENDING (already queued somewhere), else this CPU's."""
    return ite(is_pending(flags), queued_on, cpu)


def run_start(flags: Any) -> Any:
    """irq_work_single, first step: PENDING cleared (the runner's snapshot ``seen`` is this value)."""
    return flags - ite(is_pending(flags), PENDING, 0)


def run_end(flags: Any, seen: Any) -> Any:
    """irq_work_single, after func: atomic_cmpxchg(&flags, seen, seen & ~BUSY)."""
    return ite(flags == seen, ite(or_(seen == 2, seen == 3), seen - BUSY, seen), flags)


def sync_passes(flags: Any) -> Any:
    """irq_work_sync returns: it read the flags without BUSY."""
    return or_(flags == 0, flags == PENDING)

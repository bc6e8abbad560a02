"""A BPF prog's reference count and free path (brief §6; kernel/bpf/syscall.c, kernel/bpf/core.c).

- ``bpf_prog_inc_not_zero``: ``atomic64_fetch_add_unless(refcnt, 1, 0)``; fails (-ENOENT) at 0. A
  prog can still run with refcnt 0 (before its grace period ends), so the failure is reachable.
- ``__bpf_prog_put``: dec_and_test; at zero, in hard-irq or with irqs disabled, the rest is deferred
  to a workqueue (``bpf_prog_put_deferred`` later); otherwise it runs now. ``bpf_prog_put_deferred``
  ends in ``call_rcu`` (``call_rcu_tasks_trace`` for a sleepable prog); its callback schedules
  ``bpf_prog_free_deferred``, which puts the used maps and frees the prog.

``PHASES`` are the free path's stages as one Enum a model declares (a model may leave out the stages
its designs never use, but must keep the names).
"""

from __future__ import annotations

from typing import Any

from spec.lang import ite, put

PHASES = ["LIVE", "PUT_DEFERRED", "RCU_WAIT", "SYNC", "SYNC_RCU", "FREED"]


def inc_not_zero(ref: Any) -> tuple[Any, Any]:
    """(succeeds, the count after): bpf_prog_inc_not_zero."""
    return ref > 0, ite(ref > 0, ref + 1, ref)


def put_ref(
    refs: tuple, phases: tuple, p: int, phase_enum: Any, from_hardirq: bool
) -> tuple[tuple, tuple, Any]:
    """bpf_prog_put on prog ``p``: (new refcnt table, new phase table, whether this put issues call_rcu
    now). At zero the prog leaves LIVE: to PUT_DEFERRED when the put is made in hard-irq or with irqs
    off (call_rcu comes with ``ProgPutDeferred``), else straight to RCU_WAIT (call_rcu now)."""
    new = refs[p] - 1
    nxt = phase_enum.PUT_DEFERRED if from_hardirq else phase_enum.RCU_WAIT
    issues_call_rcu = False if from_hardirq else new == 0
    return put(refs, p, new), put(phases, p, ite(new == 0, nxt, phases[p])), issues_call_rcu

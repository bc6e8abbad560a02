"""A work item on a workqueue (kernel/workqueue.c; docs/second-reading/bpf_wq_and_async_cb.md §2.1).

State per work: IDLE, PENDING (queued), RUNNING, or RUNNING_PENDING (re-queued while its function
runs). A work item is non-reentrant: a re-queued one runs again only after the current run returns.

- ``schedule_work``: queues it unless PENDING (then returns false: the two starts coalesce).
- the worker: PENDING -> RUNNING, then the function, then RUNNING -> IDLE (or -> PENDING if re-queued).
- ``cancel_work``: removes a pending instance (returns whether one was pending); does not wait.
- ``cancel_work_sync``: removes a pending instance and waits (sleeps) until no instance runs; one step
  enabled when the work is not running. (The kernel also refuses queueing while the cancel waits; the
  model lets such a queue happen and the cancel remove it: more interleavings, not fewer.)
- ``work_busy``: pending or running.
"""

from __future__ import annotations

from typing import Any

from spec.lang import ite, or_

IDLE, PENDING, RUNNING, RUNNING_PENDING = 0, 1, 2, 3
STATES = ["IDLE", "PENDING", "RUNNING", "RUNNING_PENDING"]


def is_pending(st: Any) -> Any:
    return or_(st == PENDING, st == RUNNING_PENDING)


def is_running(st: Any) -> Any:
    return or_(st == RUNNING, st == RUNNING_PENDING)


def schedule(st: Any) -> Any:
    """The state after schedule_work."""
    return ite(st == IDLE, PENDING, ite(st == RUNNING, RUNNING_PENDING, st))


def finish(st: Any) -> Any:
    """The state after the work function returns."""
    return ite(st == RUNNING_PENDING, PENDING, IDLE)


def cancel(st: Any) -> Any:
    """The state after cancel_work (a pending instance removed, a running one left alone)."""
    return ite(st == PENDING, IDLE, ite(st == RUNNING_PENDING, RUNNING, st))


def busy(st: Any) -> Any:
    return st != IDLE

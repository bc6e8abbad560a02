"""task_work (kernel/task_work.c; brief §8, docs/second-reading/bpf_task_work.md).

``task_work_add(task, work, mode)`` queues a callback that the task runs on its way back to user space
(TWA_RESUME) or at once through a signal (TWA_SIGNAL); it fails with -ESRCH once the task is exiting
(the exit path has run its last task_work). ``task_work_cancel`` removes a queued callback and returns
whether it did; once the task has started running it, cancel fails. A model keeps per work whether it
is queued on its task, and per task whether it still accepts work.
"""

from __future__ import annotations

from typing import Any

from spec.lang import and_


def add_succeeds(task_alive: Any) -> Any:
    return task_alive


def can_run(queued: Any, task_alive: Any) -> Any:
    """The task runs a queued callback (on return to user, or in exit_task_work before it dies)."""
    return and_(queued, task_alive)

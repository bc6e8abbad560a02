"""Run independent jobs (matrix cells, crosscheck cells) on worker processes, and stop them cleanly.

Workers ignore SIGINT: Ctrl-C (or SIGTERM, which the CLI turns into the same KeyboardInterrupt) reaches
the parent alone, which terminates the pool at once and returns what had finished. (The executor of
``concurrent.futures`` has no public way to kill running workers: on Ctrl-C it waited for them, and
the command hung.)
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_all(
    fn: Callable[..., T],
    jobs: Sequence[tuple[Any, ...]],
    workers: int,
    fresh: bool = False,
    on_done: Callable[[int, T], None] | None = None,
) -> tuple[list[T | None], bool]:
    """``[fn(*args) for args in jobs]`` on ``workers`` processes (in this process if 1, unless
    ``fresh``: then every job runs in a process of its own, so no job sees another's leftovers, such
    as Z3's global term table, which orders a model's choices). Returns the results in order, None
    for a job that did not finish, and whether the run was interrupted. ``on_done(i, result)`` is
    called in this process as each job finishes, in any order (progress lines)."""
    results: list[T | None] = [None] * len(jobs)
    if not fresh and (workers <= 1 or len(jobs) <= 1):
        try:
            for i, args in enumerate(jobs):
                results[i] = fn(*args)
                if on_done is not None:
                    on_done(i, results[i])
        except KeyboardInterrupt:
            return results, True
        return results, False
    pool = multiprocessing.get_context("fork").Pool(
        max(workers, 1), initializer=_ignore_sigint, maxtasksperchild=1 if fresh else None
    )
    try:
        pending = [
            pool.apply_async(fn, args, callback=None if on_done is None else lambda r, i=i: on_done(i, r))
            for i, args in enumerate(jobs)
        ]
        for i, p in enumerate(pending):
            results[i] = p.get()
    except KeyboardInterrupt:
        pool.terminate()
        pool.join()
        return results, True
    pool.close()
    pool.join()
    return results, False

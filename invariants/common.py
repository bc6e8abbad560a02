"""The properties every design of the family is judged by, with one meaning across designs.

A BPF reviewer asks the same questions of the RFC, bpf_timer, bpf_wq, bpf_task_work and the 2026
bpf_async_cb rework; each model defines these predicates over its own state (its ``invariants``
module) with the meaning below, so the comparison table of the report reads across designs. A model
adds its own, design-specific properties besides them.

"Async object" is the memory a design allocates (or reserves) per deferred callback and frees on its
own path: the RFC's ``aux->irq_work``, bpf_timer's ``struct bpf_hrtimer``, bpf_wq's ``struct
bpf_work``, the rework's ``struct bpf_async_cb``, bpf_task_work's ``struct bpf_task_work_ctx``.
"""

from __future__ import annotations

# name -> (kind, meaning)
SHARED: dict[str, tuple[str, str]] = {
    "NoCallbackAfterProgFree": (
        "safety",
        "No callback starts or runs once its prog is freed (a jump into freed JIT text).",
    ),
    "NoMapAccessAfterFree": (
        "safety",
        "No map value (the one holding the async field, or the callback's value) is read or written "
        "after its memory is freed.",
    ),
    "NoAsyncUseAfterFree": (
        "safety",
        "No async object is read or written (by a helper, the callback, the timer/workqueue/irq_work "
        "core or the free path) after it is freed.",
    ),
    "NoSpinDeadlock": (
        "safety",
        "No context waits for ever: no context spins or sleeps waiting for a callback that cannot "
        "finish because it waits for that context (itself included). BFS's Deadlock column is the "
        "other half: a state where nothing at all can step.",
    ),
    "Deadlock": ("safety", "A reachable state with no enabled action that is not quiescent."),
    "EveryArmedCallbackRunsOrIsCancelled": (
        "liveness",
        "A callback that was successfully armed (submitted, started, scheduled) eventually runs, or "
        "its arming is cancelled or superseded by a later one.",
    ),
    "AsyncEventuallyFreed": (
        "liveness",
        "Once user space has let go (fds closed, progs detached), every async object is eventually freed.",
    ),
    "ProgEventuallyFreed": (
        "liveness",
        "Once user space has let go, the prog is eventually freed (nothing pins it for ever).",
    ),
}

# A design's own name for a shared property (the RFC model predates the family): name -> shared name
ALIASES: dict[str, str] = {
    "NoIrqWorkUseAfterFree": "NoAsyncUseAfterFree",
    "EverySubmittedWorkRuns": "EveryArmedCallbackRunsOrIsCancelled",
}

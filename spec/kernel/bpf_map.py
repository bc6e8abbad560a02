"""Map reference counts (brief §7; kernel/bpf/syscall.c).

``refcnt`` counts every holder (fds, bpffs pins, each prog's used_maps, outer maps); the map is freed
at 0. ``usercnt`` counts user space's holders only (fds, pins); at 0 ``map_release_uref`` runs, which
for maps with timers, workqueues or task_work sweeps every element with ``cancel_and_free``. A fd close
is ``bpf_map_put_with_uref``: usercnt first, then refcnt.
"""

from __future__ import annotations

from typing import Any


def put_with_uref(usercnt: Any, refcnt: Any) -> tuple[Any, Any, Any]:
    """Closing a map fd: (usercnt after, refcnt after, whether map_release_uref runs now)."""
    return usercnt - 1, refcnt - 1, usercnt == 1


def freed(refcnt: Any) -> Any:
    """The map's memory is gone (freed at once when refcnt reaches 0: see the model's abstractions)."""
    return refcnt == 0

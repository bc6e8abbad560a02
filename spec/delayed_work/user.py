"""User space: the syscalls that let go of the prog and the map (kernel/bpf/syscall.c), and a hash
element's delete (kernel/bpf/hashtab.c). The RFC adds no map-side hook: closing the map fd or
deleting an element cancels nothing (RFC patch 1/3)."""

from __future__ import annotations

from typing import Any

from spec.delayed_work.model import Model
from spec.lang import Step, and_, put, when


def ProgDetach(m: Model, s: Any, p: int) -> Step:
    """User space detaches the prog: the link's reference is put."""
    return when(s.prog_attached[p], **m.prog_put(s, p, dict(prog_attached=put(s.prog_attached, p, False))))


def ProgFdClose(m: Model, s: Any, p: int) -> Step:
    """User space closes the prog fd."""
    return when(s.prog_fd[p], **m.prog_put(s, p, dict(prog_fd=put(s.prog_fd, p, False))))


def MapFdClose(m: Model, s: Any) -> Step:
    """bpf_map_put_with_uref: usercnt to 0 (map_release_uref: no hook in the RFC), then refcnt."""
    return when(s.map_usercnt == 1, map_usercnt=0, map_refcnt=s.map_refcnt - 1)


def MapDeleteElem(m: Model, s: Any, w: int) -> Step:
    """User space deletes the hash element holding w (no cancel in patch 1/3). The element of a
    BPF_F_NO_PREALLOC htab is freed by call_rcu (htab_elem_free_rcu): its grace period waits
    for the readers in flight now, whatever the prog's flavour. (A preallocated htab puts it
    on a freelist for immediate reuse: weaker still, so every violation here holds there.)"""
    g = and_(s.map_usercnt == 1, s.elem[w] == m.Elem.LIVE)
    readers = put(s.elem_readers, w, m.readers_now(s, "call_rcu"))
    return when(g, elem=put(s.elem, w, m.Elem.DELETED), elem_readers=readers)

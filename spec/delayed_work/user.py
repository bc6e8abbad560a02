"""User space: the syscalls that let go of the prog and the map (kernel/bpf/syscall.c), and a hash
element's delete (kernel/bpf/hashtab.c). The RFC adds no map-side hook: closing the map fd or
deleting an element cancels nothing (RFC patch 1/3)."""

from __future__ import annotations

from typing import Any

from spec.delayed_work.model import Model
from spec.lang import Step, and_, cites, put, when


@cites(
    "K-syscall",
    "close of the link fd -> bpf_link_release -> bpf_prog_put (environment: user space detaches)",
    "__bpf_prog_put: if (atomic64_dec_and_test(&aux->refcnt)) { if (in_irq() || irqs_disabled()) "
    "schedule_work(..); else bpf_prog_put_deferred(&aux->work); } -> __bpf_prog_put_noref: call_rcu "
    "(call_rcu_tasks_trace if sleepable)",
    "environment event; the decrement is one atomic operation, and from a syscall a last put runs "
    "bpf_prog_put_deferred at once in the same thread: merging its call_rcu with the decrement fixes the "
    "grace period's readers a little early, so a reader that starts in between is not waited for (the "
    "kernel would wait for it): this only allows more behaviours",
)
def ProgDetach(m: Model, s: Any, p: int) -> Step:
    """User space detaches the prog: the link's reference is put."""
    return when(
        and_(s.prog_attached[p], m.handlers_quiet(s)),
        **m.prog_put(s, p, dict(prog_attached=put(s.prog_attached, p, False))),
    )


@cites(
    "K-syscall",
    "close of the prog fd -> bpf_prog_release -> bpf_prog_put (environment: user space closes it)",
    "__bpf_prog_put: atomic64_dec_and_test(&aux->refcnt); at zero from a syscall bpf_prog_put_deferred -> "
    "call_rcu (call_rcu_tasks_trace if sleepable)",
    "environment event; as ProgDetach: one atomic decrement, a last put's call_rcu merged with it (only "
    "more behaviours)",
)
def ProgFdClose(m: Model, s: Any, p: int) -> Step:
    """User space closes the prog fd."""
    return when(
        and_(s.prog_fd[p], m.handlers_quiet(s)), **m.prog_put(s, p, dict(prog_fd=put(s.prog_fd, p, False)))
    )


@cites(
    "K-syscall",
    "close of the map fd -> bpf_map_release -> bpf_map_put_with_uref (environment)",
    "bpf_map_put_uref: atomic64_dec_and_test(&map->usercnt) (the RFC adds no map_release_uref: S-p1), "
    "then bpf_map_put: atomic64_dec_and_test(&map->refcnt)",
    "environment event; two atomic decrements merged: with no map_release_uref nothing acts between them; "
    "at refcnt 0 the map is freed at once (ABSTRACTIONS: an earlier free only adds use-after-free "
    "chances)",
)
def MapFdClose(m: Model, s: Any) -> Step:
    """bpf_map_put_with_uref: usercnt to 0 (map_release_uref: no hook in the RFC), then refcnt."""
    return when(and_(s.map_usercnt == 1, m.handlers_quiet(s)), map_usercnt=0, map_refcnt=s.map_refcnt - 1)


@cites(
    "K-htab",
    "bpf_map_delete_elem from user space -> htab_map_delete_elem (environment; the RFC adds no cancel: S-p1)",
    "unverified: the 2022 hashtab.c was not re-read (docs/kernel-facts.md#map-htab-free): the element "
    "unlinked under its bucket lock, then call_rcu(&l->rcu, htab_elem_free_rcu) for a BPF_F_NO_PREALLOC "
    "map",
    "environment event; the unlink under the bucket lock and the call_rcu that follows are merged: the "
    "grace period's readers are fixed at the unlink, a reader that starts in between is not waited for "
    "(only more behaviours)",
)
def MapDeleteElem(m: Model, s: Any, w: int) -> Step:
    """User space deletes the hash element holding w (no cancel in patch 1/3). The element of a
    BPF_F_NO_PREALLOC htab is freed by call_rcu (htab_elem_free_rcu): its grace period waits
    for the readers in flight now, whatever the prog's flavour. (A preallocated htab puts it
    on a freelist for immediate reuse: weaker still, so every violation here holds there.)"""
    g = and_(s.map_usercnt == 1, s.elem[w] == m.Elem.LIVE, m.handlers_quiet(s))
    readers = put(s.elem_readers, w, m.readers_now(s, "call_rcu"))
    return when(g, elem=put(s.elem, w, m.Elem.DELETED), elem_readers=readers)

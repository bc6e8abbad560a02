"""User space and the free paths: the syscalls (kernel/bpf/syscall.c: map update/delete, the map fd
close with its ``map_release_uref`` sweep, ``BPF_MAP_GET_FD_BY_ID``, the prog's detach and fd close),
the prog's deferred put and free (kernel/bpf/syscall.c, kernel/bpf/core.c; at the map's last
reference the ``map_free`` sweep), and the ctx's grace period (``free_after_gp``: v4-v6).

User space is one actor (``pc[user]``, ``job``): its cancel_and_free steps are those of cancel.py.
"""

from __future__ import annotations

from typing import Any

from spec.bpf_task_work.model import Model
from spec.kernel import rcu
from spec.lang import Step, and_, cites, not_, put, when


@cites(
    "K-arraymap",
    "bpf_map_update_elem / delete from user space -> bpf_obj_free_fields -> bpf_task_work_cancel_and_free "
    "(environment)",
    "unverified for an array map's update (array_map_update_elem -> bpf_obj_free_fields, not "
    "re-read); bpf_obj_free_fields has a case BPF_TASK_WORK: calling bpf_task_work_cancel_and_free "
    "(K-plumb, docs/second-reading/bpf_task_work.md §1.1), whose steps are XSlot ...",
    "environment event: the syscall's entry changes nothing another CPU can see before its "
    "cancel_and_free's first xchg",
)
def UserUpdate(m: Model, s: Any, v: int) -> Step:
    """bpf_map_update_elem / delete on value v: bpf_obj_free_fields -> cancel_and_free."""
    g = and_(m.user_idle(s), s.map_usercnt == 1, m.handlers_quiet(s))
    return when(g, job=m.Job.UPDATE, **m.set_actor(s, m.USER, {}, m.PC.XSLOT, m.NO_OBJ, v))


@cites(
    "K-syscall",
    "close of the map fd -> bpf_map_put_with_uref -> map_release_uref (environment)",
    "bpf_map_put_uref: if (atomic64_dec_and_test(&map->usercnt)) map->ops->map_release_uref(map) "
    "(array_map_free_internal_structs: bpf_task_work_cancel_and_free on every value); then the refcnt put "
    "(at the end of the sweep, XSlot)",
    "environment event; the usercnt decrement is one atomic operation; the sweep's cancel_and_free steps "
    "follow one by one",
)
def MapFdClose(m: Model, s: Any) -> Step:
    """bpf_map_put_with_uref: usercnt 1 -> 0 runs map_release_uref (a cancel_and_free sweep of
    every value), then the refcnt put (XSlot/x_done)."""
    g = and_(m.user_idle(s), s.map_usercnt == 1, m.handlers_quiet(s))
    return when(g, map_usercnt=0, job=m.Job.RELEASE, **m.set_actor(s, m.USER, {}, m.PC.XSLOT, m.NO_OBJ, 0))


@cites(
    "K-syscall",
    "close of the link fd -> bpf_link_release -> bpf_prog_put (environment)",
    "__bpf_prog_put: atomic64_dec_and_test(&aux->refcnt); at zero from a syscall bpf_prog_put_deferred -> "
    "call_rcu",
    "environment event; one atomic decrement, a last put's call_rcu merged with it (the grace period's "
    "readers fixed a little early: only more behaviours)",
)
def ProgDetach(m: Model, s: Any) -> Step:
    """The link is released: bpf_prog_put."""
    return when(and_(s.prog_attached, m.handlers_quiet(s)), **m.prog_put(s, {"prog_attached": False}))


@cites(
    "K-syscall",
    "close of the prog fd -> bpf_prog_release -> bpf_prog_put (environment)",
    "__bpf_prog_put: atomic64_dec_and_test(&aux->refcnt); at zero from a syscall bpf_prog_put_deferred -> "
    "call_rcu",
    "environment event; as ProgDetach",
)
def ProgFdClose(m: Model, s: Any) -> Step:
    return when(and_(s.prog_fd, m.handlers_quiet(s)), **m.prog_put(s, {"prog_fd": False}))


@cites(
    "K-syscall",
    "BPF_MAP_GET_FD_BY_ID -> __bpf_map_inc_not_zero(map, true) (environment)",
    "refold = atomic64_fetch_add_unless(&map->refcnt, 1, 0); ... if (uref) atomic64_inc(&map->usercnt) "
    "(docs/kernel-facts.md#map-uref-reopen)",
    "environment event; two atomic increments merged: between them only this caller knows of the new "
    "reference",
)
def MapGetFdById(m: Model, s: Any) -> Step:
    """BPF_MAP_GET_FD_BY_ID: __bpf_map_inc_not_zero(map, true) raises usercnt again."""
    g = and_(m.user_idle(s), s.map_usercnt == 0, s.map_refcnt > 0, not_(s.reopened), m.handlers_quiet(s))
    return when(g, map_usercnt=1, map_refcnt=s.map_refcnt + 1, reopened=True, swept=False)


@cites(
    "K-syscall",
    "bpf_prog_put_deferred -> __bpf_prog_put_noref (the workqueue a last put in hard-irq scheduled)",
    "call_rcu(&prog->aux->rcu, __bpf_prog_put_rcu) (call_rcu_tasks_trace for a sleepable prog)",
    "the kworker's function up to call_rcu touches only the prog whose refcount is 0",
)
def ProgPutDeferred(m: Model, s: Any) -> Step:
    """The workqueue runs bpf_prog_put_deferred (the last put was in hard-irq): call_rcu now."""
    upd = {"prog_phase": m.Phase.RCU_WAIT}
    now = rcu.snapshot(lambda c, _k: s.pc[c] != m.PC.IDLE, m.ncpu, 1)
    upd["prog_gp"] = rcu.start_gp(s.prog_gp, 0, now)
    return when(and_(s.prog_phase == m.Phase.PUT_DEFERRED, m.handlers_quiet(s)), **upd)


@cites(
    "K-core",
    "__bpf_prog_put_rcu -> bpf_prog_free -> bpf_prog_free_deferred -> bpf_free_used_maps",
    "after the grace period (K-rcu-doc): bpf_free_used_maps puts the map (bpf_map_put: "
    "atomic64_dec_and_test(&map->refcnt)), the prog is freed; at the map's refcnt 0 its map_free runs "
    "bpf_obj_free_fields on every value (the MAPFREE sweep, XSlot ...)",
    "the grace period's end, the RCU callback and the deferred free touch only the prog and one atomic "
    "decrement of the map's refcnt; the map_free sweep's steps follow one by one",
)
def ProgFree(m: Model, s: Any) -> list[Step]:
    """The grace period ends: bpf_prog_free_deferred puts the used maps and frees the prog; at the
    map's refcnt 0, map_free sweeps every value (cancel_and_free) in the user-space actor."""
    # bpf_prog_free_deferred is a workqueue item: a slow activity (stalls = none: handlers_quiet)
    g = and_(s.prog_phase == m.Phase.RCU_WAIT, rcu.gp_over(s.prog_gp[0]), m.handlers_quiet(s))
    new = s.map_refcnt - 1
    upd = dict(prog_phase=m.Phase.FREED, map_refcnt=new)
    starts = and_(new == 0, m.user_idle(s))
    free = m.set_actor(s, m.USER, dict(upd, job=m.Job.MAPFREE), m.PC.XSLOT, m.NO_OBJ, 0)
    return [when(and_(g, starts), **free), when(and_(g, not_(starts)), **upd)]


@cites(
    "V8",
    "bpf_task_work_ctx_put (free_after_gp = true: v4-v6, not V8)",
    "none in V8: v4-v6's call_rcu_tasks_trace then call_rcu before bpf_mem_free "
    "(docs/second-reading/bpf_task_work.md §2)",
    "the grace period's end and the free are one event (the callback touches only the ctx)",
)
def CtxGpEnd(m: Model, s: Any, o: int) -> Step:
    """The ctx's grace period ends: bpf_mem_free."""
    g = and_(s.mem[o] == m.Mem.GP_WAIT, rcu.gp_over(s.ctx_gp[o]))
    return when(g, mem=put(s.mem, o, m.Mem.FREED))

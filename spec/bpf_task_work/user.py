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
from spec.lang import Step, and_, not_, put, when


def UserUpdate(m: Model, s: Any, v: int) -> Step:
    """bpf_map_update_elem / delete on value v: bpf_obj_free_fields -> cancel_and_free."""
    g = and_(m.user_idle(s), s.map_usercnt == 1, m.handlers_quiet(s))
    return when(g, job=m.Job.UPDATE, **m.set_actor(s, m.USER, {}, m.PC.XSLOT, m.NO_OBJ, v))


def MapFdClose(m: Model, s: Any) -> Step:
    """bpf_map_put_with_uref: usercnt 1 -> 0 runs map_release_uref (a cancel_and_free sweep of
    every value), then the refcnt put (XSlot/x_done)."""
    g = and_(m.user_idle(s), s.map_usercnt == 1, m.handlers_quiet(s))
    return when(g, map_usercnt=0, job=m.Job.RELEASE, **m.set_actor(s, m.USER, {}, m.PC.XSLOT, m.NO_OBJ, 0))


def ProgDetach(m: Model, s: Any) -> Step:
    """The link is released: bpf_prog_put."""
    return when(and_(s.prog_attached, m.handlers_quiet(s)), **m.prog_put(s, {"prog_attached": False}))


def ProgFdClose(m: Model, s: Any) -> Step:
    return when(and_(s.prog_fd, m.handlers_quiet(s)), **m.prog_put(s, {"prog_fd": False}))


def MapGetFdById(m: Model, s: Any) -> Step:
    """BPF_MAP_GET_FD_BY_ID: __bpf_map_inc_not_zero(map, true) raises usercnt again."""
    g = and_(m.user_idle(s), s.map_usercnt == 0, s.map_refcnt > 0, not_(s.reopened), m.handlers_quiet(s))
    return when(g, map_usercnt=1, map_refcnt=s.map_refcnt + 1, reopened=True, swept=False)


def ProgPutDeferred(m: Model, s: Any) -> Step:
    """The workqueue runs bpf_prog_put_deferred (the last put was in hard-irq): call_rcu now."""
    upd = {"prog_phase": m.Phase.RCU_WAIT}
    now = rcu.snapshot(lambda c, _k: s.pc[c] != m.PC.IDLE, m.ncpu, 1)
    upd["prog_gp"] = rcu.start_gp(s.prog_gp, 0, now)
    return when(s.prog_phase == m.Phase.PUT_DEFERRED, **upd)


def ProgFree(m: Model, s: Any) -> list[Step]:
    """The grace period ends: bpf_prog_free_deferred puts the used maps and frees the prog; at the
    map's refcnt 0, map_free sweeps every value (cancel_and_free) in the user-space actor."""
    g = and_(s.prog_phase == m.Phase.RCU_WAIT, rcu.gp_over(s.prog_gp[0]))
    new = s.map_refcnt - 1
    upd = dict(prog_phase=m.Phase.FREED, map_refcnt=new)
    starts = and_(new == 0, m.user_idle(s))
    free = m.set_actor(s, m.USER, dict(upd, job=m.Job.MAPFREE), m.PC.XSLOT, m.NO_OBJ, 0)
    return [when(and_(g, starts), **free), when(and_(g, not_(starts)), **upd)]


def CtxGpEnd(m: Model, s: Any, o: int) -> Step:
    """The ctx's grace period ends: bpf_mem_free."""
    g = and_(s.mem[o] == m.Mem.GP_WAIT, rcu.gp_over(s.ctx_gp[o]))
    return when(g, mem=put(s.mem, o, m.Mem.FREED))

"""User space: one sequential process (``upc``) that may update an element (bpf_map_update_elem ->
bpf_obj_free_fields -> cancel_and_free), closes the map fd (usercnt 0: ``map_release_uref`` sweeps
every element with cancel_and_free, then the map reference is put), detaches the prog and closes its
fd, in any order, each at most once (kernel/bpf/syscall.c, kernel/bpf/arraymap.c).
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async import rework
from spec.bpf_async.model import Model
from spec.kernel import hrtimer, workqueue
from spec.lang import Step, and_, any_, cites, disabled, ite, not_, or_, over, put, when


def user_caf_steps(m: Model, s: Any, g: Any, e: int, then: dict) -> list[Step]:
    """cancel_and_free from a syscall (map update, or the sweep): the lockless READ_ONCE (NULL:
    return), then detach, then wait and free."""
    UPc = m.UPc
    cur = s.slot[e]
    steps = [when(and_(g, cur == m.NO_OBJ), **then)]
    for o in over(cur, m.Obj):
        gi = and_(g, cur == o, m.lock_free(s, e))
        base = dict(then, slot=put(s.slot, e, m.NO_OBJ), mem=put(s.mem, o, m.Mem.DETACHED))
        if m.locked:
            m.drop_prog(s, o, base, irqs_off=True)
            if m.timer or m.cfg["wq_delete"] == "inline":
                wait = UPc.SWEEP_WAIT if then.get("upc") == UPc.SWEEP else UPc.CAF_WAIT
                base.update(upc=wait, uarg=o)
                if not m.timer:
                    base["exec_state"] = put(s.exec_state, o, workqueue.cancel(s.exec_state[o]))
            else:
                base["delwork"] = put(s.delwork, o, m.DelWork.QUEUED)
        else:
            if m.cfg["early_prog_put"]:
                m.drop_prog(s, o, base, irqs_off=False)
            if m.timer:
                base["exec_state"] = put(
                    s.exec_state, o, ite(s.running[o] == m.NO_CPU, hrtimer.INACTIVE, s.exec_state[o])
                )
            else:
                base["exec_state"] = put(s.exec_state, o, workqueue.cancel(s.exec_state[o]))
            rework.refcount_put(m, s, o, base)
        steps.append(when(gi, **base))
    return steps


@cites(
    "K-arraymap",
    "bpf_map_update_elem from user space -> array_map_update_elem -> bpf_obj_free_fields -> "
    "bpf_timer_cancel_and_free / bpf_wq_cancel_and_free (environment)",
    "unverified: array_map_update_elem copies the value, then bpf_obj_free_fields frees its special "
    "fields (docs/second-reading/bpf_timer.md §1.2 T8: a recollection, not re-read for V24); "
    "cancel_and_free as at ProgCall (V24 T5 steps 1-4; R1: xchg, prog put, hrtimer_try_to_cancel / "
    "cancel_work, the map's reference put)",
    "environment event merged with cancel_and_free's detach (V24: the lockless read and the locked "
    "section are one step for every observer; R1: the xchg, the prog put, the non-waiting cancel and the "
    "put are one step: a start that read the pointer earlier takes its reference before or after it, and "
    "both orders are explored, ABSTRACTIONS); the synchronous wait is UserWaitDone",
)
@cites(
    "K-htab-update",
    "htab_map_update_elem, a preallocated map, the key present (map = hash)",
    "ret = htab_lock_bucket(b, &flags); .. hlist_nulls_add_head_rcu(&l_new->hash_node, head); if (l_old) { "
    "hlist_nulls_del_rcu(&l_old->hash_node); /* l_old has already been stashed in htab->extra_elems, free "
    "its special fields before it is available for reuse. */ if (htab_is_prealloc(htab)) "
    "check_and_free_fields(htab, l_old); } htab_unlock_bucket(b, flags); (round5-issue21.md B1: v6.13-6.14 "
    "and the newest copy alike)",
    "the update holds the bucket lock across bpf_timer_cancel_and_free, so across its hrtimer_cancel "
    "(UPc.CAF_WAIT, UserWaitDone): other lockers of the bucket spin meanwhile (Model.bucket_held)",
)
@cites(
    "K-lru",
    "htab_lru_map_update_elem -> prealloc_lru_pop -> bpf_common_lru_pop_free -> "
    "bpf_lru_list_pop_free_to_local -> __bpf_lru_list_shrink -> htab_lru_map_delete_node (map = lru)",
    "raw_spin_lock_irqsave(&loc_l->lock, flags); ... raw_spin_lock(&l->lock); ... "
    "lru->del_from_htab(lru->del_arg, node) -> htab_unlock_bucket(htab, b, tgt_l->hash, flags); if (l "
    "== tgt_l) check_and_free_fields(htab, l); (round8-b3.md §1-2: the victim's timer is freed with the "
    "LRU list locks held, irqs off)",
    "the update of a new key evicts value e (the LRU's pick: any value of a full map) and holds the LRU "
    "lock across its cancel_and_free's hrtimer_cancel (UPc.CAF_WAIT): a delete's push spins meanwhile "
    "(Model.bucket_held)",
)
def UserUpdateElem(m: Model, s: Any, e: int) -> list[Step]:
    """bpf_map_update_elem from user space overwrites value e: bpf_obj_free_fields ->
    cancel_and_free."""
    g = and_(s.upc == m.UPc.IDLE, not_(s.updated), s.map_usercnt > 0)
    return user_caf_steps(m, s, g, e, dict(updated=True))


@cites(
    "K-htab-update",
    "htab_map_delete_elem from user space, BPF_F_NO_PREALLOC (map = hash_malloc, v6.14 and before)",
    "htab_lock_bucket; l = lookup_elem_raw(..); hlist_nulls_del_rcu(&l->hash_node); htab_unlock_bucket; "
    "free_htab_elem(htab, l) -> htab_elem_free: check_and_free_fields(htab, l) -> bpf_obj_free_fields -> "
    "bpf_timer_cancel_and_free (round5-issue21.md B2)",
    "environment event; the unlink and the detach of cancel_and_free are one step (the bucket's locked "
    "section reads nothing the timer code writes); its hrtimer_cancel is UserWaitDone, the element's free "
    "UserElemFree",
)
def UserDeleteElem(m: Model, s: Any, e: int) -> list[Step]:
    """bpf_map_delete_elem from user space on key e: the element leaves its bucket, then its timer is
    cancelled and freed (cancel_and_free), then the element is freed (UserElemFree)."""
    g = and_(s.upc == m.UPc.IDLE, s.elem[e] == m.Elem.LIVE, s.map_usercnt > 0)
    unlinked = put(s.elem, e, m.Elem.UNLINKED)
    return user_caf_steps(m, s, g, e, dict(elem=unlinked, upc=m.UPc.DEL_FREE))


@cites(
    "K-htab-update",
    "htab_elem_free (BPF_F_NO_PREALLOC, v6.14 and before: no allocator destructor)",
    "bpf_mem_cache_free(&htab->ma, l): the element goes to the allocator's free list and is freed after a "
    "tasks-trace and an RCU grace period (kernel/bpf/memalloc.c free_bulk -> do_call_rcu_ttrace; "
    "__free_rcu: free_all -> kfree, no destructor) (round5-issue21.md B2)",
    "the free call fixes the grace period's readers; the element is not reused here (a reuse only moves "
    "a timer armed in it to another key)",
)
def UserElemFree(m: Model, s: Any, e: int) -> Step:
    """The delete frees the element's memory (after a grace period): nothing cancels a timer that was
    armed in it after its cancel_and_free."""
    g = and_(s.upc == m.UPc.DEL_FREE, s.elem[e] == m.Elem.UNLINKED)
    readers = put(s.elem_readers, e, m.readers_now(s, "classic"))
    return when(g, upc=m.UPc.IDLE, elem=put(s.elem, e, m.Elem.RCU_WAIT), elem_readers=readers)


@cites(
    "V24",
    "bpf_timer_cancel_and_free (inline bpf_timer_delete_work); bpf_wq inline (wq_delete = inline)",
    "hrtimer_cancel(&t->timer); kfree_rcu(t, cb.rcu) (bpf_timer.md T5b); or cancel_work_sync then kfree_rcu",
    "the wait is one step enabled when the callback is not running; kfree_rcu only queues the grace period",
)
def UserWaitDone(m: Model, s: Any) -> list[Step]:
    """The syscall's hrtimer_cancel / cancel_work_sync returns; the object is freed."""
    UPc = m.UPc
    o_ = s.uarg
    g = or_(s.upc == UPc.CAF_WAIT, s.upc == UPc.SWEEP_WAIT)
    if disabled(g):
        return []
    steps = []
    for o in over(o_, m.Obj):
        if m.timer:
            passes = hrtimer.cancel_passes(s.running[o], m.NO_CPU)
            st = hrtimer.INACTIVE
        else:
            passes = not_(workqueue.is_running(s.exec_state[o]))
            st = workqueue.IDLE
        # after a delete's wait the syscall goes on to free the element (DEL_FREE)
        after_caf = UPc.IDLE
        if m.malloc:
            after_caf = ite(any_(s.elem[e] == m.Elem.UNLINKED for e in m.Slot), UPc.DEL_FREE, UPc.IDLE)
        nxt = ite(s.upc == UPc.SWEEP_WAIT, UPc.SWEEP, after_caf)
        upd = dict(upc=nxt, uarg=m.NO_OBJ, exec_state=put(s.exec_state, o, st))
        m.touch_obj(upd, s, o)
        m.kfree(s, o, upd)
        steps.append(when(and_(g, o_ == o, passes), **upd))
    return steps


@cites(
    "K-syscall",
    "close of the map fd -> bpf_map_put_with_uref (environment)",
    "bpf_map_put_uref: if (atomic64_dec_and_test(&map->usercnt)) map->ops->map_release_uref(map) (the "
    "sweep: UrefSweep); uref_sweep = false: no sweep, then bpf_map_put",
    "environment event; the usercnt decrement is one atomic operation; the sweep's steps follow",
)
def MapFdClose(m: Model, s: Any) -> Step:
    """bpf_map_put_with_uref: usercnt to 0, then map_release_uref's sweep, then the put."""
    g = and_(s.upc == m.UPc.IDLE, s.map_usercnt == 1)
    if m.cfg["uref_sweep"]:
        return when(g, map_usercnt=0, upc=m.UPc.SWEEP, usweep=0)
    return when(g, map_usercnt=0, map_refcnt=s.map_refcnt - 1)


@cites(
    "K-arraymap",
    "array_map_free_timers_wq (map_release_uref, v6.12) -> bpf_obj_free_timer / bpf_obj_free_workqueue",
    "for each element: bpf_timer_cancel_and_free / bpf_wq_cancel_and_free (as at ProgCall); after the "
    "last, bpf_map_put_with_uref's bpf_map_put (atomic64_dec_and_test(&map->refcnt))",
    "one element per step: each element's cancel_and_free detach is one step (as at ProgCall); the loop's "
    "index is the sweeping thread's own",
)
def UrefSweep(m: Model, s: Any) -> list[Step]:
    """map_release_uref visits the next value: cancel_and_free; after the last, the put."""
    g = s.upc == m.UPc.SWEEP
    if disabled(g):
        return []
    steps = []
    for e in m.Slot:
        then = dict(usweep=e + 1, upc=m.UPc.SWEEP)
        if m.malloc:  # htab_free_malloced_timers_and_wq walks the buckets: a deleted element is not there
            linked = s.elem[e] == m.Elem.LIVE
            steps += user_caf_steps(m, s, and_(g, s.usweep == e, linked), e, then)
            steps.append(when(and_(g, s.usweep == e, not_(linked)), **then))
            continue
        steps += user_caf_steps(m, s, and_(g, s.usweep == e), e, then)
    steps.append(when(and_(g, s.usweep == m.slots), upc=m.UPc.IDLE, map_refcnt=s.map_refcnt - 1))
    return steps


@cites(
    "K-syscall",
    "close of the link fd -> bpf_link_release -> bpf_prog_put (environment)",
    "__bpf_prog_put: atomic64_dec_and_test(&aux->refcnt); at zero from a syscall bpf_prog_put_deferred -> "
    "call_rcu (call_rcu_tasks_trace for a sleepable prog)",
    "environment event; one atomic decrement, a last put's call_rcu merged with it (the grace period's "
    "readers fixed a little early: only more behaviours)",
)
def ProgDetach(m: Model, s: Any) -> Step:
    upd = m.prog_put(s, dict(prog_attached=False), irqs_off=False)
    return when(s.prog_attached, **upd)


@cites(
    "K-syscall",
    "close of the prog fd -> bpf_prog_release -> bpf_prog_put (environment)",
    "__bpf_prog_put: atomic64_dec_and_test(&aux->refcnt); at zero from a syscall bpf_prog_put_deferred -> "
    "call_rcu",
    "environment event; as ProgDetach",
)
def ProgFdClose(m: Model, s: Any) -> Step:
    upd = m.prog_put(s, dict(prog_fd=False), irqs_off=False)
    return when(s.prog_fd, **upd)


@cites(
    "K-syscall",
    "unlink of the prog's bpffs file -> bpf_free_inode -> bpf_any_put -> bpf_prog_put (environment)",
    "__bpf_prog_put: atomic64_dec_and_test(&aux->refcnt); at zero bpf_prog_put_deferred -> call_rcu",
    "environment event; as ProgDetach",
)
def ProgUnpin(m: Model, s: Any) -> Step:
    """User space removes the prog's bpffs pin: the pin's reference is put."""
    upd = m.prog_put(s, dict(prog_pin=False), irqs_off=False)
    return when(s.prog_pin, **upd)

"""The free paths: the prog's (kernel/bpf/syscall.c, kernel/bpf/core.c, with the RFC's hunk in
``bpf_prog_free_deferred``) and a hash element's (kernel/bpf/hashtab.c, ``htab_elem_free_rcu``).

The prog's free path (``prog_phase``):

    LIVE --last bpf_prog_put from a syscall: bpf_prog_put_deferred runs, call_rcu--> RCU_WAIT
    LIVE --last put in hard-irq (the drain): schedule_work--> PUT_DEFERRED
    PUT_DEFERRED --ProgPutDeferred: the workqueue runs bpf_prog_put_deferred, call_rcu--> RCU_WAIT
    RCU_WAIT --RcuGracePeriod: every reader in flight at call_rcu has finished--> SYNC
    SYNC --ProgFreeDeferred: irq_work_sync passes (!BUSY), bpf_free_used_maps, free--> FREED
    (rfc_repaired: SYNC --irq_work_sync, synchronize_rcu starts--> SYNC_RCU --it ends, release--> FREED)

A grace period's readers are copied when it starts (``gp_readers``) and each leaves the set when its
read-side section ends; readers that start later are not waited for (the call_rcu() kernel-doc in
kernel/rcu/tree.c: the callback "might well execute concurrently with RCU read-side critical
sections that started after call_rcu()").
"""

from __future__ import annotations

from typing import Any

from spec.delayed_work.model import Model
from spec.kernel import irq_work
from spec.lang import Step, and_, cites, put, when


@cites(
    "K-htab",
    "htab_elem_free_rcu (the call_rcu callback of a deleted BPF_F_NO_PREALLOC element)",
    "unverified: the 2022 hashtab.c was not re-read (docs/kernel-facts.md#map-htab-free): the element "
    "freed once the grace period started at the delete is over",
    "the RCU callback's free touches only the element; the grace period's end is when the readers in "
    "flight at the delete have finished (K-rcu-doc call_rcu kernel-doc)",
)
def ElemFreeRcu(m: Model, s: Any, w: int) -> Step:
    """htab_elem_free_rcu: the grace period started at delete is over; readers that began
    after the delete (a drain raised later, another prog run) may still be running."""
    g = and_(s.elem[w] == m.Elem.DELETED, m.gp_over(s, s.elem_readers[w], "call_rcu"))
    return when(g, elem=put(s.elem, w, m.Elem.FREED))


@cites(
    "K-syscall",
    "bpf_prog_put_deferred -> __bpf_prog_put_noref (run by the workqueue a last put in hard-irq "
    "scheduled: INIT_WORK(&aux->work, bpf_prog_put_deferred); schedule_work(&aux->work))",
    "if (prog->aux->sleepable) call_rcu_tasks_trace(&prog->aux->rcu, __bpf_prog_put_rcu); else "
    "call_rcu(&prog->aux->rcu, __bpf_prog_put_rcu)",
    "the kworker's function up to call_rcu touches only the prog whose refcount is 0 (no one can take a "
    "reference any more: inc_not_zero fails), so it is one step; the grace period's readers are those in "
    "flight at this step",
)
def ProgPutDeferred(m: Model, s: Any, p: int) -> Step:
    """The workqueue runs bpf_prog_put_deferred (the last put was made in hard-irq): it issues
    call_rcu (call_rcu_tasks_trace for a sleepable prog) only now."""
    upd = dict(prog_phase=put(s.prog_phase, p, m.Phase.RCU_WAIT))
    m.call_rcu(s, p, upd)
    return when(and_(s.prog_phase[p] == m.Phase.PUT_DEFERRED, m.handlers_quiet(s)), **upd)


@cites(
    "K-rcu-doc",
    "call_rcu / call_rcu_tasks_trace: the callback __bpf_prog_put_rcu, then bpf_prog_free (K-core: "
    "INIT_WORK(&aux->work, bpf_prog_free_deferred); schedule_work(&aux->work))",
    "the callback runs after every read-side critical section in flight at call_rcu has ended, and 'might "
    "well execute concurrently with RCU read-side critical sections that started after call_rcu() was "
    "invoked' (call_rcu() kernel-doc)",
    "the grace period's end is one event; the callback, which only schedules bpf_prog_free_deferred, is "
    "merged with it (it touches only the prog)",
)
def RcuGracePeriod(m: Model, s: Any, p: int) -> Step:
    """The grace period ends (__bpf_prog_put_rcu, then bpf_prog_free schedules
    bpf_prog_free_deferred): every reader in flight at call_rcu has finished."""
    g = and_(s.prog_phase[p] == m.Phase.RCU_WAIT, m.gp_over(s, s.gp_readers[p], m.rcu))
    return when(g, prog_phase=put(s.prog_phase, p, m.Phase.SYNC))


@cites(
    "S-p2",
    "bpf_prog_free_deferred (the RFC's hunk in kernel/bpf/core.c)",
    "if (aux->irq_work) irq_work_sync(&aux->irq_work->work); then (K-core) bpf_free_used_maps(aux) (a "
    "bpf_map_put per used map) and the prog's free; rfc_repaired adds synchronize_rcu() after "
    "irq_work_sync (this project's repair, not in the RFC; ProgFreeAfterSyncRcu)",
    "irq_work_sync returns the first time it reads BUSY clear (K-irqwork: while (irq_work_is_busy(work)) "
    "cpu_relax()): one step enabled then; what follows touches only the prog's own memory and one atomic "
    "decrement per used map's refcount, whose order against other puts does not matter",
)
def ProgFreeDeferred(m: Model, s: Any, p: int) -> Step:
    """bpf_prog_free_deferred: irq_work_sync (spins while BUSY), then the release. rfc_repaired
    adds synchronize_rcu() between the two (ProgFreeAfterSyncRcu)."""
    g = and_(s.prog_phase[p] == m.Phase.SYNC, m.handlers_quiet(s))  # a workqueue item (stalls)
    if m.sync_on_free and not m.task_ctx:
        g = and_(g, irq_work.sync_passes(s.iw_flags[p]))
    if m.repaired:
        upd = dict(prog_phase=put(s.prog_phase, p, m.Phase.SYNC_RCU))
        return when(g, **m.call_rcu(s, p, upd, flavour="call_rcu"))
    return when(g, **m.free_prog(s, p, {}))


@cites(
    "K-rcu-doc",
    "synchronize_rcu (rfc_repaired: this project's repair in bpf_prog_free_deferred)",
    "none in the RFC: synchronize_rcu() after irq_work_sync, then bpf_free_used_maps and the free; "
    "synchronize_rcu waits for the pre-existing readers (kernel-doc)",
    "the wait's end is one event; the frees after it touch only the prog's memory and one atomic "
    "decrement per used map",
)
def ProgFreeAfterSyncRcu(m: Model, s: Any, p: int) -> Step:
    """synchronize_rcu() returns: every hard-irq section in flight after irq_work_sync, i.e.
    every runner that irq_work_sync could not see, has finished; now release."""
    g = and_(
        s.prog_phase[p] == m.Phase.SYNC_RCU, m.gp_over(s, s.gp_readers[p], "call_rcu"), m.handlers_quiet(s)
    )
    return when(g, **m.free_prog(s, p, {}))

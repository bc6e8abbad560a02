"""The named queries that answer the RFC's questions, each with the claim it tests (``QUERIES``).

Each query builds the delayed_work model for one design variant and asks Z3 one question, either
bounded ("is there a path of at most N steps to a state where P fails?", SAT with a shortest trace or
UNSAT up to N) or unbounded ("is P inductive with the auxiliary invariants?", PROVED or a CTI). The
docstring of each query cites the RFC claim it tests: the cover letter's point 4 argues that dropping
bpf_timer's usercnt check is safe because "a) we wait for pending work before releasing the bpf_prog,
b) the map will be in the bpf_prog's used_maps, and c) the map free path does not need to release any
external resources, and d) the bpf_delayed_work items bump the prog refcnt"; point 5 proposes other
execution contexts (task context on return to user); point 6 says "the llist approach was dictated by
the NMI constraints" (``docs/rfc.md`` sums up the RFC and its claims).

How each is answered, and the verdicts, are in ``answers.py``. ``expect`` records the answer we believe;
the table of ``python -m explorer queries`` flags a difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spec.lang import Spec, and_, any_, not_


@dataclass
class Query:
    name: str
    doc: str
    constants: dict[str, Any]
    kind: str  # "bmc", "bfs" or "prove"
    depth: int = 0  # default bound for bmc
    invariants: list[str] | None = None  # spec invariants; None = every safety invariant
    predicate: Callable[[Spec], Callable[[Any], Any]] | None = None  # a custom "must hold" predicate
    deadlock: bool = False
    expect: str = ""  # "SAT", "UNSAT" or "PROVED"
    tags: list[str] = field(default_factory=list)
    model: str = "spec.delayed_work"


QUERIES: dict[str, Query] = {}


def query(
    name: str,
    constants: dict[str, Any],
    kind: str = "bmc",
    depth: int = 8,
    invariants: list[str] | None = None,
    deadlock: bool = False,
    expect: str = "",
    model: str = "spec.delayed_work",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a query; the decorated function is its docstring, or (if it takes a spec) a predicate
    factory ``fn(spec) -> predicate`` whose predicate must hold in every reachable state."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        doc = (fn.__doc__ or "").strip()
        pred = fn if fn.__code__.co_argcount == 1 else None
        QUERIES[name] = Query(
            name, doc, constants, kind, depth, invariants, pred, deadlock, expect, model=model
        )
        return fn

    return deco


# --------------------------------------------------------------------------- the queries


@query("IrqWorkSyncRace[rfc_fixed]", {"variant": "rfc_fixed"}, kind="bfs", expect="SAT",
       invariants=["NoIrqWorkUseAfterFree"])  # fmt: skip
def _q1() -> None:
    """Claim (a), sufficient? With the llist_reverse_order and inc_not_zero fixes and aux->irq_work
    freed with the prog, can the free path free the irq_work while a runner is still in the drain?
    irq_work_sync watches one BUSY bit shared by every runner: a runner that started after call_rcu
    (the grace period does not wait for it) loses BUSY to an earlier runner's final cmpxchg."""


@query("LeakedIrqWorkIsSafe[rfc_fixed]", {"variant": "rfc_fixed", "irq_work_free": "never"}, kind="bfs",
       expect="HOLDS")  # fmt: skip
def _q1b() -> None:
    """The same design with aux->irq_work never freed (as posted): is any safety invariant violated
    under call_rcu (non-sleepable prog)? The late runner finds an empty list, so it touches only the
    leaked struct: claims (a)+(b)+(d) then keep the prog and the map safe (2 CPUs x 2 items)."""


@query("DrainOutlivesGracePeriod[rfc_fixed,tasks_trace]", {"variant": "rfc_fixed", "rcu": "tasks_trace",
       "tasks_trace": "contract", "irq_work_free": "never"}, kind="bfs", expect="SAT",
       invariants=["NoMapAccessAfterFree"])  # fmt: skip
def _q1c() -> None:
    """A sleepable prog (call_rcu_tasks_trace, as documented: a hard-irq drain is no reader): can
    the drain write flags=FREE into the map value after bpf_free_used_maps freed the map, even with
    the irq_work leaked? irq_work_sync returns once another CPU's runner clears BUSY."""


@query("SyncNeeded[no_sync_on_free]", {"variant": "no_sync_on_free"}, kind="bfs", expect="SAT",
       invariants=["NoIrqWorkUseAfterFree"])  # fmt: skip
def _q2() -> None:
    """Claim (a) is necessary: without irq_work_sync in the free path, can the prog (and its
    bpf_delayed_irq_work) be freed while the irq_work is raised or its runner still uses it? (An
    earlier version answered this with a counterexample to induction, which is not a reachable
    trace; the BFS gives one, 22 states.)"""


@query("ProgRefNeeded", {"variant": "no_work_prog_ref"}, kind="bfs", expect="SAT",
       invariants=["NoCallbackAfterProgFree"])  # fmt: skip
def _q3() -> None:
    """Claim (d) is necessary: if pending items did not hold a prog reference (no_work_prog_ref), can
    a callback run after its prog is freed (2 CPUs, call_rcu)? An earlier version of this query ran
    at 1 CPU against a grace period that waited for drains begun after call_rcu, and said no. With
    two CPUs, a runner that starts after call_rcu runs a queued callback once irq_work_sync has
    returned (another runner cleared BUSY)."""


@query("UsedMapsNeeded", {"variant": "no_used_maps"}, depth=4, invariants=["NoMapAccessAfterFree"],
       expect="SAT")  # fmt: skip
def _q3b() -> None:
    """Claim (b) is necessary: if the map were not in the prog's used_maps, could closing the map fd
    free the map value under a claimed item?"""


@query("PendingElementFreed", {"variant": "rfc_fixed", "map_kind": "hash", "cpus": 1}, depth=8,
       invariants=["NoMapAccessAfterFree"], expect="SAT")  # fmt: skip
def _q4() -> None:
    """Claims (b)/(c) on a hash map: can the map element holding a pending bpf_delayed_work be freed
    (bpf_map_delete_elem, no cancel in patch 1/3) while the item is still linked or about to run?
    used_maps keeps the map alive, not the element, and patch 1/3 adds no cancel to the delete path."""


@query(
    "LostItems[rfc_posted]", {"variant": "rfc_posted"}, depth=8, invariants=["NoStrandedItem"], expect="SAT"
)
def _q5() -> None:
    """The posted code (patch 2/3, as posted): can an item be left READY on no list and in no drain
    (the discarded llist_reverse_order result, or a failed bpf_prog_inc_not_zero)? Such an item is
    never run, can never be resubmitted, and leaks a prog reference."""


@query("ClaimLockNeeded", {"variant": "no_claim_lock"}, depth=8, expect="SAT")
def _q6() -> None:
    """The FREE->CLAIMED cmpxchg gate: without it (two submitters claim the same item), is any safety
    invariant violated (double llist_add, refcount mismatch, a callback run twice)?"""


@query("NmiSafe[rfc_repaired]", {"variant": "rfc_repaired", "nmi": True, "irq_progs": True}, kind="prove",
       expect="PROVED")  # fmt: skip
def _q7() -> None:
    """Point 6 ("the llist approach was dictated by the NMI constraints"): with progs also running in
    NMI and hard-irq, interrupting a submit or the drain on the same CPU, is any safety invariant
    violated? Answered by induction (every depth)."""


@query("NmiLockedList", {"variant": "locked_list", "nmi": True, "cpus": 1, "items": 2}, depth=8,
       invariants=[], deadlock=True, expect="SAT")  # fmt: skip
def _q8() -> None:
    """Point 6, the alternative: with a spinlocked list instead of the llist, can an NMI prog that
    submits while its CPU holds the list lock spin for ever (a deadlock)?"""


@query("TaskContextStranded", {"variant": "task_context", "task_exit_drain": False}, depth=8,
       invariants=["NoStrandedItem"], expect="SAT")  # fmt: skip
def _q9() -> None:
    """Point 5 (items queued on a per-task list, run on return to user space): if the task exits
    without draining its list, is a READY item stranded?"""


@query("TaskContextExitDrain", {"variant": "task_context", "task_exit_drain": True, "cpus": 1}, depth=6,
       invariants=["NoStrandedItem"], expect="UNSAT")  # fmt: skip
def _q10() -> None:
    """Point 5 with the fix: if task exit runs the queued work (exit_task_work), is any item stranded
    within N steps?"""


def _ref_taken_after_user_gone(spec: Spec) -> Callable[[Any], Any]:
    m = spec.model

    def NoNewRefAfterUserGone(s: Any) -> Any:
        """No callback takes a new prog reference (a successful resubmit from inside the drain)
        once user space has closed every fd and detached."""
        cb_ref = any_(
            and_(s.pc[c][m.drain_level] == m.PC.ENQUEUE, s.runner[c] != m.RPhase.IDLE) for c in m.CPU
        )
        return not_(and_(m.user_gone(s), cb_ref))

    return NoNewRefAfterUserGone


@query("ResubmitAfterUserGone[rfc_fixed]",
       {"variant": "rfc_fixed", "callback": "submits", "cpus": 1, "items": 2},
       depth=12, expect="SAT")  # fmt: skip
def _q11(spec: Spec) -> Callable[[Any], Any]:
    """Point 4's question (contexts that the free path cannot wait for): with no usercnt check, can a
    callback resubmit another item, taking a fresh prog reference, after user space closed every fd
    and detached the prog? If so, A->B->A keeps the prog and its maps alive
    with no user reference: the cycle bpf_timer's usercnt breaks (a liveness failure, see
    ProgEventuallyFreed; this query shows its first step). A state predicate cannot say "after":
    under the usercnt variant the same query is also SAT (the callback claimed before the close), so
    that comparison needs the liveness checker, not BMC."""
    return _ref_taken_after_user_gone(spec)


# The RFC's two proofs run at 4 CPUs x 8 items x 2 progs (4 s each; BFS's largest RFC runs have 3
# CPUs, 3 items: 9.9M states);
# tests/test_large_proofs.py (make test-all, CI) proves the same at 8 x 16 x 2 (45-70 s each; that
# size was make check's until it had to fit in five minutes). Z3's time is not monotone in the size:
# 6 x 12 x 2 ran past 12 minutes on one consecution query (measured 2026-12-06).
RFC_PROOF_SIZE = {"cpus": 4, "items": 8, "progs": 2}


@query("SafetyInductive[rfc_repaired]", {"variant": "rfc_repaired", **RFC_PROOF_SIZE}, kind="prove",
       expect="PROVED")  # fmt: skip
def _q13() -> None:
    """Claims (a)-(d) with the repair (synchronize_rcu() after irq_work_sync), for every depth: are all
    safety invariants (array map, 4 CPUs, 8 items, 2 progs, non-sleepable progs: call_rcu; beyond
    BFS's reach) inductive with the auxiliary invariants of invariants/delayed_work/lemmas.py? PROVED
    means no reachable state violates them, at any depth. Proved with the symmetry reduction (CPUs,
    items and progs are interchangeable; checked, not assumed). make test-all proves it at 8 CPUs x
    16 items x 2 progs."""


@query("SafetyInductive[rfc_repaired,tasks_trace]", {"variant": "rfc_repaired", "rcu": "tasks_trace",
       "tasks_trace": "contract", **RFC_PROOF_SIZE}, kind="prove", expect="PROVED")  # fmt: skip
def _q14() -> None:
    """The same for sleepable progs (call_rcu_tasks_trace as documented: its grace period does not
    wait for the hard-irq drain): synchronize_rcu is a normal grace period, so it does."""


@query("SafetyInductive[bpf_timer]", {"kind": "timer", "cpus": 4, "slots": 3, "objs": 2,
       "callback": "cancel_other", "user_updates": True}, kind="prove", expect="PROVED",
       model="spec.bpf_async")  # fmt: skip
def _q15() -> None:
    """bpf_timer as merged (v6.12, every safeguard on), for every depth: with 4 CPUs, 3 map values that
    are each initialised up to twice, callbacks that cancel the next value's timer, and user space
    that updates an element and closes the map: are all five safety invariants (no callback after the
    prog's free, no map access after free, no use of a freed bpf_hrtimer, no callback waiting for
    itself or for a callback that waits for it, the prog's refcount) inductive with the auxiliary
    invariants of invariants/bpf_async/lemmas.py? BFS explores 2 CPUs x 2 values x 1 object."""


@query("SafetyInductive[rework_timer]", {"kind": "timer", "design": "refcnt", "irq_callers": True, "cpus": 4,
       "slots": 2, "objs": 2, "user_updates": True}, kind="prove", expect="PROVED",
       model="spec.bpf_async")  # fmt: skip
def _q18() -> None:
    """The 2026 bpf_async_cb rework's timer (refcount, cmpxchg init, xchg cancel_and_free, hard-irq
    start and cancel_and_free deferred through the object's irq_work and command llist, the free after
    a tasks-trace grace period with the re-cancel and retry), for every depth: with 4 CPUs, 2 map values
    each initialised up to twice and user updates, are all five safety invariants inductive with the
    refcount lemmas of invariants/bpf_async/lemmas.py? BFS explores 2 CPUs x 1 value x 1 object
    (456,142 states; with 2 objects, before a later change of the model, 151M)."""


@query("SafetyInductive[bpf_task_work]", {"values": 2, "pool": 3}, kind="prove", expect="PROVED",
       model="spec.bpf_task_work")  # fmt: skip
def _q16() -> None:
    """bpf_task_work as merged (2025), for every depth: with 2 map values that may each get 3 ctx
    objects and unbounded schedules, are the safety invariants the exhaustive matrix finds holding
    (all but NoAsyncUseAfterFree, NoNullTaskDeref and, with refilled slots, NoCallbackAfterUrefSweep)
    inductive with the auxiliary invariants of invariants/bpf_task_work/lemmas.py? BFS explores
    one value and one ctx (660,795 states; one value with two ctx objects is 38.8M)."""


@query("SafetyInductive[bpf_task_work,grace_period]", {"values": 2, "pool": 3, "free_after_gp": True},
       kind="prove", expect="PROVED", model="spec.bpf_task_work")  # fmt: skip
def _q17() -> None:
    """The same with a grace period before the ctx free (v4-v6; mainline later used kfree_rcu):
    NoAsyncUseAfterFree is then proved too."""

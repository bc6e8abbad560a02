"""Named Z3 queries that answer the RFC's questions: ``python -m explorer queries [--depth N]``.

Each query builds the delayed_work model for one design variant and asks Z3 one question, either
bounded ("is there a path of at most N steps to a state where P fails?", SAT with a shortest trace or
UNSAT up to N) or unbounded ("is P inductive with the auxiliary invariants?", PROVED or a CTI). The
docstring of each query cites the RFC claim it tests: the cover letter's point 4 argues that dropping
bpf_timer's usercnt check is safe because "a) we wait for pending work before releasing the bpf_prog,
b) the map will be in the bpf_prog's used_maps, and c) the map free path does not need to release any
external resources, and d) the bpf_delayed_work items bump the prog refcnt"; point 5 proposes other
execution contexts (task context on return to user); point 6 says "the llist approach was dictated by
the NMI constraints" (``shared/domain/brief.md`` §1).

Verdicts: ``SAT`` (a counterexample exists; its trace is dumped under ``out/queries/<query>.*``),
``UNSAT<=N`` (none within N steps), ``HOLDS`` (an exhaustive BFS of the configuration found none:
for that size only), ``PROVED`` (for every depth), ``CTI`` (not inductive with the strengthening: no
verdict). ``expect`` records the answer we believe; the table flags a difference. A ``bfs`` query
answers a question too deep for BMC (the races below need 18 to 24 steps) on a small configuration.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from explorer.cli_common import EXIT_INTERRUPTED, EXIT_OK, EXIT_VIOLATION, UsageError, positive_int
from explorer.engines.smt.bmc import bmc
from explorer.outputs.traces import write_trace
from explorer.runs.workers import run_all
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
       "irq_work_free": "never"}, kind="bfs", expect="SAT", invariants=["NoMapAccessAfterFree"])  # fmt: skip
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
    brief §1.6 item 3: used_maps keeps the map, not the element."""


@query(
    "LostItems[rfc_posted]", {"variant": "rfc_posted"}, depth=8, invariants=["NoStrandedItem"], expect="SAT"
)
def _q5() -> None:
    """The posted code (brief §1.6 items 1-2): can an item be left READY on no list and in no drain
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
       deadlock=True, expect="SAT")  # fmt: skip
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
    """Point 4's question (contexts that the free path cannot wait for) and brief §1.6 item 4: with no
    usercnt check, can a callback resubmit another item, taking a fresh prog reference, after user
    space closed every fd and detached the prog? If so, A->B->A keeps the prog and its maps alive
    with no user reference: the cycle bpf_timer's usercnt breaks (a liveness failure, see
    ProgEventuallyFreed; this query shows its first step). A state predicate cannot say "after":
    under the usercnt variant the same query is also SAT (the callback claimed before the close), so
    that comparison needs the liveness checker, not BMC."""
    return _ref_taken_after_user_gone(spec)


@query("SafetyInductive[rfc_repaired]", {"variant": "rfc_repaired", "cpus": 8, "items": 16, "progs": 2},
       kind="prove", expect="PROVED")  # fmt: skip
def _q13() -> None:
    """Claims (a)-(d) with the repair (synchronize_rcu() after irq_work_sync), for every depth: are all
    safety invariants (array map, 8 CPUs, 16 items, 2 progs, non-sleepable progs: call_rcu; far beyond
    BFS's reach) inductive with the auxiliary invariants of invariants/inductive.py? PROVED means no
    reachable state violates them, at any depth. Proved with the symmetry reduction (CPUs, items and
    progs are interchangeable; checked, not assumed)."""


@query("SafetyInductive[rfc_repaired,tasks_trace]", {"variant": "rfc_repaired", "rcu": "tasks_trace",
       "cpus": 8, "items": 16, "progs": 2}, kind="prove", expect="PROVED")  # fmt: skip
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
    invariants of invariants/bpf_async_inductive.py? BFS explores 2 CPUs x 2 values x 1 object."""


@query("SafetyInductive[rework_timer]", {"kind": "timer", "design": "refcnt", "irq_callers": True, "cpus": 4,
       "slots": 2, "objs": 2, "user_updates": True}, kind="prove", expect="PROVED",
       model="spec.bpf_async")  # fmt: skip
def _q18() -> None:
    """The 2026 bpf_async_cb rework's timer (refcount, cmpxchg init, xchg cancel_and_free, hard-irq
    start and cancel_and_free deferred through the object's irq_work and command llist, the free after
    a tasks-trace grace period with the re-cancel and retry), for every depth: with 4 CPUs, 2 map values
    each initialised up to twice and user updates, are all five safety invariants inductive with the
    refcount lemmas of invariants/bpf_async_inductive.py? BFS explores 2 CPUs x 1 value x 1 object
    (456,142 states; with 2 objects, before a later change of the model, 151M)."""


@query("SafetyInductive[bpf_task_work]", {"values": 2, "pool": 3}, kind="prove", expect="PROVED",
       model="spec.bpf_task_work")  # fmt: skip
def _q16() -> None:
    """bpf_task_work as merged (2025), for every depth: with 2 map values that may each get 3 ctx
    objects and unbounded schedules, are the safety invariants the exhaustive matrix finds holding
    (all but NoAsyncUseAfterFree, NoNullTaskDeref and, with refilled slots, NoCallbackAfterUrefSweep)
    inductive with the auxiliary invariants of invariants/bpf_task_work_inductive.py? BFS explores
    one value and one ctx (660,795 states; one value with two ctx objects is 38.8M)."""


@query("SafetyInductive[bpf_task_work,grace_period]", {"values": 2, "pool": 3, "free_after_gp": True},
       kind="prove", expect="PROVED", model="spec.bpf_task_work")  # fmt: skip
def _q17() -> None:
    """The same with a grace period before the ctx free (v4-v6; mainline later used kfree_rcu):
    NoAsyncUseAfterFree is then proved too."""


# --------------------------------------------------------------------------- running


@dataclass
class Answer:
    query: Query
    verdict: str
    depth: int | None
    seconds: float
    detail: str = ""
    paths: list[Path] = field(default_factory=list)
    # a proof's content, for the report: the invariants proved and the lemmas (name, plain words) used
    proved: list[str] = field(default_factory=list)
    lemmas: list[tuple[str, str]] = field(default_factory=list)


def run_query(q: Query, depth: int | None = None, out: Path | None = None) -> Answer:
    from spec.config import import_model

    spec = import_model(q.model).make_spec(**q.constants)
    safety = [p.name for p in spec.invariants]  # the model's own safety invariants (bmc)
    t0 = time.monotonic()
    if q.kind == "prove":
        from explorer.engines.smt.induction import prove_by_step
        from explorer.engines.smt.lemmas import add_aux_invariants, full_strengthening, proved_safety

        add_aux_invariants(spec)
        safety = proved_safety(spec)
        # one proof: prove_by_step checks that every conjunct (the target, the other safety
        # invariants and the auxiliary ones) is preserved by every step, so all are proved at once
        r = prove_by_step(
            spec, safety[0], full_strengthening(spec, safety[0]), symmetry=bool(spec.symmetries)
        )
        secs = time.monotonic() - t0
        if r.ok:
            assert r.stats is not None
            shown = f"{r.stats.queries} steps queried, {r.stats.by_symmetry} by symmetry"
            aux = set(add_aux_invariants(spec))
            lemmas = [
                (n, spec.invariant_named(n).doc) for n in full_strengthening(spec, safety[0]) if n in aux
            ]
            return Answer(q, "PROVED", None, secs, shown, proved=safety, lemmas=lemmas)
        label = r.trace.steps[-1].label if r.trace is not None and len(r.trace.steps) > 1 else r.stage
        ans = Answer(q, "CTI", None, secs, f"{r.failed} after {label}")
        if out is not None and r.trace is not None:
            from explorer.outputs.traces import format_cti

            title = f"Query {q.name}: not inductive, {r.failed} fails after {label}"
            ans.paths = write_trace(r.trace, out / q.name, title)
            (out / f"{q.name}.cti.txt").write_text(format_cti(r, title) + "\n", encoding="utf-8")
        return ans
    if q.kind == "bfs":
        return _run_bfs(q, spec, out, t0)
    k = q.depth if depth is None else depth
    invs: list[Any]
    if q.predicate is not None:
        invs = [q.predicate(spec)]
    elif q.invariants is not None:
        invs = list(q.invariants)
    else:
        invs = safety
    r = bmc(spec, k, invs, check_deadlock=q.deadlock)
    secs = time.monotonic() - t0
    if r.interrupted:
        raise KeyboardInterrupt
    if r.ok:
        return Answer(q, f"UNSAT<={k}", k, secs)
    ans = Answer(q, "SAT", r.depth, secs, f"{r.violation} at depth {r.depth}")
    if out is not None and r.trace is not None:
        title = f"Query {q.name}: SAT, {r.violation} violated at depth {r.depth}\n{q.doc}"
        ans.paths = write_trace(r.trace, out / q.name, title)
    return ans


RESULTS_FILE = "queries.json"


def answer_record(a: Answer) -> dict[str, Any]:
    """One answer as the report reads it (JSON)."""
    q = a.query
    return {
        "name": q.name, "doc": " ".join(q.doc.split()), "model": q.model, "kind": q.kind,
        "constants": q.constants, "expect": q.expect, "verdict": a.verdict, "depth": a.depth,
        "seconds": round(a.seconds, 1), "detail": a.detail, "paths": [str(p) for p in a.paths],
        "proved": a.proved, "lemmas": [list(x) for x in a.lemmas],
    }  # fmt: skip


def save_answers(path: Path, answers: list[Answer]) -> None:
    """Merge these answers into the results file: a run of some queries (--only) keeps the others'."""
    from explorer.runs.results import merge_records

    merge_records(path, "answers", [answer_record(a) for a in answers])


def _answer(name: str, depth: int | None, out: Path | None) -> Answer:
    return run_query(QUERIES[name], depth, out)


def _run_bfs(q: Query, spec: Spec, out: Path | None, t0: float) -> Answer:
    """An exhaustive BFS of the query's configuration: SAT with a shortest trace, or HOLDS."""
    from explorer.engines.bfs import Options
    from explorer.engines.compiled.engine import explore_any

    names = q.invariants
    r = explore_any(spec, Options(invariants=names, check_deadlock=q.deadlock), lambda _line: None)
    secs = time.monotonic() - t0
    if r.stopped == "interrupted":
        raise KeyboardInterrupt
    if not r.violations:
        return Answer(q, "HOLDS", None, secs, f"exhaustive: {r.distinct} states")
    v = r.violations[0]
    ans = Answer(q, "SAT", v.depth, secs, f"{v.name} at depth {v.depth}")
    if out is not None:
        title = f"Query {q.name}: SAT, {v.name} violated at depth {v.depth}\n{q.doc}"
        ans.paths = write_trace(v.trace, out / q.name, title)
    return ans


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=positive_int, metavar="N", help="bound every bmc query at N steps")
    p.add_argument("--only", action="extend", nargs="+", metavar="NAME", help="run only these queries")
    p.add_argument("--list", action="store_true", help="list the queries with their questions and exit")
    p.add_argument("--out", default="out", metavar="DIR", help="SAT traces go to DIR/queries/")
    p.add_argument("--jobs", type=positive_int, default=2, help="worker processes (default 2)")


def run(args: argparse.Namespace) -> int:
    names = args.only or list(QUERIES)
    unknown = [n for n in names if n not in QUERIES]
    if unknown:
        raise UsageError(f"unknown quer{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}")
    if args.list:
        for n in names:
            print(f"{n}:\n  {' '.join(QUERIES[n].doc.split())}\n")
        return EXIT_OK
    out = Path(args.out) / "queries"
    rows = []
    unexpected = 0

    # Each query in a fresh process: the same query then prints the same trace whatever ran before it
    # (Z3's shared term table otherwise changes which of several shortest traces a model picks).
    def progress(i: int, a: Answer) -> None:
        print(f"{names[i]}: {a.verdict} ({a.seconds:.1f}s)", flush=True)

    jobs = [(n, args.depth, out) for n in names]
    answers, interrupted = run_all(_answer, jobs, args.jobs, fresh=True, on_done=progress)
    for n, a in zip(names, answers, strict=True):
        if a is None:
            continue
        q = QUERIES[n]
        got = a.verdict if a.verdict in ("SAT", "PROVED", "CTI", "HOLDS") else "UNSAT"
        flag = "" if not q.expect or got == q.expect else f"expected {q.expect}"
        unexpected += bool(flag)
        consts = ", ".join(f"{k}={v}" for k, v in q.constants.items())
        rows.append((n, consts, a.verdict, a.detail, f"{a.seconds:.1f}", flag))
        for path in a.paths[:1]:
            rows[-1] = (*rows[-1][:3], f"{a.detail} -> {path}", *rows[-1][4:])
    print()
    print(tabulate(rows, headers=["query", "constants", "answer", "detail", "s", "note"], tablefmt="simple"))
    if interrupted:
        print(f"interrupted: {len(names) - len(rows)} of {len(names)} queries not answered")
        return EXIT_INTERRUPTED
    results = Path(args.out) / RESULTS_FILE
    save_answers(results, [a for a in answers if a is not None])
    print(f"answers written to {results} (the report reads them)")
    return EXIT_VIOLATION if unexpected else EXIT_OK

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
``UNSAT<=N`` (none within N steps), ``PROVED`` (for every depth), ``CTI`` (not inductive with the
strengthening: no verdict). ``expect`` records the answer we believe; the table flags a difference.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from explorer import smt
from explorer.cli import EXIT_OK, EXIT_VIOLATION, UsageError, _positive_int, register
from explorer.traces import write_trace
from spec.lang import Spec, and_, any_, not_


@dataclass
class Query:
    name: str
    doc: str
    constants: dict[str, Any]
    kind: str  # "bmc" or "prove"
    depth: int = 0  # default bound for bmc
    invariants: list[str] | None = None  # spec invariants; None = every safety invariant
    predicate: Callable[[Spec], Callable[[Any], Any]] | None = None  # a custom "must hold" predicate
    deadlock: bool = False
    expect: str = ""  # "SAT", "UNSAT" or "PROVED"
    tags: list[str] = field(default_factory=list)


QUERIES: dict[str, Query] = {}


def query(
    name: str,
    constants: dict[str, Any],
    kind: str = "bmc",
    depth: int = 8,
    invariants: list[str] | None = None,
    deadlock: bool = False,
    expect: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a query; the decorated function is its docstring, or (if it takes a spec) a predicate
    factory ``fn(spec) -> predicate`` whose predicate must hold in every reachable state."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        doc = (fn.__doc__ or "").strip()
        pred = fn if fn.__code__.co_argcount == 1 else None
        QUERIES[name] = Query(name, doc, constants, kind, depth, invariants, pred, deadlock, expect)
        return fn

    return deco


# --------------------------------------------------------------------------- the queries


@query("CallbackAfterProgFree[rfc_fixed]", {"variant": "rfc_fixed"}, kind="prove", expect="PROVED")
def _q1() -> None:
    """Claims (a) and (d): can a callback (or the runner) touch its prog after bpf_prog_free_deferred
    freed it, on the repaired RFC (array map, 2 CPUs, 2 items)? Answered by induction (all safety
    invariants with the auxiliary ones), so for every depth."""


@query("CallbackAfterProgFree[no_sync_on_free]", {"variant": "no_sync_on_free"}, kind="prove", expect="CTI")
def _q2() -> None:
    """Claim (a) is necessary: without irq_work_sync in the free path, can the prog (and its
    bpf_delayed_irq_work) be freed while the irq_work is raised or its runner still uses it? BFS finds
    the violation at depth 21 (NoIrqWorkUseAfterFree), beyond a quick BMC; the induction that proves
    rfc_fixed fails here, at ProgFreeDeferred freeing a BUSY irq_work: that step is the one
    irq_work_sync forbids. (CTI = not inductive; not by itself a reachable counterexample.)"""


@query("ProgRefNeeded", {"variant": "no_work_prog_ref", "cpus": 1}, depth=8, expect="UNSAT")
def _q3() -> None:
    """Claim (d) is necessary: if pending items did not hold a prog reference (no_work_prog_ref), is
    any safety invariant violated within N steps? With gp_waits_drain (the grace period waits for
    the hard-irq drain) the answer is no: BFS of the 2-CPU default finds no violation either; a
    queued item keeps the irq_work pending, which blocks the free at irq_work_sync. With
    gp_waits_drain = false BFS finds a violation at depth 17 (too deep for this quick query)."""


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


@query("NmiSafe[rfc_fixed]", {"variant": "rfc_fixed", "nmi": True, "irq_progs": True}, kind="prove",
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


def _user_gone(s: Any, m: Any) -> Any:
    return and_(s.map_usercnt == 0, *[and_(not_(s.prog_fd[p]), not_(s.prog_attached[p])) for p in m.Prog])


def _ref_taken_after_user_gone(spec: Spec) -> Callable[[Any], Any]:
    m = spec.model

    def NoNewRefAfterUserGone(s: Any) -> Any:
        """No callback takes a new prog reference (a successful resubmit from inside the drain)
        once user space has closed every fd and detached."""
        cb_ref = any_(
            and_(s.pc[c][m.drain_level] == m.PC.ENQUEUE, s.runner[c] != m.RPhase.IDLE) for c in m.CPU
        )
        return not_(and_(_user_gone(s, m), cb_ref))

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


@query("SafetyInductive[rfc_fixed]", {"variant": "rfc_fixed", "cpus": 8, "items": 16, "progs": 2},
       kind="prove", expect="PROVED")  # fmt: skip
def _q13() -> None:
    """Claims (a)-(d) together, for every depth: are all safety invariants of the repaired RFC (array
    map, 8 CPUs, 16 items, 2 progs; far beyond BFS's reach) inductive with the auxiliary invariants of
    invariants/inductive.py? PROVED means no reachable state violates them, at any depth. Proved
    with the symmetry reduction (CPUs, items and progs are interchangeable; checked, not assumed)."""


# --------------------------------------------------------------------------- running


@dataclass
class Answer:
    query: Query
    verdict: str
    depth: int | None
    seconds: float
    detail: str = ""
    paths: list[Path] = field(default_factory=list)


def run_query(q: Query, depth: int | None = None, out: Path | None = None) -> Answer:
    from spec.delayed_work import make_spec

    spec = make_spec(**q.constants)
    t0 = time.monotonic()
    if q.kind == "prove":
        from explorer.smt import prove_by_step
        from explorer.smt_cli import add_aux_invariants, full_strengthening
        from invariants.delayed_work import SAFETY

        add_aux_invariants(spec)
        r = prove_by_step(spec, SAFETY[0], full_strengthening(spec, SAFETY[0]), symmetry=True)
        secs = time.monotonic() - t0
        if r.ok:
            assert r.stats is not None
            shown = f"{r.stats.queries} steps queried, {r.stats.by_symmetry} by symmetry"
            return Answer(q, "PROVED", None, secs, shown)
        label = r.trace.steps[-1].label if r.trace is not None and len(r.trace.steps) > 1 else r.stage
        ans = Answer(q, "CTI", None, secs, f"{r.failed} after {label}")
        if out is not None and r.trace is not None:
            from explorer.smt_cli import format_cti

            title = f"Query {q.name}: not inductive, {r.failed} fails after {label}"
            ans.paths = write_trace(r.trace, out / q.name, title)
            (out / f"{q.name}.cti.txt").write_text(format_cti(r, title) + "\n", encoding="utf-8")
        return ans
    k = q.depth if depth is None else depth
    invs: list[Any]
    if q.predicate is not None:
        invs = [q.predicate(spec)]
    elif q.invariants is not None:
        invs = list(q.invariants)
    else:
        from invariants.delayed_work import SAFETY

        invs = list(SAFETY)
    r = smt.bmc(spec, k, invs, check_deadlock=q.deadlock)
    secs = time.monotonic() - t0
    if r.ok:
        return Answer(q, f"UNSAT<={k}", k, secs)
    ans = Answer(q, "SAT", r.depth, secs, f"{r.violation} at depth {r.depth}")
    if out is not None and r.trace is not None:
        title = f"Query {q.name}: SAT, {r.violation} violated at depth {r.depth}\n{q.doc}"
        ans.paths = write_trace(r.trace, out / q.name, title)
    return ans


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=_positive_int, metavar="N", help="bound every bmc query at N steps")
    p.add_argument("--only", action="extend", nargs="+", metavar="NAME", help="run only these queries")
    p.add_argument("--list", action="store_true", help="list the queries with their questions and exit")
    p.add_argument("--out", default="out", metavar="DIR", help="SAT traces go to DIR/queries/")


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
    for n in names:
        q = QUERIES[n]
        a = run_query(q, args.depth, out)
        got = "SAT" if a.verdict == "SAT" else "PROVED" if a.verdict == "PROVED" else "UNSAT"
        if a.verdict == "CTI":
            got = "CTI"
        flag = "" if not q.expect or got == q.expect else f"expected {q.expect}"
        unexpected += bool(flag)
        consts = ", ".join(f"{k}={v}" for k, v in q.constants.items())
        rows.append((n, consts, a.verdict, a.detail, f"{a.seconds:.1f}", flag))
        for path in a.paths[:1]:
            rows[-1] = (*rows[-1][:3], f"{a.detail} -> {path}", *rows[-1][4:])
        print(f"{n}: {a.verdict} ({a.seconds:.1f}s)", flush=True)
    print()
    print(tabulate(rows, headers=["query", "constants", "answer", "detail", "s", "note"], tablefmt="simple"))
    return EXIT_VIOLATION if unexpected else EXIT_OK


register(
    "queries", "answer the RFC's questions with named Z3 queries (SAT trace or UNSAT)", add_arguments, run
)

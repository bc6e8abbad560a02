"""The RFC's promise as an abstract spec, and the mapping that checks a design against it (issue 23's
refinement check; its first user).

``WorkOnce``: each work item is IDLE, PENDING (submitted, its callback not yet run) or RAN (its callback
ran, the item not yet released); a prog that is LIVE may submit an IDLE item and run a PENDING one's
callback; a RAN item is released back to IDLE; the prog may be freed only when no item is PENDING. That
is the RFC's claim: a submitted work runs once, with its prog alive, and the prog is freed only after
the work it accepted has run.

The mapping (one prog): an item is PENDING when its flags are READY and its callback has not run since
its claim (``runs == 0``), RAN when READY after a run, IDLE when FREE or CLAIMED (a claim that may still
fail); the prog is FREED when its free path has freed it. A design refines WorkOnce when each of its
steps is one of these abstract steps or changes none of them. A step the mapping cannot explain is
the counterexample: in the posted RFC, a stranded READY item whose prog is freed; without (d), the prog
freed while an item is still queued. (A callback run twice from one claim stays RAN: RunsAtMostOnce
checks that.)
"""

from __future__ import annotations

from typing import Any

from spec.lang import Enum, Fn, Spec, all_, and_, const_fn, ite, put, when

STATES = ["IDLE", "PENDING", "RAN"]


def work_once(items: Enum) -> Spec:
    """The abstract spec, over the concrete spec's items."""
    spec = Spec("WorkOnce")
    Item = Enum("Item", items.names)
    St = Enum("WorkState", STATES)
    ProgState = Enum("ProgState", ["LIVE", "FREED"])
    spec.var("work", Fn(Item, St), const_fn(Item, St.IDLE), "each item: idle, submitted, or ran")
    spec.var("prog", ProgState, ProgState.LIVE, "the prog")

    @spec.action(i=Item)
    def Submit(s, i):
        return when(and_(s.work[i] == St.IDLE, s.prog == ProgState.LIVE), work=put(s.work, i, St.PENDING))

    @spec.action(i=Item)
    def Run(s, i):
        return when(and_(s.work[i] == St.PENDING, s.prog == ProgState.LIVE), work=put(s.work, i, St.RAN))

    @spec.action(i=Item)
    def Release(s, i):
        return when(s.work[i] == St.RAN, work=put(s.work, i, St.IDLE))

    @spec.action()
    def Free(s):
        no_pending = all_(s.work[i] != St.PENDING for i in Item)
        return when(and_(s.prog == ProgState.LIVE, no_pending), prog=ProgState.FREED)

    spec.St, spec.ProgState = St, ProgState  # for the mapping
    return spec


def mapping(m: Any, abstract: Spec, s: Any) -> dict[str, Any]:
    St, ProgState, W = abstract.St, abstract.ProgState, m.WFlags
    work = tuple(ite(s.flags[i] == W.READY, ite(s.runs[i] == 0, St.PENDING, St.RAN), St.IDLE) for i in m.Item)
    prog = ite(s.prog_phase[0] == m.Phase.FREED, ProgState.FREED, ProgState.LIVE)
    return {"work": work, "prog": prog}


def register(spec: Spec, m: Any) -> None:
    """``RefinesWorkOnce``, for one prog (with two, which prog an item's callback belongs to is the
    submitter's, and WorkOnce would need a prog per item)."""
    if m.progs != 1:
        return
    abstract = work_once(m.Item)
    spec.refines(
        "RefinesWorkOnce",
        abstract,
        lambda s: mapping(m, abstract, s),
        "every step of the design is a step of WorkOnce (submit, run once with the prog alive, release, "
        "free the prog only when no submitted work is pending) or leaves its image unchanged",
    )

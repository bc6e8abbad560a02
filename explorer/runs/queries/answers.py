"""Answering a query of ``catalogue.py``: the model built for the query's design variant, then one
question asked of Z3 (or of an exhaustive search), in the process it is called in.

Verdicts: ``SAT`` (a counterexample exists; its trace is dumped under ``out/queries/<query>.*``),
``UNSAT<=N`` (none within N steps), ``HOLDS`` (an exhaustive BFS of the configuration found none:
for that size only), ``PROVED`` (for every depth), ``CTI`` (not inductive with the strengthening: no
verdict). A ``bfs`` query
answers a question too deep for BMC (the races below need 18 to 24 steps) on a small configuration.
A SAT answer's trace and a CTI are written under ``out/queries/<query>.*``; ``answer_record`` is an
answer as ``out/queries.json`` saves it for the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from explorer.engines.smt.bmc import bmc
from explorer.engines.smt.induction import prove_by_step
from explorer.engines.smt.lemmas import add_aux_invariants, full_strengthening, proved_safety
from explorer.outputs.traces import format_cti, write_trace
from explorer.runs.queries.catalogue import QUERIES, Query
from spec.config import import_model
from spec.lang import Spec


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
    spec = import_model(q.model).make_spec(**q.constants)
    safety = [p.name for p in spec.invariants]  # the model's own safety invariants (bmc)
    t0 = time.monotonic()
    if q.kind == "prove":
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


def answer_record(a: Answer) -> dict[str, Any]:
    """One answer as the report reads it (JSON)."""
    q = a.query
    return {
        "name": q.name, "doc": " ".join(q.doc.split()), "model": q.model, "kind": q.kind,
        "constants": q.constants, "expect": q.expect, "verdict": a.verdict, "depth": a.depth,
        "seconds": round(a.seconds, 1), "detail": a.detail, "paths": [str(p) for p in a.paths],
        "proved": a.proved, "lemmas": [list(x) for x in a.lemmas],
    }  # fmt: skip


def _answer(name: str, depth: int | None, out: Path | None) -> Answer:
    return run_query(QUERIES[name], depth, out)


def _run_bfs(q: Query, spec: Spec, out: Path | None, t0: float) -> Answer:
    """An exhaustive BFS of the query's configuration: SAT with a shortest trace, or HOLDS."""
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

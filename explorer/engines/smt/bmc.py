"""Bounded model checking with Z3: the shortest path from Init to a state that breaks an invariant.

Paths of k = 0, 1, 2, ... steps are unrolled on one incremental solver over the encoding of
``encoding.py``; the first depth with a counterexample gives a shortest one, as BFS does. Deadlock and
type errors (an enabled step that leaves a variable's type) are looked for at each depth too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from explorer.engines.bfs import DEADLOCK, Trace
from explorer.engines.smt.encoding import (
    TYPE_ERROR,
    Encoding,
    InvariantLike,
    _predicates,
    _sat,
    _Step,
    _trace,
)
from spec.lang import Predicate, Spec, SpecError


@dataclass
class BmcResult:
    """Outcome of ``bmc``. ``violation`` is an invariant name, ``DEADLOCK`` or ``TYPE_ERROR``."""

    spec: Spec
    depth: int  # steps of the counterexample, or the depth checked up to when ok
    violation: str | None = None
    trace: Trace | None = None
    detail: str = ""
    seconds: float = 0.0
    seconds_per_depth: list[float] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C: ``depth`` is then the last depth fully checked (-1: none)

    @property
    def ok(self) -> bool:
        return self.violation is None and not self.interrupted


def bmc(
    spec: Spec,
    depth: int,
    invariants: Sequence[InvariantLike] | None = None,
    check_deadlock: bool = False,
    check_types: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BmcResult:
    """Find the smallest k <= depth at which an invariant fails on some path of k steps from Init.

    Checks k = 0, 1, 2, ... on one incremental solver (the path prefix is asserted once; each query is
    pushed and popped), so the first counterexample is a shortest one, as in BFS. ``invariants`` are
    names (or predicates); None means all of the spec's. With ``check_deadlock``, a reachable state with
    no enabled step is reported as ``DEADLOCK``; with ``check_types``, an enabled step that leaves a
    variable's type is reported as ``TYPE_ERROR`` (BFS stops with an error there).
    """
    enc = Encoding(spec)
    invs = _predicates(spec, invariants)
    solver = z3.Solver()
    t0 = time.monotonic()
    res = BmcResult(spec, depth)
    try:
        return _bmc_loop(spec, enc, invs, solver, res, depth, check_deadlock, check_types, t0, progress)
    except KeyboardInterrupt:
        res.interrupted = True
        res.depth = len(res.seconds_per_depth) - 1
        res.seconds = time.monotonic() - t0
        return res


def _bmc_loop(
    spec: Spec,
    enc: Encoding,
    invs: list[Predicate],
    solver: z3.Solver,
    res: BmcResult,
    depth: int,
    check_deadlock: bool,
    check_types: bool,
    t0: float,
    progress: Callable[[str], None] | None,
) -> BmcResult:
    states = [enc.state(0)]
    solver.add(enc.type_ok(states[0]), enc.init(states[0]), enc.constraint(states[0]))
    prev_steps: list[_Step] = []  # the steps of states[k - 1], reused for Next and the checks at k - 1
    for k in range(depth + 1):
        tk = time.monotonic()
        s = states[k]
        if k > 0:
            solver.add(enc.type_ok(s), enc.constraint(s), enc.next(states[k - 1], s, prev_steps))
        # One query for all invariants; which ones fail is then read off the concrete state.
        bad = [z3.Not(enc.pred(p.fn, s, f"invariant {p.name}")) for p in invs]
        found = _check(enc, solver, states, z3.Or(bad)) if bad else None
        if found is not None:
            last = found.states[-1]
            name = next((p.name for p in invs if p.fn(last) is False), invs[0].name)
            doc = next((p.doc for p in invs if p.name == name), "")
            return _done(res, k, name, found, doc, t0, tk)
        prev_steps = enc.steps(s)
        if check_types:
            found = _check(enc, solver, states, enc.type_error(prev_steps))
            if found is not None:
                return _done(res, k, TYPE_ERROR, found, _type_error_detail(spec, found.states[-1]), t0, tk)
        if check_deadlock:
            found = _check(enc, solver, states, z3.Not(enc.enabled(prev_steps)))
            if found is not None:
                return _done(res, k, DEADLOCK, found, "a reachable state with no enabled action", t0, tk)
        res.seconds_per_depth.append(time.monotonic() - tk)
        if progress is not None:
            took, total = res.seconds_per_depth[-1], time.monotonic() - t0
            progress(f"BMC: no violation at depth {k} ({took:.1f}s, {total:.1f}s in all)")
        if k < depth:
            states.append(enc.state(k + 1))
    res.seconds = time.monotonic() - t0
    return res


def _check(enc: Encoding, solver: z3.Solver, states: list[Any], goal: z3.BoolRef) -> Trace | None:
    solver.push()
    try:
        solver.add(goal)
        if not _sat(solver):
            return None
        m = solver.model()
        return _trace(enc.spec, [enc.decode(s, m) for s in states])
    finally:
        solver.pop()


def _done(res: BmcResult, k: int, name: str, trace: Trace, detail: str, t0: float, tk: float) -> BmcResult:
    res.depth, res.violation, res.trace, res.detail = k, name, trace, detail
    now = time.monotonic()
    res.seconds_per_depth.append(now - tk)
    res.seconds = now - t0
    return res


def _type_error_detail(spec: Spec, s: Any) -> str:
    for inst in spec.instances():
        for st in inst.steps(s):
            if st.guard is True:
                try:
                    spec.check_step(inst, st)
                except SpecError as e:
                    return str(e)
    return "an enabled step leaves a variable's type"

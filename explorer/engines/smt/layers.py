"""Counting with Z3: the number of distinct states at each BFS depth, by blocking-clause enumeration.

``crosscheck`` compares these counts with the explicit-state engines' layers: the two backends read the
same spec, so any difference is a bug in one of them.
"""

from __future__ import annotations

from typing import Any

import z3

from explorer.engines.smt.encoding import (
    Encoding,
    _leaves,
    _sat,
)
from spec.lang import Spec


def count_layers(spec: Spec, K: int, method: str = "image") -> list[int]:  # noqa: N803 - the bound's usual name
    """The number of distinct states at shortest distance exactly d from Init, for d = 0..K.

    Equals BFS's ``layers[:K+1]`` (zeros past the last layer). States are enumerated with blocking
    clauses: each model found is excluded and the solver asked again until unsat. Two formulations:

    * ``"image"`` (default): layer d = { t : TypeOK(t) /\\ C(t) /\\ Next(s, t) for some s in layer d-1 }
      minus the states found so far; one copy of Next, so it scales to thousands of states.
    * ``"unroll"``: layer d = the last states of d-step paths from Init (Init, Next and C on every
      state of the unrolling) minus the states found so far. It shares nothing with the frontier but
      Init, so it is the more independent check, and about ten times slower.
    """
    if method == "image":
        return _count_image(spec, K)
    if method == "unroll":
        return _count_unroll(spec, K)
    raise ValueError(f"count_layers: unknown method {method!r} (image, unroll)")


def _enumerate(enc: Encoding, solver: z3.Solver, s: Any) -> list[Any]:
    """Every assignment to s the solver allows, blocking each one found (the blocks stay asserted)."""
    found = []
    while _sat(solver):
        x = enc.decode(s, solver.model())
        found.append(x)
        solver.add(enc.block(s, x))
    return found


def _count_image(spec: Spec, K: int) -> list[int]:  # noqa: N803
    enc = Encoding(spec)
    s, t = enc.state(0), enc.state(1)
    first = z3.Solver()
    first.add(enc.type_ok(s), enc.init(s), enc.constraint(s))
    frontier = _enumerate(enc, first, s)
    layers = [len(frontier)]
    solver = z3.Solver()
    solver.add(enc.type_ok(t), enc.constraint(t), enc.next(s, t))
    for x in frontier:
        solver.add(enc.block(t, x))
    s_leaves = _leaves(tuple(s))
    while len(layers) <= K and frontier:
        solver.push()
        solver.add(
            z3.Or(
                [z3.And([a == b for a, b in zip(s_leaves, _leaves(tuple(x)), strict=True)]) for x in frontier]
            )
        )
        frontier = _enumerate(enc, solver, t)
        solver.pop()
        for x in frontier:  # re-assert outside the push: seen states stay excluded from later layers
            solver.add(enc.block(t, x))
        layers.append(len(frontier))
    return layers + [0] * (K + 1 - len(layers))


def _count_unroll(spec: Spec, K: int) -> list[int]:  # noqa: N803
    enc = Encoding(spec)
    solver = z3.Solver()
    states = [enc.state(0)]
    solver.add(enc.type_ok(states[0]), enc.init(states[0]), enc.constraint(states[0]))
    seen: list[Any] = []
    layers: list[int] = []
    for d in range(K + 1):
        s = states[d]
        if d > 0:
            # Only the last state is enumerated, so constraining earlier ones with one more transition
            # (after their layer is done) loses nothing.
            solver.add(enc.type_ok(s), enc.constraint(s), enc.next(states[d - 1], s))
        solver.push()
        for old in seen:
            solver.add(enc.block(s, old))
        found = _enumerate(enc, solver, s)
        solver.pop()
        seen.extend(found)
        layers.append(len(found))
        if not found:  # an empty layer: every later one is empty too
            break
        states.append(enc.state(d + 1))
    return layers + [0] * (K + 1 - len(layers))

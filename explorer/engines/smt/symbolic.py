"""The symbolic state: a Z3 term per leaf of a spec's variables, and the guard that keeps a spec
function from answering a Python truth test on a term. ``encoding.py`` builds the transition relation on
it; ``explorer/engines/tlc_count.py`` reads guards' structure through it (apart from ``encoding.py`` so
that the Python engine can use it without a circle of imports).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import z3

from spec.lang import BoolType, Enum, Fn, Int, Spec, SpecError, Type

# Enum leaves are bit-vectors: on the delayed_work proofs a query that took 1.2-3.2 s with Int
# leaves took 0.25-0.4 s (4 CPUs x 8 items, one SubmitEnqueue step). Values of a symmetric group
# (Spec.symmetric) get a width of their own, so a group's constants can be told apart from every
# other enum's by sort alone: the symmetry check renames them by substitution (``_renaming``).
ENUM_BITS = 8


def enum_widths(spec: Spec) -> dict[int, int]:
    """id(Enum) -> bit width, for the Enums of the spec's symmetric groups (the others: ENUM_BITS)."""
    widths: dict[int, int] = {}
    for g, (base, extended) in enumerate(spec.symmetries):
        for e in (base, *extended):
            widths[id(e)] = ENUM_BITS + 1 + g
    return widths


def _fresh(type_: Type, name: str, k: int, widths: dict[int, int]) -> Any:
    """A fresh Z3 term (or nested tuple of terms for a function) for a variable of type_ at step k."""
    if isinstance(type_, Fn):
        return type_.build(_fresh(type_.at(i), type_.element_name(name, i), k, widths) for i in type_.domain)
    if isinstance(type_, BoolType):
        return z3.Bool(f"{name}@{k}")
    if isinstance(type_, Enum):
        return z3.BitVec(f"{name}@{k}", widths.get(id(type_), ENUM_BITS))
    if isinstance(type_, Int):
        return z3.Int(f"{name}@{k}")
    raise SpecError(f"variable {name}: type {type_!r} has no Z3 encoding")


@contextmanager
def _no_truth_tests() -> Iterator[None]:
    """While a spec function runs on Z3 terms, a Python truth test of a term (``if s.x == 1``, ``and``,
    ``or``, ``not``) raises instead of answering. z3's own ``__bool__`` answers an equality by comparing
    the two terms' structure (``s.x == 1`` is False for the variable ``x``), which silently drops a
    branch: BMC then misses violations and induction proves false invariants. Constant terms (True,
    False) are still allowed."""
    saved = z3.AstRef.__bool__

    def refuse(term: z3.AstRef) -> bool:
        if z3.is_true(term):
            return True
        if z3.is_false(term):
            return False
        raise z3.Z3Exception(f"Python truth test of the symbolic term {term}")

    z3.AstRef.__bool__ = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        z3.AstRef.__bool__ = saved  # type: ignore[method-assign]

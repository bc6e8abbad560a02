"""Temporal formulas nested under Boolean connectives: ``[]<>P => []<>Q``, ``<>[]P \\/ []<>Q``, ...

A formula is built from state predicates with ``always_eventually(P)`` (``[]<>P``) and
``eventually_always(P)`` (``<>[]P``), combined by ``t_and``, ``t_or``, ``t_not`` and ``t_implies``, and
declared with ``Spec.formula(name, build)``. These are the formulas whose truth on a behaviour depends
only on the states its final cycle visits (which of them occur infinitely often), so the liveness
engine decides them on the explored graph as it decides ``[]<>P``: the negation is put in disjunctive
normal form over ``[]<>P`` and ``<>[]P`` (``~[]<>P`` is ``<>[]~P``), and a disjunct is violated by a
reachable fair cycle that stays in every ``<>[]`` predicate of it and visits every ``[]<>`` one
(``explorer/engines/liveness/check.py``). ``P ~> Q`` and ``<>P`` depend on where the behaviour starts
and are separate properties (``Spec.leads_to``, ``Spec.eventually``); nesting them inside a formula is
refused, as is ``[]`` or ``<>`` over anything but a state predicate.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# the disjunctive normal form of a negated formula may grow exponentially: refuse past this many
MAX_DISJUNCTS = 256


@dataclass(frozen=True, eq=False)
class Formula:
    """A node: ``op`` is "GF" ([]<>P) or "FG" (<>[]P) with ``pred`` the state predicate, else "and",
    "or", "not" or "implies" with ``args`` the operands."""

    op: str
    args: tuple[Formula, ...] = ()
    pred: Callable[[Any], Any] | None = None

    def predicates(self) -> list[Callable[[Any], Any]]:
        """The state predicates of the formula, each once, left to right."""
        if self.pred is not None:
            return [self.pred]
        out: list[Callable[[Any], Any]] = []
        for a in self.args:
            out += [p for p in a.predicates() if all(p is not q for q in out)]
        return out

    def text(self, name: Callable[[Callable[[Any], Any]], str]) -> str:
        """The formula in TLA+, each predicate printed as ``name(pred)``."""
        if self.op == "GF":
            return f"[]<>{name(self.pred)}"  # type: ignore[arg-type]
        if self.op == "FG":
            return f"<>[]{name(self.pred)}"  # type: ignore[arg-type]
        if self.op == "not":
            return f"~({self.args[0].text(name)})"
        sep = {"and": " /\\ ", "or": " \\/ ", "implies": " => "}[self.op]
        return sep.join(f"({a.text(name)})" if a.pred is None else a.text(name) for a in self.args)


class FormulaError(ValueError):
    """A formula outside the fragment (a non-formula operand, a DNF too large)."""


def _formula(x: Any, where: str) -> Formula:
    if not isinstance(x, Formula):
        raise FormulaError(
            f"{where}: {x!r} is not a temporal formula (wrap a state predicate P in always_eventually(P)"
            " or eventually_always(P))"
        )
    return x


def always_eventually(p: Callable[[Any], Any]) -> Formula:
    """[]<>P"""
    if isinstance(p, Formula):
        raise FormulaError("[]<> applies to a state predicate here, not to a temporal formula")
    return Formula("GF", pred=p)


def eventually_always(p: Callable[[Any], Any]) -> Formula:
    """<>[]P"""
    if isinstance(p, Formula):
        raise FormulaError("<>[] applies to a state predicate here, not to a temporal formula")
    return Formula("FG", pred=p)


def t_and(*fs: Formula) -> Formula:
    return Formula("and", _operands(fs, "/\\"))


def t_or(*fs: Formula) -> Formula:
    return Formula("or", _operands(fs, "\\/"))


def _operands(fs: tuple[Formula, ...], op: str) -> tuple[Formula, ...]:
    if not fs:
        raise FormulaError(
            f"{op} of no formula (write the formula it would be, TRUE or FALSE has no form here)"
        )
    return tuple(_formula(f, op) for f in fs)


def t_not(f: Formula) -> Formula:
    return Formula("not", (_formula(f, "~"),))


def t_implies(a: Formula, b: Formula) -> Formula:
    return Formula("implies", (_formula(a, "=>"), _formula(b, "=>")))


@dataclass(frozen=True)
class Literal:
    """[]<>P (``cycle`` "visits") or <>[]P ("stays"), P the predicate, negated if ``negated``."""

    kind: str  # "visits" (a state of the cycle satisfies it) or "stays" (every state of the cycle does)
    pred: Callable[[Any], Any]
    negated: bool


def violations(f: Formula) -> list[list[Literal]]:
    """~f in disjunctive normal form: each inner list a conjunction of literals about the final cycle of
    a behaviour; the formula is violated iff some behaviour's cycle satisfies one of them."""
    return _dnf(f, negate=True)


def _dnf(f: Formula, negate: bool) -> list[list[Literal]]:
    if f.op in ("GF", "FG"):
        assert f.pred is not None
        # []<>P: some cycle state has P; ~[]<>P = <>[]~P: every cycle state has ~P
        visits = (f.op == "GF") != negate
        return [[Literal("visits" if visits else "stays", f.pred, negate)]]
    if f.op == "not":
        return _dnf(f.args[0], not negate)
    if f.op == "implies":
        a, b = f.args
        return _dnf(Formula("or", (Formula("not", (a,)), b)), negate)
    conj = (f.op == "and") != negate  # ~(a \/ b) is ~a /\ ~b
    parts = [_dnf(a, negate) for a in f.args]
    if not conj:
        out = [d for p in parts for d in p]
    else:
        out = [functools.reduce(lambda x, y: x + y, combo, []) for combo in itertools.product(*parts)]
    if len(out) > MAX_DISJUNCTS:
        raise FormulaError(
            f"the negated formula has {len(out)} disjuncts in normal form (at most {MAX_DISJUNCTS})"
        )
    return out

"""The spec language's connectives as Z3 terms, built through Z3's C functions.

``and_``, ``or_``, ``not_``, ``ite`` and ``count`` (``spec/lang.py``) build most of the terms the Z3
reading of a spec makes, and Z3's Python API spends most of each call checking and coercing its
arguments and its error code. The proofs build millions (4.5M at the delayed_work proof's 8 CPUs x 16
items), so the common case goes straight to the C function: arguments that are already Z3 terms of
the right sort, in one context. Anything else (a Python value to coerce, two contexts, two sorts)
goes through the Python API as before, which coerces or raises. Either way the term is the same Z3
term, so what reads it (the solver, the C printer, the exports) cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import z3

_Ast = z3.z3types.Ast


def raw(name: str) -> Callable[..., Any]:
    """Z3's C function ``name`` without the Python API's error check after each call: z3core keeps it
    as its wrapper's default argument (an implementation detail of z3core, so with another layout
    the checked wrapper is used, which is slower and as correct). Callers pass only well-formed
    arguments (checked here, in Python, before the call)."""
    wrapper = getattr(z3.z3core, name)
    elems = (wrapper.__defaults__ or (None,))[-1]
    f = getattr(elems, "f", None)
    return f if callable(f) else wrapper


_mk_and, _mk_or, _mk_not, _mk_ite = raw("Z3_mk_and"), raw("Z3_mk_or"), raw("Z3_mk_not"), raw("Z3_mk_ite")
_mk_add, _inc_ref, _get_sort = raw("Z3_mk_add"), raw("Z3_inc_ref"), raw("Z3_get_sort")
_BoolRef, _ArithRef, _BitVecRef = z3.BoolRef, z3.ArithRef, z3.BitVecRef
# the class of an ite's result, from the class of its branch (a numeral's class is a subclass)
_RESULT = {
    _BoolRef: _BoolRef,
    _ArithRef: _ArithRef,
    z3.IntNumRef: _ArithRef,
    _BitVecRef: _BitVecRef,
    z3.BitVecNumRef: _BitVecRef,
}


def _wrap(cls: type, ctx: z3.Context, a: Any) -> Any:
    # what AstRef.__init__ does, with the unchecked inc_ref: the term is owned before any other call
    t = cls.__new__(cls)
    t.ast = a
    t.ctx = ctx
    _inc_ref(ctx.ref(), a)
    return t


def _booleans(terms: Sequence[Any]) -> z3.Context | None:
    """The terms' context if every one is a Z3 Boolean of that one context, else None."""
    ctx = getattr(terms[0], "ctx", None)
    for t in terms:
        if t.__class__ is not _BoolRef or t.ctx is not ctx:
            return None
    return ctx


def _nary(mk: Callable[..., Any], slow: Callable[..., Any], terms: Sequence[Any]) -> z3.BoolRef:
    """mk (Z3_mk_and, Z3_mk_or) over a non-empty list of Booleans; ``slow`` (z3.And, z3.Or) otherwise."""
    ctx = _booleans(terms)
    if ctx is None:
        return slow(list(terms))
    n = len(terms)
    return _wrap(_BoolRef, ctx, mk(ctx.ref(), n, (_Ast * n)(*[t.ast for t in terms])))


def conjunction(terms: Sequence[Any]) -> z3.BoolRef:
    """z3.And(terms) for a non-empty list."""
    return _nary(_mk_and, z3.And, terms)


def disjunction(terms: Sequence[Any]) -> z3.BoolRef:
    """z3.Or(terms) for a non-empty list."""
    return _nary(_mk_or, z3.Or, terms)


def negation(a: Any) -> z3.BoolRef:
    """z3.Not(a)."""
    if a.__class__ is not _BoolRef:
        return z3.Not(a)
    return _wrap(_BoolRef, a.ctx, _mk_not(a.ctx.ref(), a.ast))


def if_then_else(c: Any, a: Any, b: Any) -> Any:
    """z3.If(c, a, b)."""
    cls = _RESULT.get(a.__class__)
    ctx = getattr(c, "ctx", None)
    if (
        cls is None
        or c.__class__ is not _BoolRef
        or _RESULT.get(b.__class__) is not cls
        or a.ctx is not ctx
        or b.ctx is not ctx
    ):
        return z3.If(c, a, b)
    ref = ctx.ref()
    if cls is not _BoolRef and _get_sort(ref, a.ast).value != _get_sort(ref, b.ast).value:
        return z3.If(c, a, b)  # two integer or bit-vector sorts: z3.If coerces or refuses
    return _wrap(cls, ctx, _mk_ite(ref, c.ast, a.ast, b.ast))


def same_sort(a: z3.ExprRef, b: z3.ExprRef) -> bool:
    """a.sort() == b.sort() for two terms of one context (Z3 keeps one copy of each sort)."""
    ref = a.ctx.ref()
    return _get_sort(ref, a.ast).value == _get_sort(ref, b.ast).value


def total(terms: Sequence[Any]) -> z3.ArithRef:
    """z3.Sum(terms) for a non-empty list."""
    ctx = getattr(terms[0], "ctx", None)
    if ctx is None or terms[0].__class__ not in (_ArithRef, z3.IntNumRef):
        return z3.Sum(list(terms))
    ref = ctx.ref()
    sort = _get_sort(ref, terms[0].ast).value
    for t in terms:
        same = t.ctx is ctx and _get_sort(ref, t.ast).value == sort
        if _RESULT.get(t.__class__) is not _ArithRef or not same:
            return z3.Sum(list(terms))
    n = len(terms)
    return _wrap(_ArithRef, ctx, _mk_add(ref, n, (_Ast * n)(*[t.ast for t in terms])))

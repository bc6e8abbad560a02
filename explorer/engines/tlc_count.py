"""TLC's counting of "states generated" (``Spec.counting = "tlc"``, issue 23).

By default an enabled step is one generated state. TLC generates a successor for every way its
evaluation of the action reaches one: it branches at each disjunction and each ``\\E`` it meets while
evaluating the action's conjuncts, so a step whose guard is ``a /\\ (b \\/ c)`` with b and c both true
is two generated states (the same successor twice). In TLC mode a step counts as its guard's
multiplicity, read from the guard's structure as the spec built it (``and_``, ``or_``, ``any_``,
``exists_in``, ``ite``, ``implies``; before any simplification):

- ``and_(a, b, ...)``: the product of the conjuncts' multiplicities (0 if one is false);
- ``or_(a, b, ...)``, ``any_``, ``exists_in``: the sum over the true disjuncts;
- ``ite(c, a, b)`` of Booleans: a's if c holds, else b's (TLC evaluates the condition, then one branch);
- ``implies(a, b)``: b's if a holds, else 1;
- anything else (a comparison, ``not_``, a Boolean variable): 1 if true, else 0.

A disjunct the spec language folds before the guard is built (a comparison of action parameters,
which is a Python ``True``) counts once. Initial states count one each, as in the default mode: TLC
branches at a disjunction only while a variable is unassigned, and the TLA+ export prints an initial
predicate (``Spec.initially``) after every variable's initial value, where TLC evaluates it once (a
guard is printed before the updates, where it branches; docs/spec-language.md).

Every engine reads the same structure: the compiled engine prints the multiplicity as C beside the
guard (``multiplicity_c``; each extra count is a successor generated and not stored), and the Python
engine evaluates the action once more on a state of Z3 constants (``TlcCounter``), where every
connective keeps its arguments, and reads the multiplicity of each of its steps from that.
"""

from __future__ import annotations

from typing import Any

import z3

from explorer.engines.smt.symbolic import ENUM_BITS, _fresh, _no_truth_tests, enum_widths
from spec.lang import BoolType, Enum, Fn, Instance, Int, Spec, SpecError, Type


def _truth(t: Any) -> bool:
    if type(t) is bool:
        return t
    return z3.is_true(z3.simplify(t))


_AND, _OR, _ITE, _IMPLIES = z3.Z3_OP_AND, z3.Z3_OP_OR, z3.Z3_OP_ITE, z3.Z3_OP_IMPLIES


def multiplicity(guard: Any) -> int:
    """The multiplicity of a guard whose leaves are constants (see the module docstring)."""
    if type(guard) is bool:
        return int(guard)
    kind = guard.decl().kind()
    if kind == _AND:
        m = 1
        for c in guard.children():
            k = multiplicity(c)
            if k == 0:
                return 0
            m *= k
        return m
    if kind == _OR:
        return sum(multiplicity(c) for c in guard.children())
    if kind == _ITE:  # a guard is Boolean, so both branches are
        c, a, b = guard.children()
        return multiplicity(a) if _truth(c) else multiplicity(b)
    if kind == _IMPLIES:
        a, b = guard.children()
        return multiplicity(b) if _truth(a) else 1
    return 1 if _truth(guard) else 0


def _branches(guard: Any) -> bool:
    """Whether a guard can have a multiplicity above 1 (a disjunction in its skeleton)."""
    if type(guard) is bool:
        return False
    if z3.is_or(guard):
        return True
    if z3.is_and(guard) or z3.is_implies(guard):
        return any(_branches(c) for c in guard.children())
    if z3.is_app_of(guard, z3.Z3_OP_ITE) and z3.is_bool(guard):
        return any(_branches(c) for c in guard.children()[1:])
    return False


def multiplicity_c(guard: Any, c: Any) -> str | None:
    """The multiplicity of a symbolic guard as a C expression (``c`` prints a Boolean term as C, 0/1),
    or None where it is 1 whenever the guard holds."""
    if not _branches(guard):
        return None

    def go(t: Any) -> str:
        if type(t) is bool:
            return "1" if t else "0"
        if z3.is_and(t):
            return "(" + " * ".join(go(x) for x in t.children()) + ")"
        if z3.is_or(t):
            return "(" + " + ".join(go(x) for x in t.children()) + ")"
        if z3.is_app_of(t, z3.Z3_OP_ITE) and z3.is_bool(t):
            cond, a, b = t.children()
            return f"({c(cond)} ? {go(a)} : {go(b)})"
        if z3.is_implies(t):
            a, b = t.children()
            return f"({c(a)} ? {go(b)} : 1)"
        return f"({c(t)} != 0)"

    return go(guard)


class TlcCounter:
    """The Python engine's side: each enabled step's multiplicity, from the action evaluated on the
    state as Z3 constants (the structure the compiled engine prints; its enabled steps are the concrete
    reading's, in the same order)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.widths = enum_widths(spec)
        self._consts: dict[tuple[int, Any], Any] = {}  # (type, value) -> its Z3 constant
        s0 = spec.State(*(_fresh(v.type, v.name, 0, self.widths) for v in spec.variables))
        with _no_truth_tests():
            # branches[i]: instance i has a step whose guard can count more than once (the others'
            # steps count 1 each, and are not evaluated again)
            self.branches = [any(_branches(st.guard) for st in i.steps(s0)) for i in spec.instances()]

    def _const(self, t: Type, v: Any) -> Any:
        if isinstance(t, Fn):
            return t.build(self._const(t.at(i), x) for i, x in enumerate(v))
        key = (id(t), v)
        c = self._consts.get(key)
        if c is None:
            if isinstance(t, BoolType):
                c = z3.BoolVal(v)
            elif isinstance(t, Enum):
                c = z3.BitVecVal(v, self.widths.get(id(t), ENUM_BITS))
            elif isinstance(t, Int):
                c = z3.IntVal(v)
            else:
                raise SpecError(f"type {t!r} has no Z3 reading")
            self._consts[key] = c
        return c

    def multiplicities(self, inst: Instance, s: Any) -> list[int]:
        """The multiplicity of each enabled step of inst in s, in order."""
        values = zip(self.spec.variables, s, strict=True)
        state = self.spec.State(*(self._const(v.type, x) for v, x in values))
        with _no_truth_tests():
            steps = inst.steps(state)
        return [m for m in (multiplicity(st.guard) for st in steps) if m > 0]

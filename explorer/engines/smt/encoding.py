"""The Z3 backend's encoding: the same Spec as a symbolic transition relation, and back.

The spec is read by *dual interpretation* (see ``spec/lang.py``): every action, invariant and the state
constraint is the very Python function BFS runs, called here with a state whose fields are Z3 terms.

Encoding (one copy of the variables per step ``k``, one Z3 constant per leaf value):

* ``Int`` leaves are ``z3.Int`` (``prog_refcnt@3``), ``Enum`` leaves bit-vectors (``ENUM_BITS``),
  ``Bool`` leaves ``z3.Bool``, and a ``Fn`` value is a tuple of leaf terms, nested for ``Fn`` of
  ``Fn`` (``flags[Item0]@3``). Per-element
  constants (not Z3 arrays) keep every formula quantifier- and array-free, and match the tuple
  representation the helpers already work on.
* ``TypeOK(s)``: every leaf is in its type's range (Z3 integers are unbounded, the spec's are not).
* ``Init(s)``: for each variable, the disjunction of its allowed initial values (Init is their product).
* ``Next(s, t)``: the disjunction, over every action instance and every step it returns, of
  ``guard(s) /\\ t = s[updates]`` (variables not updated are framed: ``t.v = s.v``).
* The state constraint, if any, holds in every state of a path: TLC discards successors that violate it
  and never expands them, so they are not reachable (and not counted).

BFS raises an error when an enabled step sets a variable outside its type; here such a step is excluded
from paths by ``TypeOK(t)``, so ``bmc`` and ``prove`` look for it explicitly and report it as
``TYPE_ERROR``, which keeps the two backends in agreement about what is reachable.

What reads it: ``bmc.py`` (bounded model checking), ``layers.py`` (states per BFS layer, counted by Z3),
``induction.py`` (proofs by induction), and the compiled engine and the TLA+ and Promela exports, which
print the terms of ``Encoding.steps``. A model of the solver becomes a ``Trace`` here (``_trace``), by
replaying each decoded step concretely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import z3

from explorer.engines.bfs import Trace
from explorer.engines.smt.symbolic import _fresh, _no_truth_tests, enum_widths
from spec.lang import BoolType, Enum, Fn, Instance, Int, Predicate, RecordType, Spec, SpecError, Type, rebuild
from spec.terms import conjunction, same_sort

TYPE_ERROR = "TypeError"  # an enabled step sets a variable outside its type (BFS raises SpecError there)

InvariantLike = str | Predicate | Callable[[Any], Any]
CONSTANT_CHECK_STATES = 64  # initial states a predicate read as a constant is checked against


# --------------------------------------------------------------------------- terms


def _as_bool(x: Any, what: str) -> z3.BoolRef:
    """A guard or predicate result as a Z3 Boolean; a constant Python bool is allowed (``when(True)``)."""
    if type(x) is bool:
        return z3.BoolVal(x)
    if isinstance(x, z3.BoolRef):
        return x
    raise SpecError(f"{what} is {type(x).__name__}, not a Boolean")


def _in_type(type_: Type, v: Any) -> Any:
    """v is a value of type_: a Python bool for concrete v, a Z3 term otherwise."""
    if isinstance(type_, Fn):
        if not isinstance(v, tuple) or len(v) != len(type_.domain):
            return False
        if isinstance(type_, RecordType) and type(v) is not type_.cls:
            return False  # a plain tuple (put() on a record) is no record value, as contains() says
        parts = [_in_type(type_.at(i), x) for i, x in enumerate(v)]
        return conjunction([z3.BoolVal(p) if type(p) is bool else p for p in parts])
    if not isinstance(v, z3.ExprRef):
        return type_.contains(v)
    if isinstance(type_, BoolType):
        return isinstance(v, z3.BoolRef)
    if isinstance(v, z3.BoolRef) or not isinstance(v, (z3.ArithRef, z3.BitVecRef)):
        return False
    if isinstance(type_, Int):
        return conjunction([type_.lo <= v, v <= type_.hi])
    if isinstance(type_, Enum):
        return z3.ULT(v, len(type_)) if isinstance(v, z3.BitVecRef) else False
    return False


def _eq(x: Any, v: Any) -> z3.BoolRef:
    """x = v for a fresh variable term x and an update value v (a term, a Python value or a tuple)."""
    if isinstance(x, tuple):
        return z3.And([_eq(a, b) for a, b in zip(x, v, strict=True)])
    if isinstance(x, z3.BoolRef) and not isinstance(v, (bool, z3.BoolRef)):
        return z3.BoolVal(False)  # ill-typed value for a Bool leaf; reported as a type error
    if isinstance(x, z3.ArithRef) and isinstance(v, (bool, z3.BoolRef)):
        return z3.BoolVal(False)
    return x == v


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, tuple):
        return [leaf for x in value for leaf in _leaves(x)]
    return [value]


def _decode(term: Any, model: z3.ModelRef) -> Any:
    if isinstance(term, tuple):
        return rebuild(term, (_decode(t, model) for t in term))
    v = model.eval(term, model_completion=True)
    if isinstance(term, z3.BoolRef):
        return z3.is_true(v)
    return v.as_long()


@dataclass
class _Step:
    inst: Instance
    guard: z3.BoolRef
    post: tuple  # the successor's value of every variable, in spec order
    binds: tuple = ()  # the over() cases the step was made in (spec.lang.Step.binds)
    sibling: int = 0  # its position among the instance's steps with the same binds


class Encoding:
    """The Spec's Init, TypeOK, constraint and Next as Z3 formulas over per-step state terms."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.cls = spec.State
        self.names = spec.var_names
        self.types = [v.type for v in spec.variables]
        self.pos = {n: i for i, n in enumerate(self.names)}
        self.widths = enum_widths(spec)  # id(Enum) -> bit width, for the symmetric groups' Enums
        self._constant_checked: dict[int, Callable[[Any], Any]] = {}  # predicates read as constants
        self._initial: list[Any] | None = None  # up to CONSTANT_CHECK_STATES initial states

    def state(self, k: int) -> Any:
        """The state terms of step k (Z3 returns the same constant for the same name, so this is stable)."""
        return self.cls(*(_fresh(t, n, k, self.widths) for t, n in zip(self.types, self.names, strict=True)))

    def type_ok(self, s: Any) -> z3.BoolRef:
        return z3.And([_as_bool(_in_type(t, x), "TypeOK") for t, x in zip(self.types, s, strict=True)])

    def init(self, s: Any) -> z3.BoolRef:
        each = [z3.Or([_eq(x, v) for v in var.init]) for var, x in zip(self.spec.variables, s, strict=True)]
        p = self.spec.init_predicate
        if p is not None:
            each.append(self.pred(p.fn, s, f"initial predicate {p.name}"))
        return z3.And(each)

    def constraint(self, s: Any) -> z3.BoolRef:
        c = self.spec.constraint
        return z3.BoolVal(True) if c is None else self.pred(c.fn, s, f"state constraint {c.name}")

    def pred(self, fn: Callable[[Any], Any], s: Any, what: str) -> z3.BoolRef:
        try:
            with _no_truth_tests():
                r = fn(s)
            if type(r) is bool:
                self._check_constant(fn, r, what)
            return _as_bool(r, what)
        except z3.Z3Exception as e:
            hint = "a Python if/and/or on a state value?"
            raise SpecError(f"{what} cannot be read symbolically ({hint}): {e}") from e
        except SpecError:
            raise
        except Exception as e:
            raise SpecError(f"{what} cannot be read symbolically ({type(e).__name__}: {e})") from e

    def _check_constant(self, fn: Callable[[Any], Any], value: bool, what: str) -> None:
        """A predicate that reads as a Python constant on symbolic values must be that constant on every
        state: ``s.x is 3`` or ``==`` on two tuples of terms reads as False there while it varies on
        concrete states, and Z3 and the exports would read the wrong predicate with no error. Checked
        on the initial states (each function once)."""
        if id(fn) in self._constant_checked:
            return
        self._constant_checked[id(fn)] = fn  # kept alive, so that its id is not reused
        if self._initial is None:
            self._initial = self.spec.init_states()[:CONSTANT_CHECK_STATES]
        for state in self._initial:
            c = fn(state)
            if type(c) is bool and c != value:
                raise SpecError(
                    f"{what} reads as the constant {value} on symbolic values but is {c} in the initial state"
                    f" {state}: a Python `is`, `==` on tuples or `if` on a state value? (use eq, and_, ite)"
                )

    def steps(self, s: Any) -> list[_Step]:
        """Every (instance, step) of the spec applied to the symbolic state s."""
        out = []
        for inst in self.spec.instances():
            try:
                with _no_truth_tests():
                    steps = inst.steps(s)
            except z3.Z3Exception as e:
                raise SpecError(
                    f"action {inst.label} cannot be read symbolically"
                    f" (a Python if/and/or/min on a state value?): {e}"
                ) from e
            except SpecError:
                raise
            except Exception as e:  # e.g. a state value used as a Python index: name the action
                raise SpecError(
                    f"action {inst.label} cannot be read symbolically ({type(e).__name__}: {e};"
                    " a state value used as a Python index? use select())"
                ) from e
            siblings: dict[tuple, int] = {}
            for st in steps:
                post = list(s)
                for k, v in st.updates.items():
                    p = self.pos.get(k)
                    if p is None:
                        raise SpecError(f"action {inst.label} updates unknown variable {k}")
                    post[p] = _fit(v, s[p])
                key = tuple(v for _, v in st.binds)
                siblings[key] = siblings.get(key, -1) + 1
                guard = _as_bool(st.guard, f"action {inst.label}: guard")
                out.append(_Step(inst, guard, tuple(post), tuple(st.binds), siblings[key]))
        return out

    def next(self, s: Any, t: Any, steps: list[_Step] | None = None) -> z3.BoolRef:
        steps = self.steps(s) if steps is None else steps
        return z3.Or(
            [z3.And(st.guard, *(_eq(x, v) for x, v in zip(t, st.post, strict=True))) for st in steps]
        )

    def enabled(self, steps: list[_Step]) -> z3.BoolRef:
        return z3.Or([st.guard for st in steps])

    def type_error(self, steps: list[_Step]) -> z3.BoolRef:
        """Some enabled step sets a variable outside its type."""
        bad = []
        for st in steps:
            ok = [_in_type(t, v) for t, v in zip(self.types, st.post, strict=True)]
            ok = [z3.BoolVal(x) if type(x) is bool else x for x in ok]
            bad.append(z3.And(st.guard, z3.Not(z3.And(ok))))
        return z3.Or(bad)

    def decode(self, s: Any, model: z3.ModelRef) -> Any:
        return self.cls(*(_decode(x, model) for x in s))

    def block(self, s: Any, concrete: Any) -> z3.BoolRef:
        """s is not the concrete state."""
        return z3.Or([a != b for a, b in zip(_leaves(tuple(s)), _leaves(tuple(concrete)), strict=True)])


def _instance_between(spec: Spec, pre: Any, post: Any) -> Instance | None:
    """An instance whose enabled step leads from pre to post (concrete replay, so the trace is checked)."""
    for inst in spec.instances():
        for st in inst.steps(pre):
            if st.guard is True and pre._replace(**st.updates) == post:
                return inst
    return None


def _trace(spec: Spec, states: list[Any]) -> Trace:
    steps: list[Instance | None] = [None]
    for pre, post in zip(states, states[1:], strict=False):
        inst = _instance_between(spec, pre, post)
        if inst is None:
            raise RuntimeError(f"smt: decoded step {pre} -> {post} is no step of the spec (encoding bug)")
        steps.append(inst)
    return Trace(spec, states, steps)


def _predicates(spec: Spec, invariants: Iterable[InvariantLike] | None) -> list[Predicate]:
    if invariants is None:
        return list(spec.invariants)
    out = []
    for i in invariants:
        if isinstance(i, str):
            out.append(spec.invariant_named(i))
        elif isinstance(i, Predicate):
            out.append(i)
        else:
            out.append(Predicate(getattr(i, "__name__", "invariant"), i, (i.__doc__ or "").strip()))
    return out


# --------------------------------------------------------------------------- the solver, and terms


class SolverUnknown(SpecError):
    """Z3 answered neither sat nor unsat: no verdict can be drawn, and none is printed."""


def _sat(solver: z3.Solver) -> bool:
    """True if sat, False if unsat; Ctrl-C during the check (Z3 reports it as "canceled") is raised
    as KeyboardInterrupt, and any other unknown as SolverUnknown (one line, exit 2)."""
    r = solver.check()
    if r == z3.unknown:
        why = solver.reason_unknown()
        if "cancel" in why:
            raise KeyboardInterrupt
        raise SolverUnknown(f"smt: the solver returned unknown ({why}): no verdict")
    return r == z3.sat


def _atoms(f: z3.BoolRef) -> list[z3.BoolRef]:
    out, todo = [], [f]
    while todo:
        x = todo.pop()
        if z3.is_and(x):
            todo.extend(reversed(x.children()))
        elif not z3.is_true(x):
            out.append(x)
    return out


def _fit(v: Any, like: Any) -> Any:
    """An update value in its variable's sort: ``ite(cond, 2, 0)`` of two Python constants is an Int
    term, and a bit-vector variable (an Enum or a small Int) needs it as a bit-vector. The values are
    in the variable's type (``check_types`` proves that), so the conversion is exact; an If of
    constants is rebuilt leaf by leaf so that Z3 and the C printer see no Int2BV."""
    if isinstance(like, tuple):
        return rebuild(v, (_fit(a, b) for a, b in zip(v, like, strict=True))) if isinstance(v, tuple) else v
    if isinstance(v, z3.ArithRef) and isinstance(like, z3.BitVecRef):
        return _int_to_bv(v, like.size())
    return v


def _int_to_bv(v: z3.ArithRef, size: int) -> z3.ExprRef:
    if z3.is_int_value(v):
        return z3.BitVecVal(v.as_long(), size)
    if z3.is_app_of(v, z3.Z3_OP_ITE):
        c, a, b = v.children()
        return z3.If(c, _int_to_bv(a, size), _int_to_bv(b, size))
    return z3.Int2BV(v, size)


def _as_term(v: Any, like: z3.ExprRef) -> z3.ExprRef:
    if isinstance(v, z3.ExprRef):
        if v.ctx is like.ctx and same_sort(v, like):
            return v  # the common case, without building two sort objects
        if isinstance(like, z3.BitVecRef) and v.sort() == z3.IntSort():
            return _int_to_bv(v, like.size())
        if v.sort() != like.sort():
            raise SpecError(f"smt: {v} has sort {v.sort()}, the variable {like} has {like.sort()}")
        return v
    if isinstance(like, z3.BoolRef):
        return z3.BoolVal(bool(v))
    if isinstance(like, z3.BitVecRef):
        return z3.BitVecVal(int(v), like.size())
    return z3.IntVal(int(v))

"""The spec language: typed state variables, Init, parameterised actions, invariants.

Design choice: **dual interpretation** (CONVENTIONS design 2). A guard, update or predicate is an
ordinary Python function of a state ``s``. The BFS engine calls it with a state of concrete values
(a namedtuple of bools, ints and tuples); the Z3 backend calls the *same* function with a state whose
fields are Z3 terms. Operators (``==``, ``+``, ``<``) work on both; everything that would need a Python
``if``/``and``/``or`` goes through the helpers below (``and_``, ``or_``, ``not_``, ``implies``, ``ite``,
``all_``, ``any_``, ``count``, ``eq``, ``put``), which return a bool for concrete values and a Z3 term
otherwise. We chose this over expression trees because the model is written as plain Python that a
kernel reviewer can read in minutes, the BFS fast path is the function itself (no compiler to keep
in sync), and Z3 gets the identical definition. The cost is that exports to other languages would need
a third, printing interpretation; ITF/DOT/text traces only need values, so that is not needed today.

Values:
* ``Bool``: Python bool.
* ``Int(lo, hi)``: Python int in [lo, hi].
* ``Enum(name, values)``: Python int 0..n-1; the type knows the names for traces and ITF.
* ``Fn(domain_enum, codomain)``: a tuple indexed by the domain's ints (``s.flags[w]``).
  ``Set(domain)`` is ``Fn(domain, Bool)`` shown as a set.
* ``Record(name, field=Type, ...)``: a namedtuple (``s.token.pos``); ``eq``, ``ite`` and
  ``_replace`` work on it as on a function value.

Action parameters are concrete values drawn from finite domains (an Enum or any iterable); they index
functions directly (``s.flags[w]``). A state value must never be used as a Python index or in a Python
``if``; use ``ite``/``select``.

The model is built by a function that returns a ``Spec``; design variants are Python-level switches in
that function (they are constants, so plain ``if`` on them is fine).
"""

from __future__ import annotations

import functools
import itertools
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from spec.temporal import Formula, FormulaError, violations


class SpecError(Exception):
    """A mistake in a spec (type error, unknown variable, ...). Reported as one line to the user."""


# --------------------------------------------------------------------------- types


class Type:
    """A finite type of state values."""

    def values(self) -> list[Any]:
        raise NotImplementedError

    def contains(self, v: Any) -> bool:
        raise NotImplementedError

    def show(self, v: Any) -> str:
        return str(v)


class BoolType(Type):
    def values(self) -> list[Any]:
        return [False, True]

    def contains(self, v: Any) -> bool:
        return type(v) is bool

    def __repr__(self) -> str:
        return "Bool"

    def show(self, v: Any) -> str:
        return "TRUE" if v else "FALSE"


Bool = BoolType()


@dataclass(frozen=True)
class Int(Type):
    lo: int
    hi: int

    def values(self) -> list[Any]:
        return list(range(self.lo, self.hi + 1))

    def contains(self, v: Any) -> bool:
        return type(v) is int and self.lo <= v <= self.hi

    def __repr__(self) -> str:
        return f"Int({self.lo}, {self.hi})"


class Enum(Type):
    """A finite set of named values, represented by the ints 0..n-1.

    ``Enum("CPU", 2)`` names its values CPU0, CPU1; ``Enum("State", ["FREE", "BUSY"])`` exposes
    ``State.FREE == 0`` and ``State.BUSY == 1`` as attributes.
    """

    def __init__(self, name: str, values: int | Sequence[str]):
        self.name = name
        if isinstance(values, int):
            names = [f"{name}{i}" for i in range(values)]
        else:
            names = list(values)
        if not names:
            raise SpecError(f"Enum {name} has no values")
        if len(set(names)) != len(names):
            raise SpecError(f"Enum {name} has duplicate values: {names}")
        self.names = names
        for i, n in enumerate(names):
            if n.isidentifier() and not hasattr(self, n):  # never shadow name, names, values()...
                setattr(self, n, i)

    def values(self) -> list[Any]:
        return list(range(len(self.names)))

    def __iter__(self):
        return iter(range(len(self.names)))

    def __len__(self) -> int:
        return len(self.names)

    def contains(self, v: Any) -> bool:
        return type(v) is int and 0 <= v < len(self.names)

    def show(self, v: Any) -> str:
        return self.names[v] if self.contains(v) else f"<bad {self.name} {v!r}>"

    def __repr__(self) -> str:
        return f"Enum({self.name})"


# the domains of a parameterised property (Spec.leads_to over=): parameter name -> its Enum
Params = dict[str, Enum]


@dataclass(frozen=True)
class Fn(Type):
    """A total function from a finite Enum domain: a tuple indexed by the domain's ints.

    A composite type for every back-end: ``at(i)`` is the type of element i and ``build`` makes a value
    of the elements (a record, ``RecordType``, is a function from its field names whose elements have
    types of their own)."""

    domain: Enum
    codomain: Type | None  # None for a record: each field has its own type (at)

    def at(self, i: int) -> Type:
        """The type of element i."""
        return self.codomain  # type: ignore[return-value]

    def build(self, items: Iterable[Any]) -> tuple:
        """The value whose elements are items."""
        return tuple(items)

    def element_name(self, base: str, i: int) -> str:
        """How traces, Z3 constants and the compiled engine's leaves name element i of ``base``."""
        return f"{base}[{self.domain.show(i)}]"

    def values(self) -> list[Any]:
        return [tuple(p) for p in itertools.product(self.codomain.values(), repeat=len(self.domain))]

    def contains(self, v: Any) -> bool:
        return type(v) is tuple and len(v) == len(self.domain) and all(self.codomain.contains(x) for x in v)

    def show(self, v: Any) -> str:
        return (
            "["
            + ", ".join(f"{self.domain.show(i)} |-> {self.codomain.show(x)}" for i, x in enumerate(v))
            + "]"
        )

    def __repr__(self) -> str:
        return f"Fn({self.domain.name}, {self.codomain!r})"


@dataclass(frozen=True)
class RecordType(Fn):
    """``Record(name, field=Type, ...)``: TLA+'s record ``[f1 : T1, f2 : T2]``, a value with fixed
    fields. A value is a namedtuple (``m.bal``, ``m._replace(bal=b)`` as ``[m EXCEPT !.bal = b]``),
    built by calling the type (``Msg(bal=1, val=v)``); it is a function from the field names (the
    ``domain`` Enum, named ``<name>_field``) whose elements have the field types, and every back-end
    reads it as one: packed field by field in the compiled engine, a term per field in Z3, a TLA+
    record in the export."""

    fields: tuple[tuple[str, Type], ...] = ()
    cls: Any = field(default=None, compare=False, repr=False)

    def at(self, i: int) -> Type:
        return self.fields[i][1]

    def build(self, items: Iterable[Any]) -> Any:
        return self.cls(*items)

    def element_name(self, base: str, i: int) -> str:
        return f"{base}.{self.fields[i][0]}"

    def __call__(self, **values: Any) -> Any:
        return self.cls(**values)

    @property
    def field_names(self) -> list[str]:
        return [f for f, _ in self.fields]

    def values(self) -> list[Any]:
        return [self.cls(*p) for p in itertools.product(*(t.values() for _, t in self.fields))]

    def contains(self, v: Any) -> bool:
        return type(v) is self.cls and all(t.contains(x) for (_, t), x in zip(self.fields, v, strict=True))

    def show(self, v: Any) -> str:
        return "[" + ", ".join(f"{f} |-> {t.show(x)}" for (f, t), x in zip(self.fields, v, strict=True)) + "]"

    def __repr__(self) -> str:
        return f"Record({self.domain.name.removesuffix('_field')})"


def Record(name: str, **fields: Type) -> RecordType:  # noqa: N802 - reads like a type constructor
    """A record type: ``Msg = Record("Msg", bal=Int(0, 2), val=Value)``."""
    if not fields:
        raise SpecError(f"Record {name} has no fields")
    bad = [f for f in fields if not f.isidentifier() or f.startswith("_")]
    if bad:
        raise SpecError(f"Record {name}: field name(s) {bad} are not identifiers (or start with _)")
    cls = namedtuple(name, list(fields))
    return RecordType(Enum(f"{name}_field", list(fields)), None, tuple(fields.items()), cls)


class SetType(Fn):
    """``Set(D)``: a subset of D, stored as a function D -> Bool and shown as a set."""

    def show(self, v: Any) -> str:
        return "{" + ", ".join(self.domain.show(i) for i, x in enumerate(v) if x) + "}"

    def __repr__(self) -> str:
        return f"Set({self.domain.name})"


def Set(domain: Enum) -> SetType:  # noqa: N802 - reads like a type constructor
    return SetType(domain, Bool)


def rebuild(like: tuple, items: Iterable[Any]) -> Any:
    """A value of like's kind (a function's tuple or a record's namedtuple) with elements items."""
    return tuple(items) if type(like) is tuple else type(like)(*items)


def const_fn(domain: Enum, value: Any) -> tuple:
    """[d \\in domain |-> value]"""
    return tuple(value for _ in domain)


# --------------------------------------------------------------------------- helpers
# Each helper returns a Python value when all arguments are concrete and a Z3 term otherwise.
# The concrete path is checked first and kept short: it is the BFS hot path.


def _z3():
    import z3

    return z3


def _terms():
    import spec.terms

    return spec.terms


def not_(a: Any) -> Any:
    if a is True:
        return False
    if a is False:
        return True
    return _terms().negation(a)


# and_/or_ short-circuit on a concrete False/True even when other arguments are Z3 terms: the result is
# the same formula, and the identity tests keep the BFS path cheap.
def and_(*xs: Any) -> Any:
    terms = None
    for x in xs:
        if x is True:
            continue
        if x is False:
            return False
        if terms is None:
            terms = []
        terms.append(x)
    if terms is None:
        return True
    return _terms().conjunction(terms)


def or_(*xs: Any) -> Any:
    terms = None
    for x in xs:
        if x is False:
            continue
        if x is True:
            return True
        if terms is None:
            terms = []
        terms.append(x)
    if terms is None:
        return False
    return _terms().disjunction(terms)


def all_(xs: Iterable[Any]) -> Any:
    return and_(*xs)


def any_(xs: Iterable[Any]) -> Any:
    return or_(*xs)


def implies(a: Any, b: Any) -> Any:
    if type(a) is bool and type(b) is bool:
        return (not a) or b
    return _z3().Implies(a, b)


def ite(c: Any, a: Any, b: Any) -> Any:
    """IF c THEN a ELSE b; works elementwise on function values (tuples)."""
    if type(c) is bool:
        return a if c else b
    if isinstance(a, tuple):  # a function or record value: elementwise
        return rebuild(a, (ite(c, x, y) for x, y in zip(a, b, strict=True)))
    if type(a) is bool:
        a = _z3().BoolVal(a)
    return _terms().if_then_else(c, a, b)


def eq(a: Any, b: Any) -> Any:
    """Equality that also works on function values (``==`` on tuples of Z3 terms would not)."""
    if isinstance(a, tuple):
        return all_(eq(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def count(xs: Iterable[Any]) -> Any:
    """The number of true conditions among xs."""
    xs = list(xs)
    if all(type(x) is bool for x in xs):
        return sum(xs)
    z3, terms = _z3(), _terms()
    ctx = next(x.ctx for x in xs if type(x) is not bool)
    one, zero = z3.IntVal(1, ctx), z3.IntVal(0, ctx)
    ones = [(one if x else zero) if type(x) is bool else terms.if_then_else(x, one, zero) for x in xs]
    return terms.total(ones)


def select(f: tuple, i: Any) -> Any:
    """f[i] where i may be a state value (not only a concrete parameter)."""
    if type(i) is int:
        return f[i]
    r = f[-1]
    for k in range(len(f) - 2, -1, -1):
        r = ite(i == k, f[k], r)
    return r


# The over() loops enclosing the code that is running now: (domain, value) pairs, outermost first.
_BINDINGS: list[tuple[Any, Any]] = []


def over(x: Any, domain: Enum) -> Iterable[Any]:
    """The values a state-valued index x can take: just x when concrete, every value for Z3.

    Lets an action case-split on a state value (``for w in over(s.chain[c][0], Item): ... w == x``)
    without paying for the impossible cases in the BFS hot path; the guard must still say ``x == w``.
    For Z3, each ``when`` inside the loop records the value as one of its step's ``binds``: the
    symmetry reduction of the proofs needs to know that the step is the case ``x == w`` (do not
    ``break`` out of such a loop: the binding is released when the loop finishes).
    """
    if type(x) is int:
        # a value outside the domain ("none") has no case, as in the Z3 reading
        return (x,) if 0 <= x < len(domain) else ()
    return _bound(domain)


def _bound(domain: Iterable[Any]) -> Iterable[Any]:
    for v in domain:
        _BINDINGS.append((domain, v))
        try:
            yield v
        finally:
            _BINDINGS.pop()


def disabled(guard: Any) -> bool:
    """True only for a guard that is concretely False: the one Python ``if`` on a state-derived value
    that is allowed, because returning no step then means the same thing for every backend."""
    return guard is False


def put(f: tuple, i: int, v: Any) -> tuple:
    """[f EXCEPT ![i] = v] for a concrete index i (an action parameter); on a record, i is the field's
    index (``r._replace(field=v)`` says the same by name)."""
    if type(f) is not tuple:
        return f._replace(**{f._fields[i]: v})
    return f[:i] + (v,) + f[i + 1 :]


def put_all(f: tuple, updates: dict[int, Any]) -> tuple:
    """[f EXCEPT ![i1] = v1, ![i2] = v2, ...] for concrete indices."""
    return tuple(updates.get(i, x) for i, x in enumerate(f))


# --------------------------------------------------------------------------- kernel citations


@dataclass(frozen=True)
class Source:
    """A kernel source a model was read from: the upstream version the code is (``version``: a tag or
    commit), and the copy that was actually read (``read_from``). ``upstream`` is False for a copy of
    unknown or non-upstream commit: a finding that rests on it is to be confirmed against
    ``version``."""

    tag: str
    path: str
    version: str
    read_from: str
    upstream: bool


@dataclass(frozen=True)
class Cite:
    """What one action models: ``source`` (a Source tag of the model; "" for a step with no kernel
    code of its own, such as the environment's choice or a stutter), the kernel ``function`` and the
    ``lines`` of it the step covers, and ``atomic``: why those lines are one step (the lock held, the
    single atomic operation, irqs off, or why no interleaving between them is lost)."""

    source: str
    function: str
    lines: str
    atomic: str


def cites(source: str, function: str, lines: str, atomic: str) -> Callable[[Callable[..., Any]], Any]:
    """Decorator, placed under ``@spec.action``: the action models ``lines`` of ``function`` in
    ``source`` as one step, for the reason ``atomic``. Stack several for an action that models code
    of several designs or files."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__cites__ = (Cite(source, function, lines, atomic), *getattr(fn, "__cites__", ()))  # type: ignore[attr-defined]
        return fn

    return deco


def bind(fn: Callable[..., Any], model: Any, name: str | None = None) -> Callable[..., Any]:
    """An action written as a top-level function ``fn(m, s, **params)`` of the model's vocabulary
    object ``m``, as the ``(s, **params)`` function ``Spec.action`` registers:
    ``spec.action(c=CPU)(bind(SubmitReady, m))``. The action keeps fn's name (or ``name``, where a
    design variant of one action is a function of its own), docstring and citations."""
    bound = functools.partial(fn, model)
    bound.__name__ = name or fn.__name__  # type: ignore[attr-defined]
    bound.__doc__ = fn.__doc__
    bound.__cites__ = getattr(fn, "__cites__", ())  # type: ignore[attr-defined]
    return bound


# --------------------------------------------------------------------------- spec objects


@dataclass
class Var:
    name: str
    type: Type
    init: list[Any]  # the allowed initial values (Init is their product over all variables)
    doc: str = ""


class SeqDecl(NamedTuple):
    """A bounded sequence (``spec.values.seq_vars``): its slots are the variable of that name, a
    ``Fn(Pos, elem)`` with ``filler`` past the end, and ``length`` names the variable holding its length.
    The engines read the two variables as they read any other; the TLA+ export prints them as one
    TLA+ sequence."""

    length: str
    bound: int
    filler: Any


class Step(NamedTuple):
    """One way an action can fire: ``guard`` and the updated variables (the rest is UNCHANGED).
    ``binds`` are the ``over`` cases it was made in (empty on concrete states)."""

    guard: Any
    updates: dict[str, Any]
    binds: tuple = ()


def when(guard: Any, **updates: Any) -> Step:
    return Step(guard, updates, tuple(_BINDINGS))


@dataclass
class Action:
    name: str
    fn: Callable[..., Any]
    params: dict[str, list[Any]]
    param_types: dict[str, Type | None]
    doc: str = ""
    cites: tuple[Cite, ...] = ()  # the kernel lines the action models and why they are one step

    def instances(self) -> list[dict[str, Any]]:
        names = list(self.params)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*self.params.values())]


@dataclass
class Predicate:
    name: str
    fn: Callable[[Any], Any]
    doc: str = ""


@dataclass
class Temporal:
    """A temporal property over behaviours, checked on the explored graph under the spec's fairness.

    kind "leadsto":  P ~> Q      ([](P => <>Q))
    kind "alwayseventually": []<>P
    kind "eventuallyalways": <>[]P
    kind "eventually": <>P       (from the initial states)
    kind "formula": ``formula``, []<>P and <>[]P under Boolean connectives (spec/temporal.py); ``p``
    is None
    ``q`` is used by leads-to alone.
    """

    name: str
    kind: str
    p: Callable[[Any], Any] | None
    q: Callable[[Any], Any] | None = None
    doc: str = ""
    family: str | None = None  # the parameterised property this is one member of (Spec.leads_to over=)
    formula: Formula | None = None  # for kind "formula"

    def predicates(self) -> list[tuple[str, Callable[[Any], Any]]]:
        """Its state predicates, each with the label an error about it names."""
        if self.formula is not None:
            return [(f"property {self.name}: P{k}", p) for k, p in enumerate(self.formula.predicates(), 1)]
        out = [(f"property {self.name}: P", self.p)] if self.p is not None else []
        return out + ([(f"property {self.name}: Q", self.q)] if self.q is not None else [])


@dataclass
class Witness:
    """A behaviour the kernel allows, which the model must be able to show (a reachability check).

    A model can be wrong by forbidding as well as by allowing: an invariant "holds" vacuously if the
    model cannot reach the situation it is about. ``fn(t)`` is a state predicate; with ``action`` set,
    ``fn(s, t)`` is a predicate over the steps of that action (s the state before, t after).
    ``kernel`` is True for a kernel behaviour (it must be reachable in every configuration it is
    registered in); False for a precondition that makes some property non-vacuous (see
    ``Spec.nonvacuous``), which may be unreachable in a configuration that says so."""

    name: str
    fn: Callable[..., Any]
    doc: str = ""
    action: str | None = None
    kernel: bool = True


@dataclass(frozen=True)
class Refinement:
    """``Spec.refines``: the abstract spec, the mapping of states, and the two predicates a search checks
    (both read alike by every engine: they are built from the abstract spec's own actions)."""

    name: str
    abstract: Any  # Spec
    mapping: Callable[[Any], dict[str, Any]]
    doc: str = ""

    def __post_init__(self) -> None:
        # one function object each, so that the compiled engine finds them by identity
        object.__setattr__(self, "init_check", self.bad_init)
        object.__setattr__(self, "step_check", self.bad_step)

    def image(self, s: Any) -> Any:
        """The abstract state a concrete state maps to."""
        return self.abstract.State(**self.mapping(s))

    def _same(self, a: Any, b: Any) -> Any:
        return all_(eq(getattr(a, v), getattr(b, v)) for v in self.abstract.var_names)

    def bad_init(self, s: Any) -> Any:
        """An initial state whose image is no abstract initial state."""
        a = self.image(s)
        return not_(any_(self._same(a, a0) for a0 in self.abstract.init_states()))

    def bad_step(self, s: Any, t: Any) -> Any:
        """A step whose image is neither a stutter nor a step of an abstract action instance."""
        a, b = self.image(s), self.image(t)
        allowed = [self._same(a, b)]
        for inst in self.abstract.instances():
            for st in inst.steps(a):
                allowed.append(and_(st.guard, self._same(a._replace(**st.updates), b)))
        return not_(or_(*allowed))


@dataclass(frozen=True)
class Fairness:
    r"""WF_vars(A(p...)) or SF_vars(A(p...)); ``params=None`` means every instance, each separately.

    ``over`` names parameters quantified inside the condition: ``over=("S",)`` is ``\A c :
    SF_vars(\E S : A(c, S))``, one condition for the instances that differ only in S (fairness of a
    disjunction; every parameter: of the whole action). ``where(state, **args)`` keeps only the steps
    of those instances it is true for, in the state they leave: ``WF_vars(Return(c, alloc[c]))`` is
    ``over=("S",)`` with ``where=lambda s, c, S: eq(Subset.as_set(S), s.alloc[c])`` (fairness of an
    action whose argument is a state function). The liveness engine needs a Python bool on a concrete
    state; written with this module's operators (``eq``, ``and_``) ``where`` is also read on the
    symbolic state, which the TLA+ export prints (``returns_all(c, S) == alloc[c] = S``)."""

    kind: str  # "WF" or "SF"
    action: str
    params: tuple[tuple[str, Any], ...] | None = None
    over: tuple[str, ...] = ()
    where: Callable[..., Any] | None = None


@dataclass
class Instance:
    """A concrete action instance: the action with all parameters fixed."""

    index: int
    action: Action
    args: dict[str, Any]

    @property
    def label(self) -> str:
        if not self.args:
            return self.action.name
        shown = []
        for k, v in self.args.items():
            t = self.action.param_types.get(k)
            shown.append(f"{k}={t.show(v) if t is not None else v}")
        return f"{self.action.name}({', '.join(shown)})"

    def steps(self, s: Any) -> list[Step]:
        r = self.action.fn(s, **self.args)
        if isinstance(r, Step):
            return [r]
        if isinstance(r, (list, tuple)) and all(isinstance(x, Step) for x in r):
            return list(r)
        raise SpecError(
            f"action {self.label} returned {type(r).__name__}, expected when(...) or a list of them"
        )


@dataclass
class Spec:
    """A state machine: variables with Init, actions (Next is their disjunction), invariants."""

    name: str
    variables: list[Var] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    invariants: list[Predicate] = field(default_factory=list)
    constraint: Predicate | None = None
    fairness: list[Fairness] = field(default_factory=list)
    properties: list[Temporal] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    model: Any = None  # the model's own vocabulary object, for properties and auxiliary invariants
    # Interchangeable values: each entry is (base Enum, Enums that extend it). See symmetric().
    symmetries: list[tuple[Enum, tuple[Enum, ...]]] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)  # the kernel sources the actions cite
    # the tags of those whose code this configuration runs (None: every one); an action of several
    # designs cites each, and a finding rests only on the ones in use
    sources_in_use: set[str] | None = None
    # the module whose aux_invariants(spec) makes the safety invariants inductive (the Z3 proofs)
    lemmas: str | None = None
    witnesses: list[Witness] = field(default_factory=list)
    # actions that model the design's environment, not the design: see environment()
    environment: list[str] = field(default_factory=list)
    # property name -> the witnesses (preconditions) whose reachability makes its "holds" non-vacuous
    preconditions: dict[str, list[str]] = field(default_factory=dict)
    # abstract specs this one is checked to implement, each through a mapping of its states
    refinements: list[Refinement] = field(default_factory=list)
    # how "states generated" is counted: "steps" (one per enabled step) or "tlc" (as TLC does, one per
    # true disjunct and witness inside a guard: explorer/engines/tlc_count.py)
    counting: str = "steps"
    # a conjunct of Init relating variables (TLA+'s Init beyond each variable's own values): the initial
    # states are the product of the variables' initial values where it holds (Spec.initially)
    init_predicate: Predicate | None = None
    # bounded sequences (spec.values.seq_vars): the slots variable's name -> its declaration
    sequences: dict[str, SeqDecl] = field(default_factory=dict)
    _state_cls: Any = None
    _instances: list[Instance] | None = None

    # ---- building
    def var(self, name: str, type_: Type, init: Any, doc: str = "", any_of: bool = False) -> str:
        """Declare a variable. ``init`` is its initial value, or with ``any_of=True`` a list of them."""
        if not name.isidentifier() or name.startswith("_"):
            raise SpecError(f"spec {self.name}: variable name {name!r} is not a valid identifier")
        if any(v.name == name for v in self.variables):
            raise SpecError(f"spec {self.name}: variable {name} declared twice")
        inits = list(init) if any_of else [init]
        for v in inits:
            if not type_.contains(v):
                raise SpecError(f"spec {self.name}: initial value {v!r} of {name} is not in {type_!r}")
        self.variables.append(Var(name, type_, inits, doc))
        self._state_cls = None
        return name

    def action(self, /, **params: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: ``@spec.action(c=CPU, w=Item)``; a parameter ranges over an Enum, a pair
        ``(Enum, subset_of_its_values)``, or any iterable of concrete values. Any name is a parameter
        name, ``self`` included (positional-only here)."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            doms: dict[str, list[Any]] = {}
            types: dict[str, Type | None] = {}
            for k, v in params.items():
                if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], Type):
                    types[k], doms[k] = v[0], list(v[1])  # (Enum, some of its values): shown by name
                elif isinstance(v, Type):
                    types[k], doms[k] = v, list(v.values())
                else:
                    types[k], doms[k] = None, list(v)
            doc = (fn.__doc__ or "").strip()
            self.actions.append(Action(fn.__name__, fn, doms, types, doc, getattr(fn, "__cites__", ())))
            self._instances = None
            return fn

        return deco

    def invariant(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        self.invariants.append(Predicate(fn.__name__, fn, (fn.__doc__ or "").strip()))
        return fn

    def add_invariant(self, name: str, fn: Callable[[Any], Any], doc: str = "") -> None:
        self.invariants.append(Predicate(name, fn, doc or (fn.__doc__ or "").strip()))

    def initially(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Decorator: a predicate every initial state satisfies, over several variables
        (``terminationDetected \\in {FALSE, terminated}`` is ``implies(s.terminationDetected,
        terminated(s))`` beside the variables' own initial values)."""
        if self.init_predicate is not None:
            raise SpecError(f"spec {self.name}: a second initial predicate ({fn.__name__})")
        self.init_predicate = Predicate(fn.__name__, fn, (fn.__doc__ or "").strip())
        return fn

    def state_constraint(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        self.constraint = Predicate(fn.__name__, fn, (fn.__doc__ or "").strip())
        return fn

    def leads_to(
        self,
        name: str,
        p: Callable[..., Any],
        q: Callable[..., Any],
        doc: str = "",
        over: Params | None = None,
    ) -> None:
        r"""P ~> Q. ``over={"c": Clients}``: the family ``\A c \in Clients : P(c) ~> Q(c)``, p and q
        taking the state and the parameters; each member is checked (and reported) as ``name(c=...)``."""
        self._temporal(name, "leadsto", p, q, doc, over)

    def always_eventually(
        self, name: str, p: Callable[..., Any], doc: str = "", over: Params | None = None
    ) -> None:
        self._temporal(name, "alwayseventually", p, None, doc, over)

    def eventually_always(
        self, name: str, p: Callable[..., Any], doc: str = "", over: Params | None = None
    ) -> None:
        self._temporal(name, "eventuallyalways", p, None, doc, over)

    def eventually(self, name: str, p: Callable[..., Any], doc: str = "", over: Params | None = None) -> None:
        """<>P: every fair behaviour reaches a P state (``Termination == <>(pc = "Done")``)."""
        self._temporal(name, "eventually", p, None, doc, over)

    def formula(
        self, name: str, build: Callable[..., Any], doc: str = "", over: Params | None = None
    ) -> None:
        r"""A temporal formula nested under Boolean connectives (``spec/temporal.py``): ``build()``, or
        ``build(c=...)`` for each value of ``over``, returns it, e.g. ``t_implies(always_eventually(P),
        always_eventually(Q))`` for ``[]<>P => []<>Q``."""
        for label, args in self._family(name, over):
            f = build(**args)
            if not isinstance(f, Formula):
                raise SpecError(
                    f"property {label}: build returned {type(f).__name__}, not a temporal formula"
                )
            try:
                violations(f)  # refused when declared, not after a search: a normal form too large
            except FormulaError as e:
                raise SpecError(f"property {label}: {e}") from e
            family = name if over else None
            self.properties.append(Temporal(label, "formula", None, None, doc, family, f))

    def _temporal(
        self, name: str, kind: str, p: Callable, q: Callable | None, doc: str, over: Params | None
    ) -> None:
        for label, args in self._family(name, over):
            pa = functools.partial(p, **args) if over else p
            qa = functools.partial(q, **args) if over and q is not None else q
            self.properties.append(Temporal(label, kind, pa, qa, doc, family=name if over else None))

    @staticmethod
    def _family(name: str, over: Params | None) -> list[tuple[str, dict[str, Any]]]:
        """A property's members: (its name, the parameters' values), one per value of ``over``."""
        if not over:
            return [(name, {})]
        names, out = list(over), []
        for values in itertools.product(*(range(len(t)) for t in over.values())):
            shown = ", ".join(f"{k}={t.show(v)}" for (k, t), v in zip(over.items(), values, strict=True))
            out.append((f"{name}({shown})", dict(zip(names, values, strict=True))))
        return out

    def refines(
        self, name: str, abstract: Spec, mapping: Callable[[Any], dict[str, Any]], doc: str = ""
    ) -> None:
        """Declare that this spec implements ``abstract`` under ``mapping`` (a concrete state -> the
        abstract variables' values, built with this module's helpers): every initial state maps to an
        abstract initial state and every step to an abstract step or a stutter (TLA+'s ``Spec =>
        AbstractSpec!Spec`` for the safety part; the abstract spec's fairness is not checked)."""
        if any(r.name == name for r in self.refinements):
            raise SpecError(f"spec {self.name}: refinement {name} declared twice")
        self.refinements.append(Refinement(name, abstract, mapping, doc))

    def witness(
        self, name: str, fn: Callable[..., Any], doc: str = "", action: str | None = None, kernel: bool = True
    ) -> None:
        """Declare a reachability check (see ``Witness``)."""
        if any(w.name == name for w in self.witnesses):
            raise SpecError(f"spec {self.name}: witness {name} declared twice")
        self.witnesses.append(Witness(name, fn, doc or (fn.__doc__ or "").strip(), action, kernel))

    def nonvacuous(self, prop: str, *witnesses: str) -> None:
        """``prop`` holds non-vacuously only where every one of ``witnesses`` is reachable."""
        known = {w.name for w in self.witnesses}
        missing = [w for w in witnesses if w not in known]
        if missing:
            raise SpecError(f"spec {self.name}: nonvacuous({prop}) names unknown witness(es) {missing}")
        self.preconditions.setdefault(prop, []).extend(witnesses)

    def environment_actions(self, *actions: str) -> None:
        """Declare actions as the environment of the design: events that come from outside the kernel
        code under review (a prog run starting or making its helper call, a user-space syscall, a
        task exiting). They are never fair, and a liveness property is violated only by a fair cycle
        that takes none of them: a lasso that exists only because the environment repeats for ever
        (an endless storm of prog runs or syscalls) is not a hang of the design. The liveness checker
        reports such a lasso separately, as starvation by the environment."""
        for a in actions:
            if a not in self.environment:
                self.environment.append(a)

    def wf(
        self, action: str, /, over: Sequence[str] = (), where: Callable[..., Any] | None = None, **params: Any
    ) -> None:
        """WF_vars of each instance of action (or of those with params); see ``Fairness`` for over and
        where."""
        self.fairness.append(Fairness("WF", action, tuple(params.items()) or None, tuple(over), where))

    def sf(
        self, action: str, /, over: Sequence[str] = (), where: Callable[..., Any] | None = None, **params: Any
    ) -> None:
        self.fairness.append(Fairness("SF", action, tuple(params.items()) or None, tuple(over), where))

    # ---- reading
    def counts_like_tlc(self) -> bool:
        """Whether "states generated" is TLC's count (``counting``); an unknown mode is a SpecError."""
        if self.counting not in ("steps", "tlc"):
            raise SpecError(f"spec {self.name}: counting {self.counting!r} is none of steps, tlc")
        return self.counting == "tlc"

    @property
    def var_names(self) -> list[str]:
        return [v.name for v in self.variables]

    def var_type(self, name: str) -> Type:
        for v in self.variables:
            if v.name == name:
                return v.type
        raise SpecError(f"spec {self.name}: unknown variable {name}")

    @property
    def State(self) -> Any:  # noqa: N802 - a class
        if self._state_cls is None:
            if not self.variables:
                raise SpecError(f"spec {self.name} has no variables")
            self._state_cls = namedtuple("State", self.var_names)
        return self._state_cls

    def make_state(self, values: dict[str, Any]) -> Any:
        missing = [n for n in self.var_names if n not in values]
        if missing:
            raise SpecError(f"spec {self.name}: state lacks variable(s) {', '.join(missing)}")
        return self.State(**{n: values[n] for n in self.var_names})

    def init_states(self) -> list[Any]:
        cls = self.State
        states = [cls(*combo) for combo in itertools.product(*(v.init for v in self.variables))]
        p = self.init_predicate
        if p is None:
            return states
        out = []
        for s in states:
            ok = p.fn(s)
            if type(ok) is not bool:
                raise SpecError(f"initial predicate {p.name} returned {type(ok).__name__}, not a Boolean")
            if ok:
                out.append(s)
        return out

    def instances(self) -> list[Instance]:
        if self._instances is None:
            out: list[Instance] = []
            for a in self.actions:
                for args in a.instances():
                    out.append(Instance(len(out), a, args))
            self._instances = out
        return self._instances

    def symmetric(self, base: Enum, *extended: Enum) -> None:
        """Declare base's values interchangeable (TLC's SYMMETRY Permutations(base)): permuting them
        everywhere, in function domains and in values, maps Init to Init and steps to steps. An
        extended Enum starts with base's values (same names) and adds fixed ones ("none"). The Z3
        proofs use it to check one step per symmetry class, and verify the claim before relying on it
        (``explorer.symmetry``); BFS does not use it."""
        for e in extended:
            if e.names[: len(base)] != base.names:
                raise SpecError(f"symmetric({base.name}): {e.name} does not start with {base.name}'s values")
        self.symmetries.append((base, tuple(extended)))

    def invariant_named(self, name: str) -> Predicate:
        for p in self.invariants:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.invariants) or "none"
        raise SpecError(f"spec {self.name}: no invariant named {name} (known: {known})")

    def show_value(self, name: str, v: Any) -> str:
        return self.var_type(name).show(v)

    def check_step(self, inst: Instance, step: Step) -> None:
        """Type-check one enabled step's updates; raises SpecError naming the action and variable."""
        for k, v in step.updates.items():
            t = None
            for var in self.variables:
                if var.name == k:
                    t = var.type
                    break
            if t is None:
                raise SpecError(f"action {inst.label} updates unknown variable {k}")
            if not t.contains(v):
                raise SpecError(f"action {inst.label} sets {k} to {v!r}, outside {t!r}")


def halt_when(fn: Callable[..., Any], broken: Callable[[Any], Any]) -> Callable[..., Any]:
    """Wrap an action so that it is disabled in a state where ``broken(s)`` holds. The models use it
    for memory corruption (a use-after-free, a double llist_add): undefined behaviour, after which the
    model does not guess what the kernel does, so a behaviour halts (stutters) in its first corrupted
    state and later verdicts rest only on uncorrupted states."""

    def guarded(s: Any, **args: Any) -> Any:
        ok = not_(broken(s))
        if disabled(ok):
            return []
        r = fn(s, **args)
        if isinstance(r, Step):
            return r._replace(guard=and_(ok, r.guard))
        return [st._replace(guard=and_(ok, st.guard)) for st in r]

    guarded.__name__ = fn.__name__
    guarded.__doc__ = fn.__doc__
    return guarded


def successors(spec: Spec, s: Any) -> Iterable[tuple[Instance, Any]]:
    """Every (instance, next state) enabled in s, type-checked. The slow, simple reference path."""
    for inst in spec.instances():
        for step in inst.steps(s):
            if type(step.guard) is not bool:
                raise SpecError(f"action {inst.label}: guard is {type(step.guard).__name__}, not a Boolean")
            if step.guard:
                spec.check_step(inst, step)
                yield inst, s._replace(**step.updates)

"""TLA+'s set, sequence and CHOOSE idioms, built from the spec language's own primitives (issue 23).

Each operator here is a function of ``spec.lang`` values (``and_``, ``or_``, ``ite``, ``put``,
``select``, ``count``): it returns a plain Python value when its arguments are concrete (the Python
engine) and a Z3 term when they are symbolic (Z3, and the compiled engine, which prints the Z3 terms as
C), so every back-end reads it with no change. The TLA+ export prints a ``Set`` as a TLA+ set and a
sequence declared by ``seq_vars`` as one TLA+ sequence (``Append``, ``Tail``, ``Len``: it recognises the
updates these functions build), and ``choose``/``maximum`` as the ``IF`` chain they expand to; the
Promela export prints what every one expands to.

- **Sets** over a bounded domain are ``Set(domain)`` values (a Boolean per element, TLA+'s
  ``[domain -> BOOLEAN]`` read as a subset): ``member``, ``set_add``, ``set_remove``, ``union``,
  ``intersect``, ``difference``, ``subset``, ``cardinality``, ``set_of`` (``{x \\in D : P(x)}``),
  ``exists_in`` / ``forall_in`` (``\\E x \\in S : P(x)``).
- **Bounded sequences** are a ``Fn(Pos, T)`` of slots with a length ``Int(0, n)`` beside it (two
  state variables, declared by ``seq_vars``): ``seq_get`` (``s[i]``), ``seq_head``, ``seq_append`` and
  ``seq_tail`` (the updates of both variables, and the guard that the bound allows it).
- **CHOOSE** over an enumerated domain is deterministic, as TLC's: ``choose`` returns the first value
  in the domain's order that satisfies the predicate. TLA+ leaves ``CHOOSE`` over an empty choice
  undefined and TLC stops with an error; here the caller names what such a state gets (``otherwise``),
  so that the Z3 reading, which cannot stop, means the same. ``maximum`` and ``minimum`` of a non-empty
  list of integer expressions.
- **Sets of records**: a ``RecordSet`` is an Enum whose values are records (``Message == [type : {"1a"},
  bal : Ballot] \\cup ...``), for ``Set(Message)`` and action parameters; the TLA+ export prints its
  values as records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from spec.lang import (
    Enum,
    Fn,
    Int,
    SeqDecl,
    Spec,
    SpecError,
    Type,
    all_,
    and_,
    any_,
    count,
    implies,
    ite,
    not_,
    or_,
    put,
)

# --------------------------------------------------------------------------- sets (Set(domain) values)


def member(a: tuple, i: Any) -> Any:
    """i \\in a, for a concrete or state-valued element i."""
    if type(i) is int:
        return a[i]
    return or_(*[and_(i == k, x) for k, x in enumerate(a)])


def set_add(a: tuple, i: int) -> tuple:
    """a \\cup {i} (i concrete: an action parameter)."""
    return put(a, i, True)


def set_remove(a: tuple, i: int) -> tuple:
    """a \\ {i}."""
    return put(a, i, False)


def union(a: tuple, b: tuple) -> tuple:
    return tuple(or_(x, y) for x, y in zip(a, b, strict=True))


def intersect(a: tuple, b: tuple) -> tuple:
    return tuple(and_(x, y) for x, y in zip(a, b, strict=True))


def difference(a: tuple, b: tuple) -> tuple:
    """a \\ b."""
    return tuple(and_(x, not_(y)) for x, y in zip(a, b, strict=True))


def subset(a: tuple, b: tuple) -> Any:
    """a \\subseteq b."""
    return all_(implies(x, y) for x, y in zip(a, b, strict=True))


def cardinality(a: tuple) -> Any:
    """Cardinality(a)."""
    return count(a)


def set_of(domain: Enum, pred: Callable[[int], Any]) -> tuple:
    """{x \\in domain : pred(x)}."""
    return tuple(pred(x) for x in domain)


def exists_in(a: tuple, pred: Callable[[int], Any]) -> Any:
    """\\E x \\in a : pred(x)."""
    return any_(and_(x, pred(k)) for k, x in enumerate(a))


def forall_in(a: tuple, pred: Callable[[int], Any]) -> Any:
    """\\A x \\in a : pred(x)."""
    return all_(implies(x, pred(k)) for k, x in enumerate(a))


class PowerSet(Enum):
    """``SUBSET domain`` as an Enum, for an action parameter ``S \\in SUBSET D``: value k is the subset
    whose bitmask is k (0 the empty set). Its names are identifiers for the exports (``r1_r2``,
    ``empty``); traces show the sets (``{r1, r2}``)."""

    def __init__(self, domain: Enum) -> None:
        self.domain = domain
        n = len(domain)
        if n > 16:
            raise SpecError(f"SUBSET {domain.name}: {2**n} subsets are too many for an action parameter")
        names = ["_".join(domain.names[i] for i in range(n) if k >> i & 1) or "empty" for k in range(2**n)]
        super().__init__(f"SUBSET_{domain.name}", names)

    def as_set(self, k: int) -> tuple:
        """The subset k as a Set(domain) value."""
        return tuple(bool(k >> i & 1) for i in range(len(self.domain)))

    def show(self, v: Any) -> str:
        if not self.contains(v):
            return super().show(v)
        return "{" + ", ".join(self.domain.show(i) for i, x in enumerate(self.as_set(v)) if x) + "}"


def powerset(domain: Enum) -> PowerSet:
    """SUBSET domain (an action parameter's type)."""
    return PowerSet(domain)


class RecordSet(Enum):
    """A finite set of records as an Enum, one value per record, in the order given (TLA+'s ``Message ==
    [type : {"1a"}, bal : Ballot] \\cup [type : {"2a"}, bal : Ballot, val : Value]``): the type of a set
    of records (``Set(Message)``) or of an action parameter ``m \\in Message``. ``rows`` are the records
    as dicts (their fields may differ from record to record); a field's value is an int, a string, or
    (for a field named in ``enums``) a value of that Enum. ``fields(m)`` is record m's dict and
    ``where(type="1a", bal=0)`` the records with those fields. Text traces show the values' names (an
    identifier built from the fields); ITF writes each as its record (a JSON object) and the TLA+ export
    as ``[type |-> "1a", bal |-> 0]``, the set as the set of them."""

    def __init__(
        self, name: str, rows: Sequence[dict[str, Any]], enums: dict[str, Enum] | None = None
    ) -> None:
        self.rows = [dict(r) for r in rows]
        self.enums = dict(enums or {})
        bad = next((f for r in self.rows for f in r if not f.isidentifier()), None)
        if bad is not None:
            raise SpecError(f"RecordSet {name}: field {bad!r} is not an identifier")
        rows_items = [list(r.items()) for r in self.rows]
        super().__init__(name, _value_names(f"RecordSet {name}", "field", "m", rows_items, self.enums))

    def fields(self, m: int) -> dict[str, Any]:
        return self.rows[m]

    def where(self, **want: Any) -> list[int]:
        """{m \\in Records : m.f = x /\\ ...}: the values whose fields are these."""
        return [m for m, r in enumerate(self.rows) if all(f in r and r[f] == x for f, x in want.items())]


class TupleSet(Enum):
    """A finite set of tuples as an Enum, one value per tuple, in the order given (TLA+'s ``Ballot \\X
    Value``): an element is an int, a string, or (at a position named in ``enums``, 0-based) a value of
    that Enum. ``item(t)`` is tuple t. Text traces show the values' names (``t0_v1``); ITF writes each
    as its tuple (``{"#tup": [0, "v1"]}``) and the TLA+ export as ``<<0, "v1">>``."""

    def __init__(
        self,
        name: str,
        rows: Sequence[tuple],
        enums: dict[int, Enum] | None = None,
        filler: str | None = None,
    ) -> None:
        self.rows = [tuple(r) for r in rows]
        self.enums = dict(enums or {})
        rows_items = [list(enumerate(r)) for r in self.rows]
        names = _value_names(f"TupleSet {name}", "element", "t", rows_items, self.enums)
        # filler: one more value, no tuple, for the unused slots of a bounded sequence of these tuples
        # (seq_vars); the TLA+ export prints the sequence without them and refuses the filler elsewhere
        self.filler = None if filler is None else len(names)
        if filler is not None:
            if filler in names:
                raise SpecError(f"TupleSet {name}: the filler {filler!r} is also a tuple's name")
            names.append(filler)
        super().__init__(name, names)

    def item(self, t: int) -> tuple:
        if t == self.filler:
            raise SpecError(f"TupleSet {self.name}: {self.names[t]} is the filler, no tuple")
        return self.rows[t]

    def tuples(self) -> list[int]:
        """The values that are tuples: every value but the filler."""
        return [t for t in self if t != self.filler]


def _value_names(
    what: str, part: str, prefix: str, rows: list[list[tuple[Any, Any]]], enums: dict[Any, Enum]
) -> list[str]:
    """The Enum names of a RecordSet's or TupleSet's values (each row its (field or position, value)
    pairs), after checking every element: a value of the Enum ``enums`` names for its key, else an int
    or a string. A name is ``prefix`` and the elements' names joined by ``_`` (``m1a_0``, ``t0_v1``)."""
    names = []
    for items in rows:
        parts = []
        for k, x in items:
            e = enums.get(k)
            if e is not None and not e.contains(x):
                raise SpecError(f"{what}: {part} {k} = {x!r} is not a value of {e.name}")
            if e is None and type(x) not in (int, str):
                raise SpecError(f"{what}: {part} {k} = {x!r} is not an int or a string")
            parts.append(e.names[x] if e is not None else str(x))
        names.append(prefix + "_".join(p.replace("-", "m") for p in parts))
    return names


# --------------------------------------------------------------------------- CHOOSE, Maximum


def choose(domain: Iterable[int], pred: Callable[[int], Any], otherwise: Any) -> Any:
    """CHOOSE x \\in domain : pred(x), as TLC chooses: the first x in the domain's order. ``otherwise``
    is the value where no x satisfies pred (TLC stops with an error there)."""
    values = list(domain)
    conds = [pred(x) for x in values]
    if all(type(c) is bool for c in conds):
        return next((x for x, c in zip(values, conds, strict=True) if c), otherwise)
    r = otherwise
    for x, c in reversed(list(zip(values, conds, strict=True))):
        r = ite(c, x, r)
    return r


def maximum(xs: Sequence[Any]) -> Any:
    """The largest of a non-empty list of integer expressions."""
    if not xs:
        raise SpecError("maximum of an empty list")
    r = xs[0]
    for x in xs[1:]:
        r = ite(x > r, x, r)
    return r


def minimum(xs: Sequence[Any]) -> Any:
    """The smallest of a non-empty list of integer expressions."""
    if not xs:
        raise SpecError("minimum of an empty list")
    r = xs[0]
    for x in xs[1:]:
        r = ite(x < r, x, r)
    return r


# --------------------------------------------------------------------------- bounded sequences


def seq_vars(spec: Spec, name: str, elem: Type, bound: int, filler: Any, doc: str = "") -> Enum:
    """Declare a bounded sequence of ``elem`` (at most ``bound`` long, empty at Init): the slots
    ``name`` (Fn(Pos, elem), unused ones ``filler``, so that a state has one form) and its length
    ``name_len``. Returns the Pos Enum (positions 1..bound, as TLA+ numbers them)."""
    if bound < 1:
        raise SpecError(f"sequence {name}: bound {bound} < 1")
    pos = Enum(f"{name}_pos", [str(i) for i in range(1, bound + 1)])
    spec.var(name, Fn(pos, elem), tuple(filler for _ in pos), doc)
    spec.var(f"{name}_len", Int(0, bound), 0, f"Len({name})")
    spec.sequences[name] = SeqDecl(f"{name}_len", bound, filler)
    return pos


def seq_get(items: tuple, i: Any) -> Any:
    """s[i] for a 1-based position i (a constant or a state value)."""
    if type(i) is int:
        return items[i - 1]
    r = items[-1]
    for k in range(len(items) - 2, -1, -1):
        r = ite(i == k + 1, items[k], r)
    return r


def seq_head(items: tuple) -> Any:
    """Head(s): meaningful when the length is positive."""
    return items[0]


def seq_append(s: Any, name: str, x: Any) -> tuple[Any, dict[str, Any]]:
    """Append(s, x): (the guard that the bound allows it, the updates of ``name`` and ``name_len``)."""
    items, n = getattr(s, name), getattr(s, f"{name}_len")
    bound = len(items)
    new = tuple(ite(n == k, x, v) for k, v in enumerate(items))
    return n < bound, {name: new, f"{name}_len": ite(n < bound, n + 1, n)}


def seq_tail(s: Any, name: str, filler: Any) -> tuple[Any, dict[str, Any]]:
    """Tail(s): (the guard that s is not empty, the updates: every element moves one place forward and
    the freed last slot gets ``filler``)."""
    items, n = getattr(s, name), getattr(s, f"{name}_len")
    shifted = tuple(items[1:]) + (filler,)
    return n > 0, {name: shifted, f"{name}_len": ite(n > 0, n - 1, n)}

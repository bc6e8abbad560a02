"""The spec as a TLA+ module and its TLC configuration (``python -m explorer export-tla`` writes them).

The module is one that TLC checks with the same states, steps, invariants, deadlock check, fairness and
temporal properties as our own engines (each variable also carries an ``@type`` annotation for
Apalache's type checker; Apalache itself has not been run on the output).

How the module is obtained: the spec's actions are Python functions of concrete parameters, so there is
no symbolic reading of an action per parameter. Like the compiled engine
(``explorer/engines/compiled/codegen.py``) this module prints the Z3 terms of
``explorer.engines.smt.encoding.Encoding(spec).steps(s)``, one list of (guard, successor) pairs per
action *instance*, after ``z3.simplify``, over one leaf per state value (``flags[w0]`` becomes
``flags["w0"]``). Invariants, the state constraint and the temporal properties' predicates go through
``Encoding.pred``, as in the compiled engine. Nothing here knows a particular spec.

Choices, also stated in the generated file's header:

* Enum values are **strings of their names** (``"FREE"``, ``"cpu0"``): TLC and Apalache (type ``Str``)
  both accept them, traces stay readable, and an Enum that extends another (``CpuOrNone`` = ``CPU`` plus
  ``"none"``) shares its values by name, as the spec's ``symmetric`` declarations assume. Each Enum gets
  a set definition (``CPU == {"cpu0", "cpu1"}``). An order on Enum values (``s.x < S.B``) compares their
  positions through a function the module defines for that Enum (``SOrder[x] < 1``). A ``RecordSet``'s
  values are printed as their records (``[type |-> "1a", bal |-> 0]``), a ``TupleSet``'s as their tuples
  (``<<0, "v1">>``) and a ``PowerSet``'s as their sets (``{"r1", "r2"}``, its set ``SUBSET Resource``).
  The price: no
  arithmetic on Enum values; a term that needs it (a bit-vector ``+``, extract, ``int2bv``) is refused
  with an error that names the action, never guessed.
* A ``Fn(D, C)`` variable is a TLA+ function ``[D -> C]``, a ``Set(D)`` one a subset (``SUBSET D``,
  ``d \\in S``, ``(S \\ {a}) \\cup {b}``, ``Cardinality(S)`` for a count of its members); ``Int(lo, hi)`` is
  ``lo..hi``, ``Bool`` is ``BOOLEAN``. A bounded sequence (``spec.values.seq_vars``: slots and a length,
  two variables to the engines) is one TLA+ sequence: ``q[k]``, ``Len(q)``, ``q' = Append(q, x)`` and
  ``q' = Tail(q)`` where Z3 shows a step's new slots and length to be those under its guard, any other
  update ``[i \\in 1..n' |-> CASE i = 1 -> ... [] ...]``. ``TypeOK`` states all of it and is checked
  first: our engines stop with a type error where an enabled step leaves a type, TLC reports ``TypeOK``
  violated.
* One operator per action, its parameters those of the action: ``A(c, w) == \\/ <<c, w>> = <<"cpu0",
  "w0">> /\\ <the instance's steps> \\/ ...``, one disjunct per instance (labelled as in our traces; an
  instance whose every guard is FALSE is left out, with a comment), an instance with several steps a
  disjunction of them. Each step is its guard, then ``x' = [x EXCEPT !["k"] = e]`` for the function
  leaves it changes, ``x' = e`` for a changed plain variable, ``UNCHANGED`` for the rest. ``Next`` is
  ``\\E c \\in CPU, w \\in Item : A(c, w)`` for every action; the constants of an instance are spelled out
  because that is what the terms are (an instance cannot be read as a function of its parameters).
* Fairness: ``WF_vars(A(args))``/``SF_vars`` per instance, written ``\\A c \\in CPU : WF_vars(A(c))`` for
  a condition on every instance, as ``explorer.engines.liveness`` reads ``Fairness`` (``<A>_vars`` steps,
  enabled iff some step of the instance changes the state). A ``where`` filter is an operator of the
  action's parameters, conjoined with the action: ``\\A c \\in Client : WF_vars(\\E S \\in SUBSET
  Resource : returns_all(c, S) /\\ Return(c, S))``. Its body is ``where`` read on the symbolic state
  for each instance (``Encoding.pred``), printed as one formula of the parameters where putting each
  instance's values in place of the names gives that instance's formula (``alloc[c] = S``; a
  conjunction fixing every membership of a set reads as the set's value), else as one disjunct per
  instance guarded by its values, as an action's. A ``where`` with no symbolic reading (a Python
  ``if``/``==`` on a state value, a result that is no Boolean) is refused, naming it and why.
  ``Spec == Init /\\ [][Next]_vars /\\ Fairness``; the temporal properties are ``P ~> Q``, ``[]<>P``,
  ``<>[]P``, ``<>P`` and formulas of ``[]<>P`` and ``<>[]P`` (``[]<>P1 => []<>P2``), each predicate
  a definition of its own.
* The .cfg: ``SPECIFICATION Spec``, ``INVARIANT`` TypeOK and the config's invariants (all of the spec's
  by default), ``CONSTRAINT`` for a state constraint, ``PROPERTY`` for the temporal properties and
  ``CHECK_DEADLOCK`` as the config says (TRUE by default: our BFS checks deadlock, and so does TLC).
  The spec's symmetry declarations are not exported (TLC's SYMMETRY needs model values).

How a Z3 term is printed as a TLA+ expression is ``tla_printer.py``; this file lays out the module
and the .cfg. A term with no TLA+ reading raises ``ExportError`` (a ``SpecError``: one line naming the
action or predicate).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import z3

from explorer.cli_common import check_invariant_names
from explorer.engines.smt.encoding import Encoding, _fit, _leaves
from explorer.engines.smt.symbolic import ENUM_BITS
from explorer.outputs.export.tla_printer import (
    ADD,
    CMP,
    WIDTH,
    ExportError,
    Member,
    Slot,
    _int,
    _Printer,
    _simplify,
    as_term,
    enum_literal,
    holds_where,
    indented,
    junction,
    string,
    tla_values,
    value_text,
    wrapped,
)
from spec.lang import Bool, BoolType, Enum, Fairness, Fn, Int, RecordType, SetType, Spec, SpecError, Type
from spec.values import PowerSet, RecordSet, TupleSet, seq_append, seq_tail

# Reserved words of TLA+ (the proof language's included) and what the modules it may extend define
# (Integers; Sequences for a bounded sequence; FiniteSets where it prints Cardinality).
RESERVED = frozenset(
    """ASSUME ASSUMPTION AXIOM CASE CHOOSE CONSTANT CONSTANTS DOMAIN ELSE ENABLED EXCEPT EXTENDS IF IN
    INSTANCE LET LOCAL MODULE OTHER SUBSET THEN THEOREM UNCHANGED UNION VARIABLE VARIABLES WITH
    ACTION BY COROLLARY DEF DEFINE DEFS HAVE HIDE LAMBDA LEMMA NEW OBVIOUS OMITTED ONLY PICK PROOF
    PROPOSITION PROVE QED RECURSIVE STATE SUFFICES TAKE TEMPORAL USE WITNESS BOOLEAN TRUE FALSE STRING
    Nat Int Integers Naturals Sequences Seq Len Append Head Tail SubSeq SelectSeq FiniteSets Cardinality
    IsFiniteSet""".split()
)
_IDENT = re.compile(r"[A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*")


def is_identifier(name: str) -> bool:
    """A TLA+ name that this module may define: letters, digits and ``_`` with a letter, not reserved."""
    return (
        _IDENT.fullmatch(name) is not None
        and name not in RESERVED
        and not name.startswith(("WF_", "SF_"))
        and name.isascii()
    )


def module_name(stem: str) -> str:
    """A module name for a config file's stem: every character outside ``[A-Za-z0-9_]`` becomes ``_``."""
    name = re.sub(r"\W", "_", stem, flags=re.ASCII)
    return name if is_identifier(name) else f"M_{name}"


# --------------------------------------------------------------------------- names


class _Names:
    """The module's identifiers: the spec's own names are kept (and must be legal), helpers get fresh ones."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, name: str, what: str) -> str:
        if not is_identifier(name):
            raise ExportError(f"{what} {name!r} is no TLA+ identifier (or is a reserved word)")
        if name in self.used:
            raise ExportError(f"{what} {name!r} clashes with another name of the module")
        self.used.add(name)
        return name

    def fresh(self, base: str) -> str:
        base = re.sub(r"\W", "_", base, flags=re.ASCII)
        if not is_identifier(base):
            base = f"N_{base}"
        name, k = base, 1
        while name in self.used or not is_identifier(name):
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


# --------------------------------------------------------------------------- values and types


class _Types:
    """Every Enum of the spec, by identity, with its set's name in the module."""

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.sets: dict[int, str] = {}
        self.defs: list[tuple[str, Enum]] = []
        self.by_shape: dict[tuple[str, tuple[str, ...]], str] = {}
        self.orders: dict[str, str] = {}  # an Enum set's name -> its function from value to position

    def enum_set(self, e: Enum) -> str:
        key = id(e)
        if isinstance(e, PowerSet):  # its values print as sets: it is SUBSET of its domain's set
            return f"SUBSET {self.enum_set(e.domain)}"
        if key not in self.sets:
            shape = (e.name, tuple(e.names))
            name = self.by_shape.get(shape)  # two Enum objects with one name and one list: one set
            if name is None:
                name = self.names.fresh(e.name)
                self.by_shape[shape] = name
                self.defs.append((name, e))
            self.sets[key] = name
        return self.sets[key]

    def enum_order(self, e: Enum) -> str:
        """The name of the function from ``e``'s values to their positions (0, 1, ...), defined once
        in the module for the Enums whose values a term compares by order."""
        if isinstance(e, PowerSet):
            raise ExportError(f"an order on {e.name}'s values (subsets, by bitmask) has no TLA+ reading")
        name = self.enum_set(e)
        if name not in self.orders:
            self.orders[name] = self.names.fresh(f"{name}Order")
        return self.orders[name]

    def type_set(self, t: Type) -> str:
        if isinstance(t, BoolType):
            return "BOOLEAN"
        if isinstance(t, Int):
            return f"{_int(t.lo)}..{_int(t.hi)}"
        if isinstance(t, Enum):
            return self.enum_set(t)
        if isinstance(t, RecordType):
            return "[" + ", ".join(f"{f} : {self.type_set(ft)}" for f, ft in t.fields) + "]"
        if isinstance(t, SetType):
            return f"SUBSET {self.enum_set(t.domain)}"
        if isinstance(t, Fn):
            return f"[{self.enum_set(t.domain)} -> {self.type_set(t.codomain)}]"
        raise ExportError(f"type {t!r} has no TLA+ reading")


def apalache_type(t: Type) -> str:
    """Apalache's type of a variable (Snowcat syntax)."""
    if isinstance(t, BoolType):
        return "Bool"
    if isinstance(t, Int):
        return "Int"
    if isinstance(t, Enum):
        return _element_type(t)
    if isinstance(t, RecordType):
        return "{" + ", ".join(f"{f}: {apalache_type(ft)}" for f, ft in t.fields) + "}"
    if isinstance(t, SetType):
        return f"Set({_element_type(t.domain)})"
    if isinstance(t, Fn):
        return f"({_element_type(t.domain)} -> {apalache_type(t.codomain)})"
    raise ExportError(f"type {t!r} has no TLA+ reading")


def _element_type(e: Enum) -> str:
    """Str for an Enum's values; a record type for a RecordSet's (every field any of its records has:
    records of different fields would be Apalache variants, which these annotations do not write)."""
    if isinstance(e, PowerSet):
        return f"Set({_element_type(e.domain)})"
    if isinstance(e, TupleSet):
        return "<<" + ", ".join(_scalar_type(e, k, x) for k, x in enumerate(e.item(0))) + ">>"
    if not isinstance(e, RecordSet):
        return "Str"
    fields: dict[str, str] = {}
    for r in e.rows:
        for f, x in r.items():
            fields.setdefault(f, _scalar_type(e, f, x))
    return "{" + ", ".join(f"{f}: {ft}" for f, ft in fields.items()) + "}"


def _scalar_type(e: RecordSet | TupleSet, key: Any, x: Any) -> str:
    """A record field's or tuple element's type: Str for an Enum's value (printed as its name) or a
    string, Int for an int."""
    return "Str" if key in e.enums or isinstance(x, str) else "Int"


# --------------------------------------------------------------------------- the module


@dataclass
class Exported:
    """A TLA+ module and its TLC configuration, and the modules it instantiates (the abstract specs of
    its refinements: name -> text), written beside it."""

    name: str
    tla: str
    cfg: str
    instanced: dict[str, str] = field(default_factory=dict)

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / f"{self.name}.tla", directory / f"{self.name}.cfg"]
        paths[0].write_text(self.tla, encoding="utf-8")
        paths[1].write_text(self.cfg, encoding="utf-8")
        for name, text in self.instanced.items():
            paths.append(directory / f"{name}.tla")
            paths[-1].write_text(text, encoding="utf-8")
        return paths


def _ident_part(name: str) -> str:
    """name as a piece of a TLA+ identifier."""
    return re.sub(r"\W+", "_", name, flags=re.ASCII).strip("_") or "R"


def _same_terms(a: Any, b: Any) -> bool:
    """Whether a value is, leaf for leaf, the same Z3 terms as b (a state variable's)."""
    if isinstance(b, tuple):
        if not isinstance(a, tuple) or len(a) != len(b):
            return False
        return all(_same_terms(x, y) for x, y in zip(a, b, strict=True))
    return isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef) and a.eq(b)


def _same(post: tuple, expected: dict[int, Any]) -> z3.BoolRef:
    """Every variable at a position of ``expected`` has that value in ``post``."""
    pairs = [
        (a, b) for k, v in expected.items() for a, b in zip(_leaves((post[k],)), _leaves((v,)), strict=True)
    ]
    return z3.And([as_term(a == b) for a, b in pairs])


def _comment(text: str) -> list[str]:
    return [f"\\* {line}".rstrip() for line in text.splitlines()] if text else []


def _leaf_refs(
    spec: Spec, state: Any, types: _Types
) -> tuple[dict[int, tuple[str, Type]], dict[int, Member], dict[int, Slot]]:
    """Z3 constant id -> (TLA+ reference, type) for every leaf of the state terms, in Encoding's order;
    for the leaves that are a set's memberships, which set and element (to print Cardinality); for the
    leaves of a bounded sequence's slots, which sequence and slot. A sequence's slots are ``q[1]``, ...,
    ``q[n]`` and its length variable ``Len(q)`` (the printer reads a slot past the end as the engines do,
    ``_Printer.slot_text``), and an update of the two is printed as one (``_Module.seq_update``)."""
    out: list[tuple[str, Type]] = []
    members: dict[int, Member] = {}  # position in out -> the membership it is
    slots: dict[int, tuple[str, int, bool]] = {}  # position in out -> (sequence, k, the whole q[k])
    length_at: dict[str, int] = {}  # a sequence -> the position of its length in out
    length_of = {d.length: name for name, d in spec.sequences.items()}

    def walk(text: str, t: Type) -> None:
        if isinstance(t, RecordType):
            for f, ft in t.fields:
                walk(f"{text}.{f}", ft)
            return
        if isinstance(t, SetType):  # a TLA+ set: each element's leaf is its membership
            types.enum_set(t.domain)
            for i in t.domain:
                members[len(out)] = Member(text, t.domain, i)
                out.append((f"({enum_literal(t.domain, i)} \\in {text})", Bool))
            return
        if isinstance(t, Fn):
            types.enum_set(t.domain)
            for i in t.domain:
                walk(f"{text}[{enum_literal(t.domain, i)}]", t.codomain)
            return
        if isinstance(t, Enum):
            types.enum_set(t)
        out.append((text, t))

    for v in spec.variables:
        if v.name in spec.sequences:
            assert isinstance(v.type, Fn)
            for k in range(1, len(v.type.domain) + 1):
                first = len(out)
                walk(f"{v.name}[{k}]", v.type.codomain)
                whole = not isinstance(v.type.codomain, Fn)  # its leaf is q[k], not q[k].f or d \in q[k]
                slots.update((p, (v.name, k, whole)) for p in range(first, len(out)))
        elif v.name in length_of:
            length_at[length_of[v.name]] = len(out)
            out.append((f"Len({length_of[v.name]})", v.type))
        else:
            walk(v.name, v.type)
    consts = _leaves(tuple(state))
    if len(consts) != len(out):
        raise ExportError(f"spec {spec.name}: the Z3 state has {len(consts)} leaves, the types {len(out)}")
    refs = {c.get_id(): ref for c, ref in zip(consts, out, strict=True)}
    slot_of: dict[int, Slot] = {}
    for p, (name, k, whole) in slots.items():
        t = out[p][1]
        # the engines' value past the end, where it is a TLA+ value (a tuple's filler is none)
        filler = _filler_text(t, spec.sequences[name].filler) if whole else None
        slot_of[consts[p].get_id()] = Slot(name, k, consts[length_at[name]], out[p][0], filler)
    return refs, {consts[k].get_id(): m for k, m in members.items()}, slot_of


def _filler_text(t: Type, filler: Any) -> str | None:
    """A sequence's filler as TLA+, or None where it has no TLA+ value (a TupleSet's filler)."""
    try:
        return value_text(t, filler)
    except ExportError:
        return None


_STRING = re.compile(r'("(?:[^"\\]|\\.)*")')  # a TLA+ string literal, as a group for re.split


def _abstract(text: str, values: dict[str, str]) -> str:
    """text with each parameter value's literal (``"c1"``, ``{"r1"}``) replaced by the parameter's name
    (the first one of a value two parameters share); a guess, which ``_instantiate`` checks."""
    names: dict[str, str] = {}
    for name, v in values.items():
        names.setdefault(v, name)
    alternation = "|".join(re.escape(v) for v in sorted(names, key=len, reverse=True))
    return re.sub(rf'(?<![\w"])(?:{alternation})(?![\w"])', lambda m: names[m.group(0)], text)


def _instantiate(text: str, values: dict[str, str]) -> str:
    """text with each reference to a parameter (the name outside string literals, not a record field's
    ``.c`` or ``c |->``) replaced by the parameter's value, an atom: TLA+'s substitution of the value for
    the bound name."""
    ref = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, values)) + r")(?!\w)(?!\s*\|->)")
    parts = _STRING.split(text)
    return "".join(
        part if k % 2 else ref.sub(lambda m: values[m.group(1)], part) for k, part in enumerate(parts)
    )


class _Module:
    """Builds one module; see the module docstring for the layout."""

    def __init__(self, spec: Spec, name: str) -> None:
        self.spec = spec
        self.names = _Names()
        self.name = self.names.take(name, "module name")
        # a bounded sequence is one TLA+ variable: its length variable is Len(q), not a variable
        self.lengths = {d.length for d in spec.sequences.values()}
        self.variables = [v for v in spec.variables if v.name not in self.lengths]
        self.pos = {v.name: i for i, v in enumerate(spec.variables)}
        for v in self.variables:
            self.names.take(v.name, "variable")
        for a in spec.actions:
            self.names.take(a.name, "action")
        # Predicates keep their names where they are identifiers; EverySubmittedWorkRuns[w0] becomes
        # EverySubmittedWorkRuns_w0, with the spec's name in the definition's comment.
        self.pred_names: dict[str, str] = {}
        preds = [p.name for p in spec.invariants] + [tp.name for tp in spec.properties]
        preds += [spec.constraint.name] if spec.constraint is not None else []
        for n in preds:
            if is_identifier(n) and n not in self.names.used:
                self.pred_names[n] = self.names.take(n, "predicate")
        for n in preds:
            if n not in self.pred_names:
                self.pred_names[n] = self.names.fresh(re.sub(r"\W+", "_", n, flags=re.ASCII).strip("_"))
        self.types = _Types(self.names)
        self.enc = Encoding(spec)
        self.s0 = self.enc.state(0)
        self.keep = [self.s0]  # the leaf constants' ids below stay valid while the terms live
        self.leaves, self.members, self.slots = _leaf_refs(spec, self.s0, self.types)
        # what holds in every state TLC evaluates a term in, for the printer's reading of slots
        self.background = [self.enc.type_ok(self.s0)] if self.slots else []
        for q, d in spec.sequences.items():
            self.background.append(self.cleared(q, self.s0[self.pos[q]], self.s0[self.pos[d.length]]))
        self.extends = ["Integers", "Sequences"] if spec.sequences else ["Integers"]
        self.vars = self.names.fresh("vars")
        self.type_ok = self.names.fresh("TypeOK" if "TypeOK" not in self.names.used else "VarTypesOK")
        self.init = self.names.fresh("Init")
        self.next = self.names.fresh("Next")
        self.fair = self.names.fresh("Fairness")
        self.spec_name = self.names.fresh("Spec")
        self.bound: list[str] = []  # the names of function arguments in values, by depth
        for a in spec.actions:  # the Enum sets of the parameters' domains
            for t in a.param_types.values():
                if isinstance(t, Enum):
                    self.types.enum_set(t)
        # Parameter names are bound in each action (and fairness condition) alone, so two actions may
        # use the same one; a name that is a module-level definition is renamed.
        self.params: dict[str, dict[str, str]] = {}
        bound_names: set[str] = set()
        for a in spec.actions:
            ps: dict[str, str] = {}
            for k in a.params:
                if k in bound_names or (is_identifier(k) and k not in self.names.used):
                    ps[k] = k
                else:
                    ps[k] = self.names.fresh(k)
                self.names.used.add(ps[k])
                bound_names.add(ps[k])
            self.params[a.name] = ps

    # ---- values
    def fn_value(self, t: Type, v: Any, depth: int = 0) -> str:
        """A concrete value of type t; a function's argument is named by its nesting depth."""
        if not isinstance(t, Fn):
            return value_text(t, v)
        if isinstance(t, RecordType):
            fields = zip(t.fields, v, strict=True)
            return "[" + ", ".join(f"{f} |-> {self.fn_value(ft, x, depth)}" for (f, ft), x in fields) + "]"
        if isinstance(t, SetType):
            return "{" + ", ".join(enum_literal(t.domain, i) for i, x in enumerate(v) if x) + "}"
        while len(self.bound) <= depth:
            self.bound.append(self.names.fresh("x"))
        x = self.bound[depth]
        dom = self.types.enum_set(t.domain)
        parts = [self.fn_value(t.codomain, e, depth + 1) for e in v]
        if all(p == parts[0] for p in parts):
            return f"[{x} \\in {dom} |-> {parts[0]}]"
        arms = " [] ".join(f"{x} = {enum_literal(t.domain, i)} -> {p}" for i, p in enumerate(parts))
        return f"[{x} \\in {dom} |-> CASE {arms}]"

    def param_value(self, action: Any, k: str, v: Any) -> str:
        t = action.param_types.get(k)
        if isinstance(t, Enum):
            return enum_literal(t, v)
        if t is not None:
            return value_text(t, v)
        if type(v) is bool:
            return "TRUE" if v else "FALSE"
        if type(v) is int:
            return _int(v)
        if type(v) is str:
            return string(v)
        raise ExportError(f"action {action.name}: the parameter value {k}={v!r} has no TLA+ reading")

    def param_domain(self, action: Any, k: str) -> str:
        t = action.param_types.get(k)
        values = action.params[k]
        if isinstance(t, Enum) and list(values) == list(t.values()):
            return self.types.enum_set(t)
        return "{" + ", ".join(self.param_value(action, k, v) for v in values) + "}"

    def printer(self, where: str) -> _Printer:
        return _Printer(
            self.leaves, where, self.types.enum_order, self.members, self.extends, self.slots, self.background
        )

    # ---- predicates
    def predicate(self, fn: Callable[[Any], Any], what: str, branching: bool = False) -> list[str]:
        """A state predicate's lines; ``branching`` where TLC evaluates it as an action (Init's)."""
        term = _simplify(self.enc.pred(fn, self.s0, what))
        self.keep.append(term)
        pr = self.printer(what)
        pr.branching = branching
        items = self.filter_items(term, pr)  # a set's every membership: its value
        return items[0] if len(items) == 1 else junction("/\\", items)

    @staticmethod
    def define(name: str, doc: str, lines: Sequence[str]) -> list[str]:
        """``name == body`` (on one line if it fits one, else below, indented), after the doc comment."""
        out = _comment(doc)
        if len(lines) == 1:
            return [*out, f"{name} == {lines[0]}", ""]
        return [*out, f"{name} ==", *indented(lines, 4), ""]

    # ---- actions
    def step_items(self, st: Any, where: str) -> list[list[str]] | None:
        """A step as the items of a conjunction: its guard's conjuncts, then its updates; None if the
        guard is FALSE."""
        pr = self.printer(where)
        guard = _simplify(st.guard)
        self.keep.append(guard)
        if z3.is_false(guard):
            return None
        items: list[list[str]] = []
        if not z3.is_true(guard):  # TLC evaluates them in order, then the updates where all hold
            pr.branching = True
            for g in guard.children() if z3.is_and(guard) else [guard]:
                items.append(pr.block(g))
                pr.facts.append(g)
            pr.branching = False
        unchanged: list[str] = []
        for var, pre, post in zip(self.spec.variables, self.s0, st.post, strict=True):
            if var.name in self.lengths:
                continue  # printed with its sequence
            if var.name in self.spec.sequences:
                upd = self.seq_update(var, st, pr, where)
            else:
                upd = self.update(var.name, var.type, pre, post, pr, where)
            if upd is None:
                unchanged.append(var.name)
            else:
                items.append(upd)
        if unchanged:
            items.append(wrapped("UNCHANGED <<", unchanged, ">>"))
        return items

    def update(self, name: str, t: Type, pre: Any, post: Any, pr: _Printer, where: str) -> list[str] | None:
        """``x' = ...`` (lines) for a variable the step changes; None when every leaf stays as it was."""
        if isinstance(t, SetType):
            if not isinstance(post, tuple) or len(post) != len(t.domain):
                raise ExportError(f"{where}: {name} is set to a value of the wrong shape")
            expr = self.set_update(name, t, pre, post, pr)
            return None if expr is None else [f"{name}' = {expr}"]
        if isinstance(t, Fn):
            if not isinstance(post, tuple):
                raise ExportError(f"{where}: {name} is set to a value of the wrong shape")
            changes: list[str] = []
            self.fn_changes(t, pre, post, "", changes, pr, where)
            if not changes:
                return None
            one = f"{name}' = [{name} EXCEPT {', '.join(changes)}]"
            if len(changes) == 1 or len(one) <= WIDTH:
                return [one]
            head = f"{name}' = [{name} EXCEPT "
            pad = " " * len(head)
            last = len(changes) - 1
            return [
                (head if k == 0 else pad) + c + ("]" if k == last else ",") for k, c in enumerate(changes)
            ]
        if isinstance(post, tuple):
            raise ExportError(f"{where}: {name} is set to a value of the wrong shape")
        post = _simplify(post)
        self.keep.append(post)
        if isinstance(post, z3.ExprRef) and post.eq(pre):
            return None
        return [f"{name}' = {self.leaf_value(t, post, pr)}"]

    def seq_update(self, var: Any, st: Any, pr: _Printer, where: str) -> list[str] | None:
        """``q' = Append(q, x)`` or ``q' = Tail(q)`` where the step's guard implies what TLA+'s operator
        needs (Len(q) < bound, Len(q) > 0) and the new slots and length are the operator's (Z3 shows
        both), else ``q' = [i \\in 1..n' |-> CASE ...]``; None when neither the slots nor the length
        change. A step that leaves a value in a slot past the new length is refused: the engines count
        that slot as part of the state, a TLA+ sequence has no such slot."""
        name, decl = var.name, self.spec.sequences[var.name]
        i, j = self.pos[name], self.pos[decl.length]
        post = [_simplify(x) for x in st.post[i]] + [_simplify(st.post[j])]
        self.keep.append(post)
        pre = [*self.s0[i], self.s0[j]]
        if all(isinstance(b, z3.ExprRef) and b.eq(a) for a, b in zip(pre, post, strict=True)):
            return None
        # every state the step starts from is in its type (TypeOK) and has the filler past each
        # sequence's length (Init does, and every step keeps it: the check below)
        facts = [st.guard, *self.background]
        first = st.post[i][0]
        if z3.is_app_of(first, z3.Z3_OP_ITE):  # Append builds slot 1 as IF Len(q) = 0 THEN x ELSE q[1]
            x = first.arg(1)
            room, upd = seq_append(self.s0, name, x)
            if holds_where(facts, z3.And(as_term(room), _same(st.post, self.fitted(upd)))):
                return [f"{name}' = Append({name}, {self.leaf_value(var.type.codomain, _simplify(x), pr)})"]
        nonempty, upd = seq_tail(self.s0, name, decl.filler)
        if holds_where(facts, z3.And(as_term(nonempty), _same(st.post, self.fitted(upd)))):
            return [f"{name}' = Tail({name})"]
        if not holds_where(facts, self.cleared(name, st.post[i], st.post[j])):
            raise ExportError(
                f"{where}: {name} keeps a value in a slot past its new length, where the engines count it"
                " as part of the state and a TLA+ sequence has no slot: set it to the filler (as seq_tail"
                " does)"
            )
        # [i \in 1..n' |-> CASE i = 1 -> slot 1 [] ...]: TLC evaluates only the slots inside the new
        # length (a tuple of all of them would read the old sequence past its end)
        if not self.bound:
            self.bound.append(self.names.fresh("x"))
        index = self.bound[0]
        arms = []
        for k, x in enumerate(post[:-1], 1):
            with pr.assuming(post[-1] >= k):  # TLC evaluates slot k of the new value only there
                if not pr.implied(z3.BoolVal(False)):  # else the step never makes it that long
                    arms.append(f"{index} = {k} -> {self.leaf_value(var.type.codomain, x, pr)}")
        if not arms:
            return [f"{name}' = <<>>"]
        return [f"{name}' = [{index} \\in 1..{pr.wrap(post[-1], ADD)} |-> CASE {' [] '.join(arms)}]"]

    def cleared(self, name: str, slots: tuple, length: Any) -> z3.BoolRef:
        """Every slot of sequence ``name`` past ``length`` holds the filler."""
        filler = _fit(self.spec.sequences[name].filler, self.s0[self.pos[name]][0])
        return z3.And([z3.Implies(length < k, as_term(x == filler)) for k, x in enumerate(slots, 1)])

    def fitted(self, updates: dict[str, Any]) -> dict[int, Any]:
        """Updates by variable position, in the variables' sorts (as Encoding.steps fits them)."""
        return {self.pos[k]: _fit(v, self.s0[self.pos[k]]) for k, v in updates.items()}

    def fn_changes(
        self, t: Fn, pre: tuple, post: tuple, path: str, out: list[str], pr: _Printer, where: str
    ) -> None:
        if len(post) != len(t.domain) or len(pre) != len(t.domain):
            raise ExportError(f"{where}: a function value of the wrong shape")
        for i, (a, b) in enumerate(zip(pre, post, strict=True)):
            if isinstance(t, RecordType):
                here = f"{path}.{t.fields[i][0]}"
            else:
                here = f"{path}[{enum_literal(t.domain, i)}]"
            if isinstance(t.at(i), SetType):
                if not isinstance(b, tuple) or len(b) != len(a):
                    raise ExportError(f"{where}: a set value of the wrong shape")
                expr = self.set_update("@", t.at(i), a, b, pr)  # type: ignore[arg-type]
                if expr is not None:
                    out.append(f"!{here} = {expr}")
                continue
            if isinstance(t.at(i), Fn):
                if not isinstance(b, tuple):
                    raise ExportError(f"{where}: a function value of the wrong shape")
                self.fn_changes(t.at(i), a, b, here, out, pr, where)  # type: ignore[arg-type]
                continue
            if isinstance(b, tuple):
                raise ExportError(f"{where}: a function value of the wrong shape")
            b = _simplify(b)
            self.keep.append(b)
            if isinstance(b, z3.ExprRef) and b.eq(a):
                continue
            out.append(f"!{here} = {self.leaf_value(t.at(i), b, pr)}")

    def set_update(self, base: str, t: SetType, pre: tuple, post: tuple, pr: _Printer) -> str | None:
        """The new value of a set whose old value is ``base`` (``@`` inside an EXCEPT), from its
        elements' new memberships: ``(base \\ {removed}) \\cup {added} \\cup (IF c THEN {d} ELSE {})``;
        None when no membership changes."""
        added, removed, maybe = [], [], []
        for i, (a, b) in enumerate(zip(pre, post, strict=True)):
            b = _simplify(b)
            self.keep.append(b)
            if isinstance(b, z3.ExprRef) and b.eq(a):
                continue
            d = enum_literal(t.domain, i)
            if b is True or (isinstance(b, z3.ExprRef) and z3.is_true(b)):
                added.append(d)
            elif b is False or (isinstance(b, z3.ExprRef) and z3.is_false(b)):
                removed.append(d)
            else:
                removed.append(d)
                maybe.append(f"(IF {pr.expr(b, None)[0]} THEN {{{d}}} ELSE {{}})")
        if not (added or removed):
            return None
        expr = f"({base} \\ {{{', '.join(removed)}}})" if removed else base
        if added:
            expr += f" \\cup {{{', '.join(added)}}}"
        for m in maybe:
            expr += f" \\cup {m}"
        return expr

    @staticmethod
    def leaf_value(t: Type, v: Any, pr: _Printer) -> str:
        """A new value, as the right side of ``x' =`` or ``![k] =`` (in parentheses unless it binds
        tighter than ``=``: ``x' = x \\/ y`` would read as ``(x' = x) \\/ y``)."""
        if isinstance(t, Enum) and type(v) is int:
            return enum_literal(t, v)
        text, prec = pr.expr(v, t if isinstance(t, Enum) else None)
        return text if prec > CMP else f"({text})"

    def action_defs(self) -> tuple[list[str], list[str]]:
        """The action operators and Next's disjuncts."""
        steps_of: dict[int, list[Any]] = {}
        steps = self.enc.steps(self.s0)
        self.keep.append(steps)
        for st in steps:
            steps_of.setdefault(st.inst.index, []).append(st)
        out: list[str] = []
        nxt: list[str] = []
        for a in self.spec.actions:
            params = self.params[a.name]
            head = f"{a.name}({', '.join(params.values())})" if params else a.name
            arms: list[list[str]] = []
            labels: list[str] = []
            never: list[str] = []
            for inst in (i for i in self.spec.instances() if i.action is a):
                where = f"action {inst.label}"
                found = [self.step_items(st, where) for st in steps_of.get(inst.index, [])]
                bodies = [b for b in found if b is not None]
                if not bodies:
                    never.append(inst.label)
                    continue
                steps_ = junction("\\/", [junction("/\\", b) if b else ["TRUE"] for b in bodies])
                if params:
                    items = [[self.param_test(a, inst.args)], *(bodies[0] if len(bodies) == 1 else [steps_])]
                    arms.append(junction("/\\", items))
                else:
                    arms.append(steps_)
                labels.append(inst.label)
            out += _comment(a.doc)
            out += [f"\\* never enabled (every guard is FALSE): {lbl}" for lbl in never]
            if not arms:
                out.append(f"{head} == FALSE")
            elif params:
                out += [f"{head} ==", *indented(junction("\\/", arms, labels), 4)]
            else:
                out += [f"{head} ==", *indented(arms[0], 4)]
            out.append("")
            if params:
                binds = ", ".join(f"{p} \\in {self.param_domain(a, k)}" for k, p in params.items())
                nxt.append(f"\\E {binds} : {head}")
            else:
                nxt.append(head)
        return out, nxt

    # ---- fairness
    def fairness(self) -> tuple[list[str], list[str]]:
        """The definitions the conditions use (a where filter's operator each) and the conditions."""
        defs: list[str] = []
        out: list[str] = []
        for f in self.spec.fairness:
            cond, lines = self.fairness_condition(f)
            defs += lines
            out.append(cond)
        return defs, out

    def fairness_condition(self, f: Fairness) -> tuple[str, list[str]]:
        """The condition, and the definition of its where filter's operator (none without one)."""
        if f.kind not in ("WF", "SF"):
            raise ExportError(f"spec {self.spec.name}: fairness kind {f.kind!r} is not WF or SF")
        a = next((x for x in self.spec.actions if x.name == f.action), None)
        if a is None:
            raise ExportError(f"spec {self.spec.name}: {f.kind} names unknown action {f.action}")
        fixed: dict[str, Any] = {}
        for k, v in f.params or ():
            if k not in a.params:
                raise ExportError(f"spec {self.spec.name}: {f.kind}({f.action}) names unknown parameter {k}")
            t = a.param_types.get(k)
            if isinstance(v, str) and isinstance(t, Enum) and v in t.names:
                v = t.names.index(v)
            fixed[k] = v
        unknown = [k for k in f.over if k not in a.params]
        if unknown:
            raise ExportError(
                f"spec {self.spec.name}: {f.kind}({f.action}) over names unknown parameter(s) {unknown}"
            )
        args: list[str] = []
        binds: list[str] = []
        inner: list[str] = []  # over: quantified inside the condition, \A c : SF_vars(\E S : A(c, S))
        for k in a.params:
            if k in fixed:
                args.append(self.param_value(a, k, fixed[k]))
            else:
                p = self.params[a.name][k]
                (inner if k in f.over else binds).append(f"{p} \\in {self.param_domain(a, k)}")
                args.append(p)
        call = "(" + ", ".join(args) + ")" if args else ""
        step = f"{a.name}{call}"
        lines: list[str] = []
        if f.where is not None:
            name, lines = self.where_filter(f, a, fixed)
            if name is not None:  # \A c : WF_vars(\E S : W(c, S) /\ Return(c, S))
                step = f"{name}{call} /\\ {step}"
        if inner:
            step = f"\\E {', '.join(inner)} : {step}"
        cond = f"{f.kind}_{self.vars}({step})"
        return (f"\\A {', '.join(binds)} : {cond}" if binds else cond), lines

    def where_filter(self, f: Fairness, a: Any, fixed: dict[str, Any]) -> tuple[str | None, list[str]]:
        """A fairness condition's where filter as an operator of the action's parameters, ``W(c, S) ==
        ...``: ``where`` read on the symbolic state for each instance of the condition, printed as one
        formula of the parameters where every instance's formula is that one with its values in place
        (``alloc[c] = S``), else one disjunct per instance guarded by its parameter values, as an
        action's. Its name and definition; no name where it is TRUE for every instance."""
        assert f.where is not None
        fname = getattr(f.where, "__name__", "where")
        refused = (
            f"spec {self.spec.name}: {f.kind}({f.action}) keeps only the steps where {fname} holds, a Python"
            " function of the state the export cannot print"
        )
        insts = [
            i
            for i in self.spec.instances()
            if i.action is a and all(i.args[k] == v for k, v in fixed.items())
        ]
        bodies: list[list[str]] = []
        for inst in insts:
            what = f"{fname} on {inst.label}"
            try:
                term = self.enc.pred(lambda s, args=inst.args: f.where(s, **args), self.s0, what)
            except SpecError as e:
                raise ExportError(f"{refused}: {e}") from e
            term = _simplify(term)
            self.keep.append(term)
            pr = self.printer(f"fairness {f.kind}({f.action}): {what}")
            pr.branching = True  # inside WF_vars(W /\ A), evaluated as an action
            bodies.append(junction("/\\", self.filter_items(term, pr)))
        params = self.params[a.name]
        general = self.generalize(a, insts, ["\n".join(b) for b in bodies])
        if general == "TRUE":
            return None, []
        if general is not None:
            body = general.split("\n")
        else:
            arms = [
                junction("/\\", [[self.param_test(a, inst.args)]] + ([b] if b != ["TRUE"] else []))
                for inst, b in zip(insts, bodies, strict=True)
                if b != ["FALSE"]
            ]
            body = junction("\\/", arms) if arms else ["FALSE"]
        name = self.names.fresh(fname if is_identifier(fname) else f"{a.name}_where")
        head = f"{name}({', '.join(params.values())})" if params else name
        doc = f"{f.kind}({f.action}) counts only the steps from states where {fname} holds"
        first = (f.where.__doc__ or "").strip().split("\n")[0]
        doc = textwrap.fill(f"{doc}: {first}" if first else doc, WIDTH - 3, break_on_hyphens=False)
        return name, self.define(head, doc, body)

    def filter_items(self, term: Any, pr: _Printer) -> list[list[str]]:
        """A Boolean term as the items of a conjunction, the conjuncts that fix every membership of one
        set read as that set's value (``alloc["c1"] = {"r1"}`` for ``"r1" \\in alloc["c1"] /\\ ~("r2"
        \\in alloc["c1"])``, the same given TypeOK)."""
        kids = term.children() if z3.is_and(term) else [term]
        order: list[Any] = []  # a kid, or the text of a set some kids are memberships in
        groups: dict[str, list[tuple[Any, int, bool]]] = {}
        domains: dict[str, Enum] = {}
        for k in kids:
            positive = not z3.is_not(k)
            leaf = k if positive else k.arg(0)
            m = self.members.get(leaf.get_id()) if z3.is_const(leaf) else None
            if m is None:
                order.append(k)
                continue
            text, dom, i = m
            if text not in groups:
                groups[text], domains[text] = [], dom
                order.append(text)
            groups[text].append((k, i, positive))
        items: list[list[str]] = []
        for x in order:
            if not isinstance(x, str):
                items.append(pr.block(x))
                pr.facts.append(x)  # TLC evaluates the next conjunct only where this one holds
                continue
            dom, members = domains[x], groups[x]
            if sorted(i for _, i, _ in members) == list(range(len(dom))):
                holds = {i: pos for _, i, pos in members}
                elements = ", ".join(enum_literal(dom, i) for i in range(len(dom)) if holds[i])
                items.append([f"{x} = {{{elements}}}"])
            else:
                items += [pr.block(k) for k, _, _ in members]
        return items

    def generalize(self, a: Any, insts: Sequence[Any], texts: Sequence[str]) -> str | None:
        """One text of the parameters' names that is each instance's text with that instance's values
        in place of the names (tried from the instances' texts with their values replaced by the names);
        None if there is none (or a value is no atom: ``-1`` in place of ``c`` in ``c % 2``)."""
        params = self.params[a.name]
        values = [{params[k]: self.param_value(a, k, v) for k, v in i.args.items()} for i in insts]
        if not texts or any(v.startswith("-") for vs in values for v in vs.values()):
            return None
        tried: set[str] = set()
        for text, vs in zip(texts, values, strict=True):
            candidate = _abstract(text, vs)
            if candidate in tried:
                continue
            if all(_instantiate(candidate, ws) == t for t, ws in zip(texts, values, strict=True)):
                return candidate
            tried.add(candidate)
            if len(tried) >= 8:
                break
        return None

    def param_test(self, a: Any, args: dict[str, Any]) -> str:
        """``c = "c1"`` or ``<<c, S>> = <<"c1", {"r1"}>>``: an instance's parameter values."""
        names = list(self.params[a.name].values())
        vals = [self.param_value(a, k, args[k]) for k in a.params]
        if len(vals) == 1:
            return f"{names[0]} = {vals[0]}"
        return f"<<{', '.join(names)}>> = <<{', '.join(vals)}>>"

    # ---- the whole file
    def build(
        self,
        invariants: Sequence[str] | None,
        deadlock: bool,
        properties: bool,
        header: Sequence[str],
    ) -> Exported:
        spec = self.spec
        body: list[str] = []
        # actions and predicates first: they register the Enums their terms use
        actions, nxt = self.action_defs()
        invs = [p for p in spec.invariants if invariants is None or p.name in invariants]
        inv_defs: list[str] = []
        for p in spec.invariants:
            inv_defs += self.define(
                self.tla_name(p.name), self.doc(p.name, p.doc), self.predicate(p.fn, f"invariant {p.name}")
            )
        constraint: list[str] = []
        if spec.constraint is not None:
            c = spec.constraint
            where = f"state constraint {c.name}"
            constraint = self.define(
                self.tla_name(c.name), self.doc(c.name, c.doc), self.predicate(c.fn, where)
            )
        props: list[str] = []
        for tp in spec.properties if properties else []:
            props += self.temporal(tp)
        instanced: dict[str, str] = {}
        refinements: list[str] = []  # the properties that state them
        for r in spec.refinements if properties else []:
            lines, prop, module = self.refinement(r)
            props += lines
            refinements.append(prop)
            instanced[module.name] = module.tla
        fair_defs, fair = self.fairness()

        body.append(f"---------------------------- MODULE {self.name} ----------------------------")
        body += [f"\\* {ln}".rstrip() for ln in header]
        body += [f"EXTENDS {', '.join(self.extends)}", ""]
        for name, e in self.types.defs:
            body.append(f"{name} == {{{', '.join(enum_literal(e, i) for i in tla_values(e))}}}")
        for name, e in self.types.defs:
            if name in self.types.orders:
                arms = " [] ".join(f"x = {enum_literal(e, i)} -> {i}" for i in tla_values(e))
                body.append(f"{self.types.orders[name]} == [x \\in {name} |-> CASE {arms}]")
        if self.types.defs:
            body.append("")
        for v in self.variables:
            body += _comment(v.doc)
            body += [f"\\* @type: {self.apalache_type(v)};", f"VARIABLE {v.name}"]
        body.append("")
        body += wrapped(f"{self.vars} == <<", [v.name for v in self.variables], ">>")
        body.append("")
        body.append(
            "\\* The variables' types: our engines stop with a type error where TLC finds this violated."
        )
        body.append(f"{self.type_ok} ==")
        for v in self.variables:
            body += self.type_ok_items(v)
        body.append("")
        body.append(f"{self.init} ==")
        for v in self.variables:
            if v.name in spec.sequences:
                body.append(f"    /\\ {self.seq_init(v)}")
                continue
            vals = [self.fn_value(v.type, x) for x in v.init]
            rhs = f"= {vals[0]}" if len(vals) == 1 else "\\in {" + ", ".join(vals) + "}"
            body.append(f"    /\\ {v.name} {rhs}")
        if spec.init_predicate is not None:  # Spec.initially: a conjunct relating the variables
            p = spec.init_predicate
            lines = self.predicate(p.fn, f"initial predicate {p.name}", branching=True)
            body += _comment(p.doc) + [f"    /\\ {lines[0]}"] + [f"       {line}" for line in lines[1:]]
        body.append("")
        body += actions
        body.append(f"{self.next} ==")
        body += [f"    \\/ {n}" for n in nxt] or ["    FALSE"]
        body.append("")
        body += inv_defs + constraint + fair_defs
        body.append(f"{self.fair} ==")
        body += [f"    /\\ {c}" for c in fair] or ["    TRUE"]
        body.append("")
        body.append(f"{self.spec_name} == {self.init} /\\ [][{self.next}]_{self.vars} /\\ {self.fair}")
        body.append("")
        body += props
        body.append("=" * 77)
        cfg = [f"\\* TLC configuration of {self.name}.tla (generated, as the module)", ""]
        cfg.append(f"SPECIFICATION {self.spec_name}")
        cfg.append("INVARIANT")
        cfg += [f"    {n}" for n in [self.type_ok, *(self.pred_names[p.name] for p in invs)]]
        if spec.constraint is not None:
            cfg.append(f"CONSTRAINT {self.pred_names[spec.constraint.name]}")
        if properties and (spec.properties or refinements):
            cfg.append("PROPERTY")
            cfg += [f"    {self.pred_names[tp.name]}" for tp in spec.properties]
            cfg += [f"    {prop}" for prop in refinements]
        cfg.append(f"CHECK_DEADLOCK {'TRUE' if deadlock else 'FALSE'}")
        return Exported(self.name, "\n".join(body) + "\n", "\n".join(cfg) + "\n", instanced)

    def apalache_type(self, v: Any) -> str:
        if v.name in self.spec.sequences:
            return f"Seq({apalache_type(v.type.codomain)})"
        return apalache_type(v.type)

    def type_ok_items(self, v: Any) -> list[str]:
        decl = self.spec.sequences.get(v.name)
        if decl is None:
            return [f"    /\\ {v.name} \\in {self.types.type_set(v.type)}"]
        elems = self.types.type_set(v.type.codomain)
        return [f"    /\\ {v.name} \\in Seq({elems})", f"    /\\ Len({v.name}) <= {decl.bound}"]

    def seq_init(self, v: Any) -> str:
        """``q = <<>>``: seq_vars starts every sequence empty (its slots all the filler, its length 0)."""
        decl = self.spec.sequences[v.name]
        length = self.spec.variables[self.pos[decl.length]]
        if length.init != [0] or v.init != [tuple(decl.filler for _ in v.init[0])]:
            raise ExportError(f"sequence {v.name}: an initial value other than <<>> has no TLA+ reading here")
        return f"{v.name} = <<>>"

    def refinement(self, r: Any) -> tuple[list[str], str, Exported]:
        """``Spec.refines`` as TLA+: the abstract spec a module of its own, instantiated with the
        mapping (``A == INSTANCE Abstract WITH v <- e, ...``), and the safety part of ``Spec =>
        A!Spec`` as a property, ``A!Init /\\ [][A!Next]_A!vars`` (the abstract fairness is not
        checked, as ``explorer/engines/refinement.py`` does not)."""
        where = f"refinement {r.name}"
        abstract = _Module(r.abstract, self.names.fresh(f"{self.name}_{_ident_part(r.name)}"))
        header = [f"The abstract spec of {self.name}'s refinement {r.name}."]
        module = abstract.build(None, False, False, header)
        inst = self.names.fresh(f"{_ident_part(r.name)}_Abstract")
        prop = self.names.fresh(_ident_part(r.name))
        values = r.mapping(self.s0)
        self.keep.append(values)
        pr = self.printer(where)
        withs = [f"{v.name} <- {self.value_expr(v.type, values[v.name], pr)}" for v in r.abstract.variables]
        out = _comment(f"{r.name}: {r.doc}" if r.doc else r.name)
        out += wrapped(f"{inst} == INSTANCE {module.name} WITH ", withs, "")
        out += [f"{prop} == {inst}!{abstract.init} /\\ [][{inst}!{abstract.next}]_{inst}!{abstract.vars}", ""]
        return out, prop, module

    def value_expr(self, t: Type, v: Any, pr: _Printer, depth: int = 0) -> str:
        """A value of type t over the state (a refinement mapping's): a variable's name where it is that
        variable's whole value, else built element by element."""
        for var, x in zip(self.spec.variables, self.s0, strict=True):
            if _same_terms(v, x):
                return var.name
        if isinstance(t, RecordType):
            parts = [
                f"{f} |-> {self.value_expr(ft, x, pr, depth)}" for (f, ft), x in zip(t.fields, v, strict=True)
            ]
            return "[" + ", ".join(parts) + "]"
        if isinstance(t, Fn):
            while len(self.bound) <= depth:
                self.bound.append(self.names.fresh("x"))
            x, dom = self.bound[depth], self.types.enum_set(t.domain)
            if isinstance(t, SetType):
                if all(type(m) is bool for m in v):
                    return self.fn_value(t, v)
                parts = [self.leaf_value(Bool, _simplify(m), pr) for m in v]
                arms = " [] ".join(f"{x} = {enum_literal(t.domain, i)} -> {p}" for i, p in enumerate(parts))
                return f"{{{x} \\in {dom} : CASE {arms}}}"
            parts = [self.value_expr(t.at(i), e, pr, depth + 1) for i, e in enumerate(v)]
            if all(p == parts[0] for p in parts):
                return f"[{x} \\in {dom} |-> {parts[0]}]"
            arms = " [] ".join(f"{x} = {enum_literal(t.domain, i)} -> {p}" for i, p in enumerate(parts))
            return f"[{x} \\in {dom} |-> CASE {arms}]"
        if isinstance(t, Enum) and isinstance(v, z3.ArithRef):
            # an Enum value the mapping computed as an integer term (ite(c, 1, 0)): as the Encoding fits
            # an update, into the Enum's bit-vector sort, whose numerals the printer names
            v = _fit(v, z3.BitVec("_enum", self.enc.widths.get(id(t), ENUM_BITS)))
        return self.leaf_value(t, _simplify(v), pr)

    def temporal(self, tp: Any) -> list[str]:
        name = self.pred_names[tp.name]
        if tp.kind == "formula":  # each predicate a definition, name_P1, name_P2, ...
            out: list[str] = []
            defined: dict[int, str] = {}
            for k, (_label, fn) in enumerate(tp.predicates(), 1):
                defined[id(fn)] = self.names.fresh(f"{name}_P{k}")
                out += self.define(
                    defined[id(fn)], "", self.predicate(fn, f"temporal property {tp.name} (P{k})")
                )
            formula = tp.formula.text(lambda fn: defined[id(fn)])
            return out + self.define(name, self.doc(tp.name, tp.doc), [formula])
        p_name = self.names.fresh(f"{name}_P")
        out = self.define(p_name, "", self.predicate(tp.p, f"temporal property {tp.name} (P)"))
        if tp.kind == "eventually":
            formula = f"<>{p_name}"
        elif tp.kind == "leadsto":
            if tp.q is None:
                raise ExportError(f"temporal property {tp.name}: leads-to without Q")
            q_name = self.names.fresh(f"{name}_Q")
            out += self.define(q_name, "", self.predicate(tp.q, f"temporal property {tp.name} (Q)"))
            formula = f"{p_name} ~> {q_name}"
        elif tp.kind == "alwayseventually":
            formula = f"[]<>{p_name}"
        elif tp.kind == "eventuallyalways":
            formula = f"<>[]{p_name}"
        else:
            raise ExportError(f"temporal property {tp.name}: kind {tp.kind!r} has no TLA+ reading")
        return out + self.define(name, self.doc(tp.name, tp.doc), [formula])

    def tla_name(self, name: str) -> str:
        return self.pred_names[name]

    def doc(self, name: str, doc: str) -> str:
        """A predicate's comment: its doc, after the spec's name of it where the module's differs."""
        if self.pred_names[name] == name:
            return doc
        return f"{name}: {doc}" if doc else name


def export(
    spec: Spec,
    name: str,
    *,
    invariants: Sequence[str] | None = None,
    deadlock: bool = True,
    properties: bool = True,
    source: str = "",
) -> Exported:
    """The TLA+ module ``name`` and its .cfg for ``spec``: the ``invariants`` named (default: all of the
    spec's; every one is defined in the module either way), deadlock checked or not, the temporal
    properties included or not; ``source`` is a line for the header (where the spec came from)."""
    if invariants is not None:
        check_invariant_names(spec, invariants)
    header = [
        f"Generated by explorer.export_tla from spec {spec.name!r}: rebuilt from the spec, do not edit."
    ]
    if source:
        header += textwrap.wrap(f"From {source}", WIDTH - 3, subsequent_indent="    ", break_on_hyphens=False)
    header += [
        "The same Z3 terms as the compiled engine (explorer/compiled/codegen.py), printed as TLA+:",
        '- Enum values are strings of their names ("FREE", "cpu0"); each Enum is a set definition below',
        "  (an order on an Enum's values compares their positions, EOrder[x] < EOrder[y]).",
        "- Fn(D, C) variables are functions [D -> C], Set(D) ones subsets of D, a bounded sequence's",
        "  slots and length one sequence (Append, Tail, Len); TypeOK states every variable's type.",
        "- one operator per action, with the action's parameters: a disjunction over its instances, each",
        "  guarded by its parameter values and labelled as in our traces, spelling out the guard and the",
        "  updates of that instance (EXCEPT for the changed function entries, UNCHANGED for the rest).",
        "- fairness per instance (WF_vars/SF_vars of A(args)), as explorer.liveness reads the spec's; a",
        "  where filter is an operator W(args) of the same parameters, WF_vars(W(args) /\\ A(args)).",
        "TLC finds the distinct states our engines do; its 'states generated' is ours in TLC's counting",
        "(a successor per true disjunct of a guard; tlc-check compares the two). The spec's symmetry",
        "declarations are not exported.",
    ]
    if spec.constraint is not None:
        header += [
            "TLC checks the invariants also on a successor the state constraint excludes (without counting",
            "or expanding it); our engines do not look at such a successor at all.",
        ]
    return _Module(spec, name).build(invariants, deadlock, properties, header)

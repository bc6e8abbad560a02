"""Z3 terms printed as TLA+ expressions, for the module ``tla.py`` lays out.

A term is a simplified Z3 term over the leaves of one symbolic state (``flags[w0]`` is printed
``flags["w0"]``). Enum values are strings of their names, so a bit-vector term is printed as the Enum
its leaves range over; an order on Enum values compares their positions (``SOrder[x] < SOrder[y]``,
with ``SOrder`` a function the module defines), and arithmetic on Enum values is refused; integer
arithmetic and comparisons are TLA+'s. Parentheses go only where TLA+'s precedence needs them (or a
reader would). Lists of conjuncts and disjuncts are printed as TLA+'s bulleted lists (``junction``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import z3

from spec.lang import BoolType, Enum, Fn, Int, SpecError, Type
from spec.values import PowerSet, RecordSet, TupleSet


class ExportError(SpecError):
    """The spec (or one of its terms) has no TLA+ reading; the message names what and where."""


def string(text: str) -> str:
    """A TLA+ string literal."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _int(v: int) -> str:
    return str(v) if v >= 0 else f"-{-v}"


def enum_literal(e: Enum, v: int) -> str:
    """An Enum value as its name's string, a RecordSet's value as its record, a TupleSet's as its tuple,
    a PowerSet's as its set (``S \\in SUBSET D``); a value outside the Enum as a string outside its set
    (a comparison with it is false and a variable set to it violates TypeOK, as in our engines)."""
    if not 0 <= v < len(e.names):
        return string(f"{e.name}?{v}")
    if isinstance(e, RecordSet):
        return "[" + ", ".join(f"{f} |-> {_element(e.enums.get(f), x)}" for f, x in e.fields(v).items()) + "]"
    if isinstance(e, PowerSet):
        return "{" + ", ".join(enum_literal(e.domain, i) for i, x in enumerate(e.as_set(v)) if x) + "}"
    if isinstance(e, TupleSet):
        if v == e.filler:
            raise ExportError(
                f"{e.name}'s value {e.names[v]} is the filler of a sequence's unused slots, no tuple: it has"
                " no TLA+ value (the export prints the sequence without those slots)"
            )
        return "<<" + ", ".join(_element(e.enums.get(k), x) for k, x in enumerate(e.item(v))) + ">>"
    return string(e.names[v])


def tla_values(e: Enum) -> list[int]:
    """The values of e that its set in the module holds: all of them, but a TupleSet's filler."""
    return e.tuples() if isinstance(e, TupleSet) else list(e)


def _element(e: Enum | None, x: Any) -> str:
    """A record's field or a tuple's element: a value of Enum e, or a plain int or string."""
    if e is not None:
        return enum_literal(e, x)
    return string(x) if isinstance(x, str) else _int(x)


def value_text(t: Type, v: Any) -> str:
    """A concrete value of a type other than Fn (as the spec stores it) in TLA+."""
    if isinstance(t, BoolType):
        return "TRUE" if v else "FALSE"
    if isinstance(t, Int):
        return _int(int(v))
    if isinstance(t, Enum):
        return enum_literal(t, v)
    if isinstance(t, Fn):
        raise AssertionError("functions go through _Module.fn_value")
    raise ExportError(f"type {t!r} has no TLA+ reading")


# precedence of what a printed piece is, to put parentheses only where TLA+ needs them (or a reader would)
ATOM, PREFIX_MINUS, MUL, ADD, CMP, NOT, JUNCT, IFF, IMPLIES, IFTHEN = 100, 12, 13, 10, 5, 4, 3, 2, 1, 0


_CMP = {
    z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">",
}  # fmt: skip


# ~(x <= y) is x > y, on the integers and on Enum positions alike
_NEGATED = {"<=": ">", "<": ">=", ">=": "<", ">": "<="}


# An order on Enum values (``s.x < S.B``) compares their positions in the Enum: Python's ``<`` on
# a bit-vector is signed, and Enum values are small non-negative numbers, so signed and unsigned agree
_BV_ORDER = {
    z3.Z3_OP_ULEQ: "<=", z3.Z3_OP_ULT: "<", z3.Z3_OP_UGEQ: ">=", z3.Z3_OP_UGT: ">",
    z3.Z3_OP_SLEQ: "<=", z3.Z3_OP_SLT: "<", z3.Z3_OP_SGEQ: ">=", z3.Z3_OP_SGT: ">",
}  # fmt: skip


_BV_OPS_REFUSED = {
    z3.Z3_OP_BADD, z3.Z3_OP_BSUB, z3.Z3_OP_BMUL, z3.Z3_OP_BNEG, z3.Z3_OP_EXTRACT, z3.Z3_OP_CONCAT,
    z3.Z3_OP_INT2BV, z3.Z3_OP_BV2INT,
}  # fmt: skip


def as_term(x: Any) -> z3.BoolRef:
    """A Boolean as a Z3 term (a Python bool where a spec's helper answered on constants)."""
    return x if isinstance(x, z3.ExprRef) else z3.BoolVal(bool(x))


def holds_where(facts: Sequence[Any], claim: Any) -> bool:
    """Z3 shows claim true in every state where all facts hold (unknown counts as not shown)."""
    solver = z3.Solver()
    solver.set(timeout=10_000)
    solver.add(*(as_term(f) for f in facts))
    solver.add(z3.Not(as_term(claim)))
    return solver.check() == z3.unsat


class Member(NamedTuple):
    """A leaf that is the membership of element ``index`` of ``domain`` in the set variable (or entry)
    ``set_text`` (``("r1" \\in alloc["c1"])`` is ``alloc["c1"]``, Resource, 0)."""

    set_text: str
    domain: Enum
    index: int


class Slot(NamedTuple):
    """A leaf of slot ``k`` (from 1) of the bounded sequence ``name`` of length term ``length``: its
    text (``q[2]``, ``q[2].f``) and the filler's (None where it has no TLA+ value, a TupleSet's, or
    the leaf is a part of a slot)."""

    name: str
    k: int
    length: Any
    text: str
    filler: str | None


class _Printer:
    """Prints simplified Z3 terms over the state's leaves as TLA+ expressions.

    A sequence's slot prints as ``q[k]`` where the facts TLC has established before evaluating it
    (``background``, and the conjuncts to its left, the disjuncts to its left false, an IF's condition:
    TLC evaluates left to right and stops early) imply ``k <= Len(q)``; elsewhere as ``(IF k <= Len(q)
    THEN q[k] ELSE filler)``, which is what the engines read there (TLC stops with an error on ``q[k]``
    past the end). In an action or Init TLC evaluates every disjunct of a ``\\/`` at the level of its
    ``/\\`` and ``\\/`` (one branch each, as it counts states generated), so the disjuncts to the left
    tell nothing there (``branching``)."""

    def __init__(
        self,
        leaves: dict[int, tuple[str, Type]],
        where: str,
        order: Callable[[Enum], str] | None = None,
        members: dict[int, Member] | None = None,
        extends: list[str] | None = None,
        slots: dict[int, Slot] | None = None,
        background: Sequence[Any] = (),
    ) -> None:
        self.leaves = leaves  # Z3 constant id -> (TLA+ text, leaf type)
        self.where = where
        self.order = order  # an Enum -> the name of the module's function from its values to positions
        self.members = members or {}  # the leaves that are set memberships (for Cardinality)
        self.extends = extends  # the module's EXTENDS list: FiniteSets is added where Cardinality is used
        self.slots = slots or {}  # the leaves that are a sequence's slots
        self.background = list(background)  # what holds in every state (TypeOK, fillers past the end)
        self.facts: list[Any] = []  # what TLC has found true before the term being printed
        # at an action's (or Init's) level of /\, \/ and IF: TLC evaluates each disjunct of a \/ there
        # as a branch of its own, not after the ones to its left failed
        self.branching = False
        self._implied: dict[tuple[int, tuple[Any, ...]], bool] = {}  # implied's answers

    def fail(self, why: str) -> ExportError:
        return ExportError(f"{self.where}: {why}")

    def enum_of(self, t: z3.ExprRef) -> Enum | None:
        """The Enum a bit-vector term ranges over, read from the leaves it is made of."""
        if z3.is_const(t):
            leaf = self.leaves.get(t.get_id())
            return leaf[1] if leaf is not None and isinstance(leaf[1], Enum) else None
        if z3.is_app_of(t, z3.Z3_OP_ITE):
            _, a, b = t.children()
            return self.enum_of(a) or self.enum_of(b)
        return None

    def text(self, t: Any, want: Enum | None = None) -> str:
        return self.expr(t, want)[0]

    def wrap(self, t: z3.ExprRef, above: int, want: Enum | None = None) -> str:
        """t as an operand of an operator of precedence ``above``: in parentheses unless it binds tighter."""
        s, p = self.expr(t, want)
        return s if p > above else f"({s})"

    def expr(self, t: Any, want: Enum | None = None) -> tuple[str, int]:
        if type(t) is bool:
            return ("TRUE" if t else "FALSE"), ATOM
        if type(t) is int:
            if want is not None:
                return enum_literal(want, t), ATOM
            return _int(t), (ATOM if t >= 0 else PREFIX_MINUS)
        if not isinstance(t, z3.ExprRef):
            raise self.fail(f"the value {t!r} has no TLA+ reading")
        if z3.is_true(t):
            return "TRUE", ATOM
        if z3.is_false(t):
            return "FALSE", ATOM
        if z3.is_int_value(t):
            v = t.as_long()
            return _int(v), (ATOM if v >= 0 else PREFIX_MINUS)
        if z3.is_bv_value(t):
            if want is None:
                raise self.fail(f"cannot tell which Enum the constant {t} belongs to")
            return enum_literal(want, t.as_long()), ATOM
        if z3.is_const(t):
            leaf = self.leaves.get(t.get_id())
            if leaf is None:
                raise self.fail(f"the term {_short(t)} is no leaf of this state")
            if want is not None and isinstance(leaf[1], Enum) and not same_values(leaf[1], want):
                raise self.fail(
                    f"{leaf[0]} (a {leaf[1].name}) is compared with or stored as a {want.name} by number;"
                    " as strings of their names they would differ"
                )
            slot = self.slots.get(t.get_id())
            return (leaf[0] if slot is None else self.slot_text(slot)), ATOM
        op = t.decl().kind()
        kids = t.children()
        if self.branching and op not in (z3.Z3_OP_AND, z3.Z3_OP_OR, z3.Z3_OP_ITE):
            self.branching = False  # below an action's /\ and \/ TLC evaluates a Boolean value
            try:
                return self.expr(t, want)
            finally:
                self.branching = True
        if op in (z3.Z3_OP_AND, z3.Z3_OP_OR):
            if not kids:
                return ("TRUE" if op == z3.Z3_OP_AND else "FALSE"), ATOM
            sep = " /\\ " if op == z3.Z3_OP_AND else " \\/ "
            return sep.join(self.in_order(kids, op == z3.Z3_OP_AND, lambda k: self.wrap(k, JUNCT))), JUNCT
        if op == z3.Z3_OP_NOT:
            (a,) = kids
            if z3.is_app_of(a, z3.Z3_OP_EQ) and not z3.is_bool(a.arg(0)):
                x, y = self.operands(a)
                return f"{x} # {y}", CMP
            if a.decl().kind() in _CMP:  # ~(x <= y) is x > y on the integers
                flip = _NEGATED[_CMP[a.decl().kind()]]
                return f"{self.wrap(a.arg(0), CMP)} {flip} {self.wrap(a.arg(1), CMP)}", CMP
            if a.decl().kind() in _BV_ORDER:
                return self.enum_order(a, _NEGATED[_BV_ORDER[a.decl().kind()]]), CMP
            s, p = self.expr(a)
            return (f"~{s}" if p == ATOM else f"~({s})"), NOT
        if op in (z3.Z3_OP_EQ, z3.Z3_OP_IFF):
            if z3.is_bool(kids[0]):
                return f"{self.wrap(kids[0], IFF)} <=> {self.wrap(kids[1], IFF)}", IFF
            x, y = self.operands(t)
            return f"{x} = {y}", CMP
        if op == z3.Z3_OP_DISTINCT:
            if z3.is_bool(kids[0]):
                raise self.fail(f"no TLA+ for distinct Booleans (in {_short(t)})")
            want_d = next((e for e in map(self.enum_of, kids) if e is not None), None)
            texts = [self.wrap(k, CMP, want_d) for k in kids]
            pairs = [f"{a} # {b}" for i, a in enumerate(texts) for b in texts[i + 1 :]]
            return " /\\ ".join(pairs), (CMP if len(pairs) == 1 else JUNCT)
        if op == z3.Z3_OP_IMPLIES:
            a = self.wrap(kids[0], IMPLIES)
            with self.assuming(kids[0]):
                return f"{a} => {self.wrap(kids[1], IMPLIES)}", IMPLIES
        if op == z3.Z3_OP_XOR:
            return f"~({self.wrap(kids[0], IFF)} <=> {self.wrap(kids[1], IFF)})", NOT
        if op == z3.Z3_OP_ITE:
            c, a, b = kids
            if want is None and z3.is_bv(t):
                want = self.enum_of(t)
            if self.slots and self.implied(c):  # an arm TLC cannot reach here (a sequence's slots
                return self.expr(a, want)  # past its length, in the printer's reading of them)
            if self.slots and self.implied(z3.Not(c)):
                return self.expr(b, want)
            branching, self.branching = self.branching, False
            cond = self.text(c)
            self.branching = branching
            with self.assuming(c):
                then = self.text(a, want)
            with self.assuming(z3.Not(c)):
                other = self.text(b, want)
            return f"IF {cond} THEN {then} ELSE {other}", IFTHEN
        if op in _CMP:
            return f"{self.wrap(kids[0], CMP)} {_CMP[op]} {self.wrap(kids[1], CMP)}", CMP
        if op == z3.Z3_OP_ADD:
            return self.sum(kids), ADD
        if op == z3.Z3_OP_SUB:
            return " - ".join([self.wrap(kids[0], ADD - 1)] + [self.wrap(k, ADD) for k in kids[1:]]), ADD
        if op == z3.Z3_OP_MUL:
            if len(kids) == 2 and z3.is_int_value(kids[0]) and kids[0].as_long() == -1:
                return f"-{self.wrap(kids[1], PREFIX_MINUS)}", PREFIX_MINUS
            return " * ".join(self.wrap(k, MUL) for k in kids), MUL
        if op == z3.Z3_OP_UMINUS:
            return f"-{self.wrap(kids[0], PREFIX_MINUS)}", PREFIX_MINUS
        if op in (z3.Z3_OP_IDIV, z3.Z3_OP_MOD):
            if not (z3.is_int_value(kids[1]) and kids[1].as_long() > 0):
                raise self.fail(f"no TLA+ for {t.decl().name()} by a divisor that is not a positive constant")
            sym = "\\div" if op == z3.Z3_OP_IDIV else "%"
            return f"{self.wrap(kids[0], MUL)} {sym} {self.wrap(kids[1], MUL)}", MUL
        if op in _BV_ORDER:
            return self.enum_order(t, _BV_ORDER[op]), CMP
        if op in _BV_OPS_REFUSED:
            raise self.fail(
                f"no TLA+ for the operator {t.decl().name()} (in {_short(t)}): Enum values are exported as"
                " strings, which have no arithmetic"
            )
        raise self.fail(f"no TLA+ for the operator {t.decl().name()} (in {_short(t)})")

    def enum_order(self, t: z3.ExprRef, symbol: str) -> str:
        """``a < b`` on Enum values as a comparison of their positions (``SOrder[x] < 1``)."""
        a, b = t.children()
        e = self.enum_of(a) or self.enum_of(b)
        if e is None or self.order is None:
            raise self.fail(f"cannot tell which Enum the terms of {_short(t)} range over")
        table = self.order(e)

        def position(k: z3.ExprRef) -> str:
            if z3.is_bv_value(k):
                return _int(k.as_long())
            return f"{table}[{self.text(k, e)}]"

        return f"{position(a)} {symbol} {position(b)}"

    def operands(self, eq: z3.ExprRef) -> tuple[str, str]:
        a, b = eq.children()
        want = self.enum_of(a) or self.enum_of(b) if z3.is_bv(a) else None
        if z3.is_bv(a) and want is None:
            raise self.fail(f"cannot tell which Enum the terms of {_short(eq)} range over")
        return self.wrap(a, CMP, want), self.wrap(b, CMP, want)

    def sum(self, kids: Sequence[z3.ExprRef]) -> str:
        """a + b, with a term -c or -1 * x written as a subtraction; Cardinality(S) where the terms
        count the memberships of every element of a set S (spec.values.cardinality)."""
        card = self.cardinality(kids)
        if card is not None:
            return card
        out = self.wrap(kids[0], ADD - 1)
        for k in kids[1:]:
            neg = self.negated(k)
            out += f" - {self.wrap(neg, ADD)}" if neg is not None else f" + {self.wrap(k, ADD)}"
        return out

    def cardinality(self, kids: Sequence[z3.ExprRef]) -> str | None:
        """``Cardinality(S)`` if kids are IF d \\in S THEN 1 ELSE 0 for every element d of S, else None."""
        seen: list[Member] = []
        for k in kids:
            if not (z3.is_app_of(k, z3.Z3_OP_ITE) and z3.is_const(k.arg(0))):
                return None
            one, zero = k.arg(1), k.arg(2)
            if not (
                z3.is_int_value(one) and one.as_long() == 1 and z3.is_int_value(zero) and zero.as_long() == 0
            ):
                return None
            m = self.members.get(k.arg(0).get_id())
            if m is None:
                return None
            seen.append(m)
        if not seen or {m.set_text for m in seen} != {seen[0].set_text}:
            return None
        if sorted(m.index for m in seen) != list(range(len(seen[0].domain))) or self.extends is None:
            return None
        if "FiniteSets" not in self.extends:
            self.extends.append("FiniteSets")
        return f"Cardinality({seen[0].set_text})"

    @staticmethod
    def negated(k: z3.ExprRef) -> z3.ExprRef | None:
        """x if k is -x written as a negative constant or -1 * x; else None."""
        if z3.is_int_value(k) and k.as_long() < 0:
            return z3.IntVal(-k.as_long())
        if z3.is_app_of(k, z3.Z3_OP_MUL) and k.num_args() == 2:
            c, x = k.children()
            if z3.is_int_value(c) and c.as_long() == -1:
                return x
            if z3.is_int_value(c) and c.as_long() < 0:
                return z3.IntVal(-c.as_long()) * x
        return None

    def block(self, t: Any) -> list[str]:
        """A Boolean term as lines, conjunctions and disjunctions as bulleted lists; the lines after the
        first are indented relative to where the first starts."""
        if isinstance(t, z3.ExprRef) and (z3.is_and(t) or z3.is_or(t)) and t.num_args() > 1:
            items = self.in_order(t.children(), z3.is_and(t), self.block)
            return junction("/\\" if z3.is_and(t) else "\\/", items)
        return [self.text(t)]

    def in_order(self, kids: Sequence[Any], conjunction: bool, show: Callable[[Any], Any]) -> list[Any]:
        """Each kid shown as TLC reaches it: after the ones to its left held (a conjunction) or, in a
        Boolean value, failed (an action's disjuncts are branches TLC evaluates each of)."""
        out = []
        start = len(self.facts)
        for k in kids:
            out.append(show(k))
            if conjunction or not self.branching:
                self.facts.append(k if conjunction else z3.Not(k))
        del self.facts[start:]
        return out

    @contextlib.contextmanager
    def assuming(self, fact: Any) -> Iterator[None]:
        """Print with fact known true (TLC evaluated it before what is printed inside)."""
        self.facts.append(fact)
        try:
            yield
        finally:
            self.facts.pop()

    def implied(self, claim: Any) -> bool:
        """Z3 shows claim in every state where the background and the facts hold."""
        key = (claim.get_id(), tuple(f.get_id() if isinstance(f, z3.AstRef) else f for f in self.facts))
        known = self._implied.get(key)
        if known is None:
            known = self._implied[key] = holds_where([*self.background, *self.facts], claim)
        return known

    def slot_text(self, slot: Slot) -> str:
        """``q[k]``, or where the facts do not show ``k <= Len(q)``, the engines' reading of it."""
        text = slot.text
        if self.implied(slot.length >= slot.k):
            return text
        if slot.filler is None:
            raise self.fail(
                f"{text} is read where Len({slot.name}) may be less than {slot.k}, and the filler of its"
                " unused slots has no TLA+ value: guard the read with the length, as TLA+ requires"
            )
        return f"(IF {slot.k} <= Len({slot.name}) THEN {text} ELSE {slot.filler})"


def junction(bullet: str, items: Sequence[list[str]], labels: Sequence[str] | None = None) -> list[str]:
    """A bulleted conjunction or disjunction list of items (each a list of relative lines, see
    ``_Printer.block``); a label is a comment line above its item. One unlabelled item is itself."""
    if len(items) == 1 and not labels:
        return list(items[0])
    out: list[str] = []
    for k, item in enumerate(items):
        if labels:
            out.append(f"\\* {labels[k]}")
        out.append(f"{bullet} {item[0]}")
        out += ["   " + ln for ln in item[1:]]
    return out


WIDTH = 100  # lists longer than this are wrapped (expressions are not)


def wrapped(head: str, names: Sequence[str], tail: str) -> list[str]:
    """``head`` + names separated by commas + ``tail``, over several lines aligned after head if long."""
    lines: list[str] = []
    cur = head
    for k, n in enumerate(names):
        piece = n + ("," if k < len(names) - 1 else tail)
        if cur != head and len(cur) + 1 + len(piece) > WIDTH:
            lines.append(cur)
            cur = " " * len(head) + piece
        else:
            cur += ("" if cur == head else " ") + piece
    return [*lines, cur]


def indented(lines: Sequence[str], col: int) -> list[str]:
    return [" " * col + ln for ln in lines]


def _short(t: Any, limit: int = 160) -> str:
    """A term on one line, cut to ``limit`` characters (error messages are one line)."""
    text = " ".join(str(t).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def same_values(a: Enum, b: Enum) -> bool:
    """Values of a and b compare by name as they do by number: a shared number has a shared name, and a
    name of one beyond the other's values is not among the other's (``CpuOrNone`` extends ``CPU``)."""
    if a is b or a.names == b.names:
        return True
    n = min(len(a.names), len(b.names))
    return (
        a.names[:n] == b.names[:n]
        and not (set(a.names[n:]) & set(b.names))
        and not (set(b.names[n:]) & set(a.names))
    )


def _simplify(t: Any) -> Any:
    return z3.simplify(t) if isinstance(t, z3.ExprRef) else t

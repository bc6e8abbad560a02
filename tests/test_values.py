"""spec/values.py: TLA+'s set, sequence and CHOOSE idioms built from the language's primitives. Each
operator must mean the same concretely (the Python engine) and symbolically (Z3, and the compiled engine
that prints the Z3 terms): for every concrete input of a small domain, the symbolic term with that input
substituted simplifies to the concrete answer."""

from __future__ import annotations

import itertools

import pytest
import z3

from spec.lang import Spec, SpecError
from spec.values import (
    cardinality,
    choose,
    difference,
    exists_in,
    forall_in,
    intersect,
    maximum,
    member,
    minimum,
    seq_append,
    seq_get,
    seq_tail,
    seq_vars,
    set_of,
    subset,
    union,
)

N = 3
SETS = list(itertools.product([False, True], repeat=N))


def _sym_set(name: str) -> tuple:
    return tuple(z3.Bool(f"{name}{i}") for i in range(N))


def _value(term, subst):
    if isinstance(term, tuple):
        return tuple(_value(t, subst) for t in term)
    if isinstance(term, bool | int):
        return term
    v = z3.simplify(z3.substitute(term, *subst))
    return z3.is_true(v) if z3.is_bool(v) else v.as_long()


def _bind(sym: tuple, conc: tuple) -> list:
    return [(s, z3.BoolVal(c)) for s, c in zip(sym, conc, strict=True)]


@pytest.mark.parametrize(
    "op",
    [union, intersect, difference, subset, lambda a, b: cardinality(a), lambda a, b: member(a, 1)],
    ids=["union", "intersect", "difference", "subset", "cardinality", "member"],
)
def test_set_operators_mean_the_same_concretely_and_symbolically(op):
    sa, sb = _sym_set("a"), _sym_set("b")
    sym = op(sa, sb)
    for a, b in itertools.product(SETS, SETS):
        assert _value(sym, _bind(sa, a) + _bind(sb, b)) == op(a, b)


def test_set_builders_and_bounded_quantifiers():
    assert set_of(range(4), lambda x: x % 2 == 0) == (True, False, True, False)
    a = (True, False, True)
    assert exists_in(a, lambda x: x == 2) and not exists_in(a, lambda x: x == 1)
    assert forall_in(a, lambda x: x != 1) and not forall_in(a, lambda x: x == 0)
    assert member((False, True), z3.Int("i")) is not None  # a state-valued element reads symbolically


def test_choose_is_tlcs_first_in_order_and_names_the_empty_case():
    sa = _sym_set("a")
    sym = choose(range(N), lambda x: sa[x], otherwise=-1)
    for a in SETS:
        want = next((x for x in range(N) if a[x]), -1)
        assert choose(range(N), a.__getitem__, otherwise=-1) == want
        assert _value(sym, _bind(sa, a)) == want


def test_maximum_and_minimum():
    xs = [z3.Int(f"x{i}") for i in range(3)]
    for vals in itertools.product(range(3), repeat=3):
        subst = [(x, z3.IntVal(v)) for x, v in zip(xs, vals, strict=True)]
        assert _value(maximum(xs), subst) == max(vals) == maximum(list(vals))
        assert _value(minimum(xs), subst) == min(vals) == minimum(list(vals))
    with pytest.raises(SpecError, match="empty"):
        maximum([])


def test_a_bounded_sequence_appends_reads_and_drops_its_head():
    from spec.lang import Enum

    spec = Spec("Q")
    Val = Enum("Val", ["a", "b", "c", "none"])
    seq_vars(spec, "q", Val, 2, 3)
    (s,) = spec.init_states()
    ok, upd = seq_append(s, "q", 0)
    assert ok and upd == {"q": (0, 3), "q_len": 1}
    s = s._replace(**upd)
    ok, upd = seq_append(s, "q", 2)
    s = s._replace(**upd)
    assert (s.q, s.q_len, seq_get(s.q, 2)) == ((0, 2), 2, 2)
    full, _ = seq_append(s, "q", 1)
    assert not full  # the bound
    ok, upd = seq_tail(s, "q", 3)
    assert ok and upd == {"q": (2, 3), "q_len": 1}  # the freed slot gets the filler: one form per state
    empty = spec.init_states()[0]
    assert not seq_tail(empty, "q", 3)[0]
    with pytest.raises(SpecError, match="bound 0"):
        seq_vars(Spec("R"), "r", Val, 0, 3)

"""spec.terms builds the spec language's connectives through Z3's C functions: the terms must be the
very terms Z3's Python API builds, and anything the fast path does not cover must go through that API
(which coerces Python values and refuses two sorts or two contexts)."""

import pytest
import z3

from explorer.engines.smt.raw import constants_in
from spec import terms
from spec.lang import and_, count, ite, not_, or_


def test_each_connective_builds_the_term_z3s_api_builds():
    x, y = z3.Bools("x y")
    a, b = z3.Ints("a b")
    v, w = z3.BitVecs("v w", 8)
    assert terms.conjunction([x, y]).eq(z3.And(x, y))
    assert terms.disjunction([x, y, x]).eq(z3.Or(x, y, x))
    assert terms.negation(x).eq(z3.Not(x))
    assert terms.if_then_else(x, a, b).eq(z3.If(x, a, b))
    assert terms.if_then_else(x, v, w).eq(z3.If(x, v, w))
    assert terms.if_then_else(x, x, y).eq(z3.If(x, x, y))
    assert terms.total([a, b, z3.IntVal(2)]).eq(z3.Sum([a, b, z3.IntVal(2)]))
    assert type(terms.if_then_else(x, a, z3.IntVal(1))) is z3.ArithRef  # not the numeral's class
    assert type(terms.conjunction([x, y])) is z3.BoolRef


def test_the_language_helpers_build_the_same_terms_as_before():
    x, y = z3.Bools("x y")
    a = z3.Int("a")
    assert and_(x, True, y).eq(z3.And([x, y]))
    assert or_(False, x).eq(z3.Or([x]))
    assert not_(x).eq(z3.Not(x))
    assert ite(x, a, 0).eq(z3.If(x, a, 0))  # a Python value: coerced by z3.If
    assert ite(x, True, y).eq(z3.If(x, z3.BoolVal(True), y))
    assert count([x, True, y]).eq(z3.Sum([z3.If(x, 1, 0), z3.IntVal(1), z3.If(y, 1, 0)]))


def test_what_the_fast_path_does_not_cover_is_refused_as_z3_refuses_it():
    x = z3.Bool("x")
    with pytest.raises(z3.Z3Exception):
        terms.if_then_else(x, z3.BitVec("v", 8), z3.BitVec("w", 4))  # two sorts
    other = z3.Context()
    with pytest.raises(z3.Z3Exception):
        terms.conjunction([x, z3.Bool("y", other)])  # two contexts
    with pytest.raises(z3.Z3Exception):
        terms.conjunction([x, z3.Int("a")])  # not a Boolean


def test_terms_of_a_context_of_their_own_stay_in_it():
    ctx = z3.Context()
    x, y = z3.Bool("x", ctx), z3.Bool("y", ctx)
    t = count([x, y, True])
    assert t.ctx is ctx and t.eq(z3.Sum([z3.If(x, 1, 0), z3.If(y, 1, 0), z3.IntVal(1, ctx)]))


def test_the_leaves_a_term_mentions():
    x, y = z3.Bools("x y")
    a = z3.Int("a")
    got = constants_in([z3.And(x, a > 1), z3.Or(y, z3.Not(y)), z3.IntVal(3) > 2])
    assert got == [frozenset({x.get_id(), a.get_id()}), frozenset({y.get_id()}), frozenset()]

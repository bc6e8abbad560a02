"""Refinement (Spec.refines, explorer/engines/refinement.py): every initial state of a spec maps to an
abstract initial state and every step to an abstract step or a stutter; the first offending edge in BFS
order ends a shortest counterexample. Its first user is the RFC against WorkOnce
(spec/delayed_work/refinement.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from explorer.engines.bfs import Options, explore
from explorer.engines.compiled.engine import explore_any
from explorer.engines.refinement import check_refinements
from spec.delayed_work import make_spec
from spec.lang import Int, Spec, SpecError, ite, when


def _half(n):
    return n // 2 if type(n) is int else n / 2  # Z3's integer division, for the compiled engine


def _counter(limit: int, wrap: bool, offset: int = 0) -> Spec:
    """A counter 0..limit (wrapping to 0, or stopping), checked against Up: half' = half + 1, its
    abstraction n // 2 (+ offset)."""
    up = Spec("Up")
    up.var("half", Int(0, limit), init=0)

    @up.action()
    def Step(s):
        return when(s.half < limit, half=s.half + 1)

    spec = Spec("Counter")
    spec.var("n", Int(0, limit), init=0)

    @spec.action()
    def Inc(s):
        if wrap:
            return when(True, n=ite(s.n < limit, s.n + 1, 0))
        return when(s.n < limit, n=s.n + 1)

    spec.refines("RefinesUp", up, lambda s: {"half": _half(s.n) + offset})
    return spec


@pytest.mark.parametrize("engine", ["python", "native"])
def test_a_counter_refines_up_until_it_wraps(engine):
    opts = Options(stop_on_first=False, keep_graph=True)
    ok = explore_any(_counter(4, wrap=False), opts, lambda _l: None, engine)
    assert check_refinements(ok) == []  # n // 2 stutters or goes up by one
    bad = explore_any(_counter(4, wrap=True), opts, lambda _l: None, engine)
    (v,) = check_refinements(bad)
    assert [s.n for s in v.trace.states] == [0, 1, 2, 3, 4, 0]  # the wrap goes down: the shortest


def test_an_initial_state_with_no_abstract_image_is_a_counterexample_of_one_state():
    res = explore(_counter(3, wrap=False, offset=1), Options(stop_on_first=False, keep_graph=True))
    (v,) = check_refinements(res)
    assert len(v.trace.states) == 1 and "initial state" in v.doc


def test_without_the_graph_the_check_says_so():
    res = explore(_counter(3, wrap=True), Options(stop_on_first=False))
    with pytest.raises(SpecError, match="needs the state graph"):
        check_refinements(res)


@pytest.mark.parametrize(
    "constants, length, last",
    [
        ({"variant": "rfc_posted", "irq_work_free": "never"}, 7, "ProgFreeDeferred(p=prog0)"),
        ({"variant": "no_work_prog_ref"}, 18, "ProgFreeDeferred(p=prog0)"),
        ({"variant": "rfc_repaired"}, None, None),
    ],
    ids=["posted", "no_prog_ref", "repaired"],
)
def test_the_rfc_against_work_once(constants, length, last):
    spec = make_spec(**constants)
    res = explore_any(spec, Options(stop_on_first=False, keep_graph=True), lambda _l: None, "native")
    found = check_refinements(res)
    if length is None:
        assert found == []
        return
    (v,) = found
    assert len(v.trace.states) == length and v.trace.steps[-1].label == last
    # the prog is freed (abstract Free) while an item is still submitted (PENDING): WorkOnce forbids it
    image = spec.refinements[0].image
    before, after = image(v.trace.states[-2]), image(v.trace.states[-1])
    assert after.prog == 1 and spec.refinements[0].abstract.St.PENDING in before.work


@pytest.mark.slow  # a subprocess that compiles the RFC's spec again
def test_check_reports_a_refinement_like_an_invariant():
    r = subprocess.run(
        [sys.executable, "-m", "explorer", "check", "spec/configs/rfc_posted.toml", "--continue"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert "refinements: RefinesWorkOnce" in r.stdout
    assert "Error: Refinement RefinesWorkOnce is violated" in r.stdout


@pytest.mark.slow  # a subprocess that compiles the RFC's spec with symmetry
def test_under_symmetry_check_says_the_refinement_is_not_checked():
    """An edge of the reduced graph joins two orbits' representatives, which need not be a step of the
    spec (round 12: the check searched for that step, found none, and ended in a traceback)."""
    r = subprocess.run(
        [sys.executable, "-m", "explorer", "check", "spec/configs/rfc_fixed.toml", "--symmetry"],
        capture_output=True,
        text=True,
    )
    # (this config's irq_work = "tick" breaks NoIrqWorkUseAfterFree: exit 1 for that violation)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert "refinements: not checked under symmetry" in r.stdout and "with symmetry reduction" in r.stdout
    assert "Invariant NoIrqWorkUseAfterFree is violated" in r.stdout
